#pragma once

// What a NestedHost's inner Rockpool shows from outside: its control plane
// reached through the outer Caddy's route to the nested host's port 8080
// (docs/user-guide.md#rockpool-on-rockpool). Library rockpool_runtime.

#include "rockpool/specs/result.hpp"

#include <optional>
#include <string>

namespace rockpool::runtime {

/// One look at an inner control plane.
struct inner_health {
  bool ready = false;   // its /readyz answered 200
  std::string message;  // why not, or what answered
  std::string version;  // its /version gitVersion
  std::string role;     // its /version role ("inner")
  /// Counts from its API; unset without a token or when the list failed.
  std::optional<long> workspaces, ready_workspaces, port_routes;

  static inner_health down(std::string why) {
    inner_health h;
    h.message = std::move(why);
    return h;
  }
};

/// Looks at an inner control plane whose API is at `api_path` on the outer
/// workspace server, e.g. /workspace/rockpool-dev/port/8080/api. The token is
/// the inner rockpoold's bearer token ("" when unknown: counts stay unset).
/// Thread safety: implementations are thread-safe.
class inner_probe {
 public:
  virtual ~inner_probe() = default;
  virtual inner_health look(const std::string& api_path, const std::string& token) = 0;
};

/// The real thing: HTTP through the outer Caddy's workspace server.
class inner_probe_http final : public inner_probe {
 public:
  /// workspace_listen: the outer Caddy's workspace server, e.g. 127.0.0.1:8081.
  explicit inner_probe_http(const std::string& workspace_listen);
  inner_health look(const std::string& api_path, const std::string& token) override;

 private:
  std::string base_;
};

/// For --runtime fake: every inner control plane is ready and empty.
class fake_inner_probe final : public inner_probe {
 public:
  inner_health look(const std::string& api_path, const std::string& token) override;
};

}  // namespace rockpool::runtime
