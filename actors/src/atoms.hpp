#pragma once

// The actor runtime's private messages and interfaces: those of the loop's
// own actors (workers, the work queue, reconcilers, the manager's timers)
// and the route table's and Incus follower's timers. The interfaces other
// parts use are in rockpool/actors/interfaces.hpp.

#include "rockpool/actors/interfaces.hpp"
#include "rockpool/actors/reconciler.hpp"

#include <functional>

namespace rockpool::actors {

/// retry(token): a scheduled retry; stale tokens are ignored.
using retry_atom = caf::atom_constant<caf::atom("retry")>;
/// run(kind, name) -> pass_result: one reconcile pass, on a worker.
using run_atom = caf::atom_constant<caf::atom("run")>;
/// exec(job): run a blocking job on a worker.
using exec_atom = caf::atom_constant<caf::atom("exec")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using kill_atom = caf::atom_constant<caf::atom("kill")>;
/// The route table's timers: flush() loads the batch; drift() compares
/// Caddy's live app; prune() drops inherited routes nobody claimed.
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using drift_atom = caf::atom_constant<caf::atom("drift")>;
using prune_atom = caf::atom_constant<caf::atom("prune")>;
/// The Incus events actor's own turn.
using pump_atom = caf::atom_constant<caf::atom("pump")>;

using blocking_job = std::function<void()>;

/// The Incus event follower: pump() is its own turn (connect, or wait).
using incus_follower = caf::typed_actor<caf::reacts_to<pump_atom>>;

/// A worker, and the work queue in front of the workers: run(kind, name) ->
/// pass_result; exec(job) runs a blocking chore.
using work_actor =
    caf::typed_actor<caf::replies_to<run_atom, std::string, std::string>::with<pass_result>,
                     caf::replies_to<exec_atom, blocking_job>::with<void>>;

/// One object's reconciler: poke(generation, sweep) to look again
/// (generation -1 when unknown); retry(token) is its own timer.
using reconciler_handle = caf::typed_actor<caf::reacts_to<poke_atom, std::int64_t, bool>,
                                           caf::reacts_to<retry_atom, std::uint64_t>>;

/// The manager: a hub subscriber and an instance listener, plus the
/// controller's requests (poke one object, kill its reconciler) and its own
/// sweep timer.
using manager_actor =
    hub_subscriber::extend_with<instance_listener>::extend<caf::reacts_to<poke_atom, std::string>,
                                                           caf::reacts_to<kill_atom, std::string>,
                                                           caf::reacts_to<sweep_atom>>;

/// The route table with its own timers.
using route_table_impl =
    route_table_actor::extend<caf::reacts_to<flush_atom>, caf::reacts_to<drift_atom>,
                              caf::reacts_to<prune_atom>>;

}  // namespace rockpool::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rockpool::actors::pass_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rockpool::actors::blocking_job)
