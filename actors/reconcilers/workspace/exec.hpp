#pragma once

// Internal to the Workspace kind: the exec subresource (exec.cpp).

#include "rockpool/actors/reconciler.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace rockpool::actors::workspace {

/// Bounds on exec sessions. Thread-safe.
struct exec_limits {
  std::size_t per_workspace = 8;
  /// A session with neither input nor output this long is ended.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(30)};
  /// How long the client may take to send its start message.
  std::chrono::milliseconds start_timeout{std::chrono::seconds(10)};
  /// False when workspace has per_workspace sessions open already.
  bool enter(const std::string& workspace);
  void leave(const std::string& workspace);

 private:
  std::mutex mu_;
  std::map<std::string, std::size_t> open_;
};

/// GET workspaces/NAME/exec with Upgrade: websocket.
specs::subresource exec_subresource(const subresource_services& services,
                                    std::shared_ptr<exec_limits> limits);

}  // namespace rockpool::actors::workspace
