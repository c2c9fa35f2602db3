#pragma once

// The messages of the actor runtime. CAF 0.17 spellings live here and in
// actors/src only, so a CAF upgrade touches this folder alone.

#include "rockpool/actors/reconciler.hpp"
#include "rockpool/specs/kv_backend.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <functional>
#include <vector>

namespace rockpool::actors {

/// poke(generation, sweep): look again. generation -1 when unknown.
using poke_atom = caf::atom_constant<caf::atom("poke")>;
/// retry(token): a scheduled retry; stale tokens are ignored.
using retry_atom = caf::atom_constant<caf::atom("retry")>;
/// run(kind, name) -> pass_result: one reconcile pass, on a worker.
using run_atom = caf::atom_constant<caf::atom("run")>;
/// exec(job): run a blocking job on a worker.
using exec_atom = caf::atom_constant<caf::atom("exec")>;
/// publish(events): committed store events, to the hub.
using publish_atom = caf::atom_constant<caf::atom("publish")>;
/// subscribe(subscriber, from_revision): to the hub.
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
/// events(batch): from the hub; the subscriber answers ack.
using events_atom = caf::atom_constant<caf::atom("events")>;
using ack_atom = caf::atom_constant<caf::atom("ack")>;
/// cutoff(last_delivered_revision): the subscriber fell behind; resume from there.
using cutoff_atom = caf::atom_constant<caf::atom("cutoff")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using kill_atom = caf::atom_constant<caf::atom("kill")>;
/// instance(name): Incus reported an event about instance NAME, to the manager.
using instance_atom = caf::atom_constant<caf::atom("instance")>;

/// The route table actor: upsert(id, prefix, upstream, open), remove(id),
/// applied(id, prefix, upstream, open) and sync() from callers; flush() and drift()
/// are its own timers.
using upsert_atom = caf::atom_constant<caf::atom("upsert")>;
using remove_atom = caf::atom_constant<caf::atom("remove")>;
using applied_atom = caf::atom_constant<caf::atom("applied")>;
using sync_atom = caf::atom_constant<caf::atom("sync")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using drift_atom = caf::atom_constant<caf::atom("drift")>;
using prune_atom = caf::atom_constant<caf::atom("prune")>;
/// The Incus events actor's own turn.
using pump_atom = caf::atom_constant<caf::atom("pump")>;

using event_batch = std::vector<specs::kv_event>;
using blocking_job = std::function<void()>;

}  // namespace rockpool::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rockpool::actors::pass_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rockpool::actors::event_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rockpool::actors::blocking_job)
