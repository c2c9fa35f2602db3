#pragma once

#include "rockpool/actors/event_recorder.hpp"
#include "rockpool/actors/host_ports.hpp"
#include "rockpool/runtime/incus.hpp"
#include "rockpool/runtime/routes.hpp"
#include "rockpool/specs/object_store.hpp"

#include <chrono>
#include <string>

namespace rockpool::actors {

/// The finalizer every managed object carries until its teardown is done.
inline constexpr const char* cleanup_finalizer = "rockpool.dev/cleanup";

/// What one reconcile pass concluded.
struct pass_result {
  enum class outcome {
    converged,  // the world matches the spec: nothing to do until something changes
    requeue,    // waiting on something that will not send an event: look again after `after`
    failed,     // a transient error: retry with backoff
    terminal,   // the spec cannot be satisfied here: no retry until the spec changes
    gone,       // the object no longer exists
  };
  outcome what = outcome::converged;
  std::string message;
  std::chrono::milliseconds after{0};
  std::int64_t generation = -1;  // metadata.generation the pass acted on, if it read the object
};

/// Everything a pass may use. All members are thread-safe.
struct reconcile_context {
  specs::object_store& store;
  runtime::incus_client& incus;
  runtime::route_table& routes;
  host_port_allocator& ports;
  event_recorder& events;
  const specs::clock& clock;
};

/// The kinds that have a reconciler.
bool is_reconciled_kind(const std::string& kind);

/// One level-triggered pass for kind/name: read the object, observe Incus and
/// the routes, act, write status if it changed. Blocking; runs on a worker,
/// never on the actor scheduler. May throw (a bug or an injected fault): the
/// caller treats that as a failed pass.
pass_result reconcile(reconcile_context& ctx, const std::string& kind, const std::string& name);

}  // namespace rockpool::actors
