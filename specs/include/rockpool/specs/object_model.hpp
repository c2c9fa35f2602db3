#pragma once

// The shapes of writes and reads of Kubernetes-style objects, shared by the
// store, the API and the clients: what a write did, server-side apply's
// annotations, and RFC 7386 merge patches.

#include "rockpool/specs/json.hpp"
#include "rockpool/specs/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rockpool::specs {

/// Annotations the store maintains for server-side apply.
inline constexpr const char* managed_by_annotation = "rockpool.dev/managed-by";
inline constexpr const char* last_applied_annotation = "rockpool.dev/last-applied";
/// GitSync: the label on every object a sync applied (the sync's name), the
/// annotation that asks a sync to run now (any new value), and the one that
/// lets that run prune beyond spec.maxPrune (the same value).
inline constexpr const char* gitsync_label = "rockpool.dev/gitsync";
inline constexpr const char* sync_requested_annotation = "rockpool.dev/sync-requested-at";
inline constexpr const char* allow_mass_prune_annotation = "rockpool.dev/allow-mass-prune";

/// What a write did.
enum class write_effect { created, configured, unchanged, deleted, terminating };
const char* effect_name(write_effect e);
/// The effect named name ("created", ...), if it is one.
std::optional<write_effect> parse_effect(std::string_view name);

struct write_outcome {
  json::value object;  // the object as stored (or as it would be, for dry runs)
  write_effect effect = write_effect::unchanged;
};

struct list_outcome {
  std::vector<json::value> items;
  std::uint64_t revision = 0;
  /// A paged list that has more: the name of its last item, to go on after.
  std::string continue_after;
};

/// A change to an object, decoded from the event log.
struct watch_event {
  std::string type;  // ADDED, MODIFIED, DELETED
  json::value object;
  std::uint64_t revision = 0;
};

struct write_request {
  bool dry_run = false;
  std::string manager;  // field manager, e.g. "rpctl", "gitops:samples/", "ui"
};

/// The annotation key of an object (keys may contain dots), or "".
std::string annotation(const json::value& obj, std::string_view key);
/// The label key of an object, or "".
std::string label(const json::value& obj, std::string_view key);

/// RFC 7386 merge patch: null deletes, objects merge, everything else replaces.
json::value apply_merge_patch(const json::value& target, const json::value& patch);

/// RFC 6902 JSON patch: an array of add, remove, replace, move, copy and test
/// operations with RFC 6901 pointers, applied in order, all or nothing. A
/// malformed patch or a path that does not resolve is bad_request; a failed
/// `test` is invalid (422, as Kubernetes answers it).
result<json::value> apply_json_patch(const json::value& target, const json::value& patch);

}  // namespace rockpool::specs
