#pragma once

#include "rockpool/specs/kv_backend.hpp"
#include "rockpool/specs/result.hpp"

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace rockpool::actors {

/// Hands out host loopback ports from a range, durably: each allocation is a
/// compare-and-swap write of `alloc/hostport/NNNNN` in the store's allocations
/// keyspace, so a port is never handed out twice, even across restarts or to
/// concurrent callers. Nothing is handed out until the stored allocations
/// have been read.
/// A port some other process listens on is skipped when it is handed out.
/// Thread safety: thread-safe.
class host_port_allocator {
 public:
  /// Whether something on the host already listens on a loopback port.
  using port_probe = std::function<bool(unsigned short)>;
  static bool listening_on_loopback(unsigned short port);

  /// Loads existing allocations (retried on use if the store fails now).
  /// REQUIRES: first <= last.
  host_port_allocator(specs::kv_backend& backend, unsigned short first, unsigned short last,
                      port_probe in_use = listening_on_loopback);

  /// The port held by owner (e.g. "Workspace/demo#ide"), allocating one if needed.
  [[nodiscard]] specs::result<unsigned short> acquire(const std::string& owner);
  /// Who holds port, if anyone.
  std::optional<std::string> owner_of(unsigned short port) const;
  /// Frees owner's port; absent is fine.
  [[nodiscard]] specs::status release(const std::string& owner);
  std::size_t allocated() const;

 private:
  specs::status load();

  specs::kv_backend& backend_;
  unsigned short first_, last_;
  port_probe in_use_;
  mutable std::mutex mu_;
  std::map<std::string, std::pair<unsigned short, std::uint64_t>> by_owner_;  // port, revision
  std::map<unsigned short, std::string> by_port_;
  unsigned short next_;
  bool loaded_ = false;
};

}  // namespace rockpool::actors
