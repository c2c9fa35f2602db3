#pragma once

#include "rockpool/actors/allocator.hpp"
#include "rockpool/runtime/incus.hpp"
#include "rockpool/specs/kv_backend.hpp"
#include "rockpool/specs/result.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <string>

namespace rockpool::actors {

/// The config key that marks a network as this controller's.
inline constexpr const char* bridge_owner_key = "user.rockpool.owner";
inline constexpr const char* bridge_owner_value = "rockpoold";

/// The controller's managed Incus bridge (bridge networking) and the
/// addresses on it. The Host reconciler keeps it (ensure()); workspaces take
/// a static address each (acquire()), durably, under
/// `alloc/ipv4/BRIDGE/NNNNNNNNNN` in the allocations keyspace: never handed
/// out twice, across restarts and kill -9 included.
/// Thread safety: thread-safe.
class bridge_network {
 public:
  /// REQUIRES: cidr is a valid IPv4 network, /16 to /29 (checked by the daemon's flags).
  bridge_network(specs::kv_backend& backend, std::string name, std::string cidr);

  const std::string& name() const { return name_; }
  /// The network, e.g. 10.77.0.0/24.
  const std::string& cidr() const { return cidr_; }
  /// The bridge's own address in CIDR form (the first host), e.g. 10.77.0.1/24.
  const std::string& gateway() const { return gateway_; }

  /// What ensure() found.
  struct state {
    bool ready = false;
    std::string reason;   // Ready, Created, NotOurs, AddressMismatch, Unavailable
    std::string message;  // for conditions and Events
    bool nat = false;     // ipv4.nat: workspaces reach the outside through the host
  };
  /// Creates the bridge when it is missing; adopts it when it is ours (it
  /// carries user.rockpool.owner=rockpoold) with the expected address; refuses
  /// (never touches) a network of that name that is not ours.
  state ensure(runtime::incus_client& incus);
  /// The last ensure()'s outcome.
  state current() const;
  bool ready() const { return ready_; }

  /// The address held by owner (e.g. "Workspace/demo"), allocating one if needed.
  [[nodiscard]] specs::result<std::string> acquire(const std::string& owner);
  /// Frees owner's address; absent is fine.
  [[nodiscard]] specs::status release(const std::string& owner);
  std::size_t allocated() const { return addresses_.allocated(); }

 private:
  std::string name_, cidr_, gateway_;
  durable_allocator addresses_;
  mutable std::mutex mu_;  // guards state_, serializes ensure()
  state state_;
  std::atomic<bool> ready_{false};
};

/// Dotted form of an IPv4 address.
std::string ipv4_text(std::uint32_t address);

}  // namespace rockpool::actors
