#pragma once

#include "rockpool/actors/interfaces.hpp"
#include "rockpool/runtime/incus_rest.hpp"

#include <caf/fwd.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace rockpool::actors {

struct incus_events_stats {
  std::atomic<std::uint64_t> connections{0};  // websocket connections made
  std::atomic<std::uint64_t> events{0};       // instance-* events received
};

/// The name of the instance an Incus lifecycle event (JSON text) is about,
/// or "" when it is not an instance-* event.
std::string instance_of_event(const std::string& text);

/// The actor that holds a websocket to Incus's lifecycle events
/// (`/1.0/events?type=lifecycle&project=P`, Boost.Beast over the unix socket,
/// or over TLS with the client certificate when `where.url` is set)
/// and sends the manager `(instance, NAME)` for every instance-* event
/// (instance-stopped, -shutdown, -deleted, -updated, ...); the manager pokes
/// the objects of the kinds that follow instances. When the
/// connection fails it reconnects with backoff (100 ms doubling to 5 s); after
/// every connection but the first it sends the manager `(poke)`, a full sweep,
/// since events may have been missed meanwhile. It runs detached: each turn
/// waits at most 200 ms on the socket, then lets its mailbox (an exit, say) be
/// read. This handle spawns it and stops it.
class incus_events {
 public:
  /// REQUIRES: sys outlives this object.
  incus_events(caf::actor_system& sys, runtime::incus_rest_options where,
               const instance_listener& manager);
  ~incus_events();
  incus_events(const incus_events&) = delete;
  incus_events& operator=(const incus_events&) = delete;
  void stop();
  const incus_events_stats& stats() const { return *stats_; }

 private:
  std::unique_ptr<caf::actor> actor_;
  std::shared_ptr<incus_events_stats> stats_;
};

}  // namespace rockpool::actors
