#pragma once

#include "rockpool/specs/result.hpp"

#include <string>
#include <vector>

namespace rockpool::runtime {

/// One HTTP route on the workspace server: requests under path_prefix go to
/// upstream with the prefix stripped.
struct route {
  std::string id;           // stable @id, e.g. "rockpool-ws-demo"
  std::string path_prefix;  // "/workspace/demo/"
  std::string upstream;     // "127.0.0.1:41001"
  bool operator==(const route&) const = default;
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
};

}  // namespace rockpool::runtime
