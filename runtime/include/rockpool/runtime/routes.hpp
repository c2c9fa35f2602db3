#pragma once

#include "rockpool/specs/result.hpp"

#include <map>
#include <string>
#include <vector>

namespace rockpool::runtime {

/// One HTTP route on the workspace server: requests under path_prefix go to
/// upstream with the prefix stripped.
struct route {
  std::string id;           // stable @id, e.g. "rockpool-ws-demo"
  std::string path_prefix;  // "/workspace/demo/"
  std::string upstream;     // "127.0.0.1:41001"
  /// Served without sign-in (PortRoute spec.public); otherwise Caddy asks the
  /// sign-in gateway first (caddy_options::gateway).
  bool open = false;
  bool operator==(const route&) const = default;
};

/// What a GET through a route got: status 0 when nothing answered at all (a
/// proxy error, 502/503/504, counts as no answer too).
struct probe_answer {
  long status = 0;
  std::string body;  // the first KiB
  bool answered() const { return status != 0 && status != 502 && status != 503 && status != 504; }
};

/// The routes the controller keeps in Caddy. Thread safety: thread-safe.
class route_table {
 public:
  virtual ~route_table() = default;
  /// Adds or replaces a route (idempotent).
  [[nodiscard]] virtual specs::status upsert(const route& r) = 0;
  /// Removes a route; absent is fine.
  [[nodiscard]] virtual specs::status remove(const std::string& id) = 0;
  /// True iff the route is in place and its upstream answers through it.
  [[nodiscard]] virtual specs::result<bool> answers(const route& r) = 0;
  /// GET path_prefix + sub through the route, signed in. An error when the
  /// route is not in place (or the router cannot be asked).
  [[nodiscard]] virtual specs::result<probe_answer> probe(const route& r, const std::string& sub) = 0;
  /// Requests in flight now, by upstream address ("10.77.0.5:8080"), as the
  /// router counts them (an open WebSocket is one until it closes); upstreams
  /// with none may be left out. A router that cannot tell reports none.
  [[nodiscard]] virtual specs::result<std::map<std::string, int>> in_flight() {
    return std::map<std::string, int>{};
  }
};

}  // namespace rockpool::runtime
