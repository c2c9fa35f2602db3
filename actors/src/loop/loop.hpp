#pragma once

// The actors of the loop, internal to actors/src/loop. CAF 0.17 spellings.
// Each file spawns its own actor, so actor states stay private to it.

#include "atoms.hpp"
#include "rockpool/actors/controller.hpp"

#include <caf/all.hpp>

#include <functional>
#include <memory>

namespace rockpool::actors::loop {

/// A worker: runs passes (and blocking chores) handed to it by the work queue.
work_actor spawn_worker(caf::actor_system& sys, bool detached, reconcile_context* ctx,
                        const kind_registry* kinds, std::shared_ptr<controller_stats> stats);

/// The work queue: hands passes to idle workers, so at most `workers` run at
/// once and a slow pass never holds up others behind it. run(kind, name) ->
/// pass_result; exec(job) runs a blocking chore. Counts its depth and how
/// long passes wait in it into stats.
work_actor spawn_work_queue(caf::actor_system& sys, std::size_t workers,
                            std::function<work_actor()> new_worker,
                            std::shared_ptr<controller_stats> stats);

/// One object's reconciler, monitored by `parent`: coalesces pokes into at
/// most one more pass, skips generations it has seen, retries with
/// per-object backoff.
reconciler_handle spawn_reconciler(caf::local_actor* parent, std::string kind, std::string name,
                                   work_actor queue, controller_options options);

/// The watch hub: fans committed store events out to subscribers in revision
/// order; cuts off a subscriber that falls behind with the revision it can
/// resume from.
hub_actor spawn_watch_hub(caf::actor_system& sys, std::uint64_t start_revision,
                          controller_options options, std::shared_ptr<controller_stats> stats);

/// The manager: keeps one reconciler per object of a reconciled kind, pokes
/// owners and dependents as the registry declares, collects garbage, sweeps
/// for drift.
manager_actor spawn_manager(caf::actor_system& sys, specs::object_store* store,
                            const kind_registry* kinds, hub_actor hub, work_actor queue,
                            controller_options options, std::shared_ptr<controller_stats> stats);

}  // namespace rockpool::actors::loop
