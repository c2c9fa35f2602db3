#pragma once

#include "rockpool/actors/allocator.hpp"

#include <functional>
#include <optional>
#include <string>

namespace rockpool::actors {

/// Host loopback ports for proxy devices, allocated durably under
/// `alloc/hostport/NNNNN` (see durable_allocator). A port some other process
/// listens on is skipped when it is handed out.
/// Thread safety: thread-safe.
class host_port_allocator {
 public:
  /// Whether something on the host already listens on a loopback port.
  using port_probe = std::function<bool(unsigned short)>;
  static bool listening_on_loopback(unsigned short port);

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
  durable_allocator slots_;
};

}  // namespace rockpool::actors
