#pragma once

// The typed interfaces of the actors other parts of Rockpool talk to (CAF
// 0.17 typed_actor): what each accepts and answers is checked where a message
// is sent. Only the atoms these interfaces name are public; the loop's own
// messages (passes, retries, timers) are private to actors/src.

#include "rockpool/specs/kv_backend.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace rockpool::actors {

using event_batch = std::vector<specs::kv_event>;

// The route table's messages.
using upsert_atom = caf::atom_constant<caf::atom("upsert")>;
using remove_atom = caf::atom_constant<caf::atom("remove")>;
using applied_atom = caf::atom_constant<caf::atom("applied")>;
using sync_atom = caf::atom_constant<caf::atom("sync")>;

/// The one actor that owns Caddy's HTTP app (route_table.hpp). Each change
/// answers "" once Caddy has loaded it, or Caddy's error.
using route_table_actor = caf::typed_actor<
    /// (id, path_prefix, upstream, open) -> error
    caf::replies_to<upsert_atom, std::string, std::string, std::string, bool>::with<std::string>,
    /// (id) -> error
    caf::replies_to<remove_atom, std::string>::with<std::string>,
    /// (id, path_prefix, upstream, open) -> this route is desired and loaded
    caf::replies_to<applied_atom, std::string, std::string, std::string, bool>::with<bool>,
    /// load now -> error
    caf::replies_to<sync_atom>::with<std::string>>;

// The watch hub's messages.
using publish_atom = caf::atom_constant<caf::atom("publish")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using events_atom = caf::atom_constant<caf::atom("events")>;
using ack_atom = caf::atom_constant<caf::atom("ack")>;
using cutoff_atom = caf::atom_constant<caf::atom("cutoff")>;

/// What the watch hub sends a subscriber: batches of committed events in
/// revision order, each answered with ack; or cutoff(last delivered
/// revision) when it fell behind, after which it must subscribe again.
using hub_subscriber = caf::typed_actor<caf::replies_to<events_atom, event_batch>::with<ack_atom>,
                                        caf::reacts_to<cutoff_atom, std::uint64_t>>;

/// The watch hub: committed store events in (publish), fanned out to
/// subscribers from a revision on (subscribe).
using hub_actor = caf::typed_actor<caf::reacts_to<publish_atom, event_batch>,
                                   caf::reacts_to<subscribe_atom, hub_subscriber, std::uint64_t>,
                                   caf::reacts_to<ack_atom>>;

// What the manager hears from outside the loop.
using instance_atom = caf::atom_constant<caf::atom("instance")>;
using poke_atom = caf::atom_constant<caf::atom("poke")>;

/// The manager as the Incus event follower sees it: instance(name) when
/// Incus reports an event about instance NAME; poke() to look at every
/// object again (after events may have been missed).
using instance_listener =
    caf::typed_actor<caf::reacts_to<instance_atom, std::string>, caf::reacts_to<poke_atom>>;

}  // namespace rockpool::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rockpool::actors::event_batch)
