#pragma once

// The standby gate (`rockpoold gate`, decision 87): the workspace server's
// sign-in check in a process of its own, which Caddy asks while rockpoold is
// down, so that a restart or an upgrade of rockpoold does not sign anyone
// out of a running workspace. Implemented in src/daemon/gate.cpp (library
// rockpool_daemon: it counts activity with actors' workspace_activity).

#include "rockpool/actors/workspace_activity.hpp"
#include "rockpool/controller/workspace_signin.hpp"

#include <memory>
#include <mutex>
#include <string>

namespace rockpool::controller {

/// The standby gate's endpoint (`rockpoold gate`, decision 87): the
/// gateway's GET /.rockpool/auth with the sign-in key read from KEY_FILE
/// (never made here; re-read, at most once a second, when the file is
/// replaced), counting what it lets through in `activity`. It signs no one
/// in and wakes nothing: sign-in codes and wakes need rockpoold. 503 while
/// there is no key to check with.
class standby_gate final : public http_handler {
 public:
  standby_gate(std::string key_file, std::string control_url, actors::workspace_activity& activity,
               const specs::clock& clock);
  http_response handle(const http_request& req) override;
  bool reads_headers() const override { return true; }

 private:
  struct checker {
    std::unique_ptr<workspace_signin> signin;
    std::unique_ptr<workspace_gateway> gateway;
  };
  std::shared_ptr<checker> current();

  std::string key_file_;
  std::string control_url_;
  actors::workspace_activity& activity_;
  const specs::clock& clock_;
  std::mutex mu_;
  std::shared_ptr<checker> checker_;
  std::string key_id_;  // the key file's inode and modification time when read
  std::chrono::system_clock::time_point checked_{};
};

}  // namespace rockpool::controller
