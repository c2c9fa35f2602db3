#pragma once

#include "rockpool/specs/clock.hpp"
#include "rockpool/specs/json.hpp"
#include "rockpool/specs/kv_backend.hpp"
#include "rockpool/specs/result.hpp"
#include "rockpool/specs/selector.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace rockpool::specs {

struct validation_context;

/// Annotations the store maintains for server-side apply.
inline constexpr const char* managed_by_annotation = "rockpool.dev/managed-by";
inline constexpr const char* last_applied_annotation = "rockpool.dev/last-applied";

/// What a write did.
enum class write_effect { created, configured, unchanged, deleted, terminating };
const char* effect_name(write_effect e);

struct write_outcome {
  json::value object;  // the object as stored (or as it would be, for dry runs)
  write_effect effect = write_effect::unchanged;
};

struct list_outcome {
  std::vector<json::value> items;
  std::uint64_t revision = 0;
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

/// Kubernetes object semantics over a kv_backend: uid, generation,
/// resourceVersion, defaults and validation on admission, status written
/// separately, no-op writes skipped, optimistic concurrency, finalizers and
/// deletionTimestamp, server-side apply with field-manager ownership.
///
/// Thread safety: all methods may be called concurrently.
class object_store {
 public:
  object_store(kv_backend& backend, const clock& clock,
               std::vector<std::string> outer_networks = {});

  [[nodiscard]] result<json::value> get(const std::string& kind, const std::string& name);
  [[nodiscard]] result<list_outcome> list(const std::string& kind,
                                          const label_selector& selector = {});

  /// POST: creates; AlreadyExists when present. Status in the body is ignored.
  [[nodiscard]] result<write_outcome> create(json::value obj, const write_request& req);
  /// PUT: replaces metadata and spec. A metadata.resourceVersion in the body
  /// must match the stored one (else Conflict). generation bumps iff spec changed.
  [[nodiscard]] result<write_outcome> replace(json::value obj, const write_request& req);
  /// PUT .../status: replaces status only; never bumps generation.
  [[nodiscard]] result<write_outcome> replace_status(json::value obj, const write_request& req);
  /// Server-side apply of a full configuration on behalf of req.manager.
  /// REQUIRES: req.manager not empty. Conflict when another manager owns the
  /// object, unless force.
  [[nodiscard]] result<write_outcome> apply(json::value obj, const write_request& req, bool force);
  /// PATCH with an RFC 7386 JSON merge patch.
  [[nodiscard]] result<write_outcome> merge_patch(const std::string& kind, const std::string& name,
                                                  const json::value& patch,
                                                  const write_request& req);
  /// DELETE: with finalizers, only sets deletionTimestamp (effect terminating);
  /// without, removes the object (effect deleted).
  [[nodiscard]] result<write_outcome> remove(const std::string& kind, const std::string& name,
                                             std::optional<std::uint64_t> precondition,
                                             const write_request& req);

  /// Decoded events after a revision (Gone when compacted).
  [[nodiscard]] result<std::vector<watch_event>> events_after(std::uint64_t after,
                                                              std::size_t limit);
  std::uint64_t revision() const { return backend_.revision(); }
  kv_backend& backend() { return backend_; }

 private:
  struct current {
    json::value object;
    std::uint64_t revision = 0;
  };
  validation_context context();
  result<std::optional<current>> read(const std::string& kind, const std::string& name);
  result<write_outcome> commit(const std::string& key, const std::optional<current>& old,
                               json::value next, write_effect effect, const write_request& req);
  result<write_outcome> update_existing(json::value obj, const write_request& req, bool force,
                                        bool is_apply);

  kv_backend& backend_;
  const clock& clock_;
  std::vector<std::string> outer_networks_;
};

/// The annotation key of an object (keys may contain dots), or "".
std::string annotation(const json::value& obj, std::string_view key);

/// RFC 7386 merge patch: null deletes, objects merge, everything else replaces.
json::value apply_merge_patch(const json::value& target, const json::value& patch);

}  // namespace rockpool::specs
