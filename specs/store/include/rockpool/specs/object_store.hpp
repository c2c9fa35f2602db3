#pragma once

#include "rockpool/specs/clock.hpp"
#include "rockpool/specs/json.hpp"
#include "rockpool/specs/kv_backend.hpp"
#include "rockpool/specs/object_model.hpp"
#include "rockpool/specs/result.hpp"
#include "rockpool/specs/selector.hpp"
#include "rockpool/specs/validation.hpp"

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rockpool::specs {

/// Kubernetes object semantics over a kv_backend: uid, generation,
/// resourceVersion, defaults and validation on admission, status written
/// separately, no-op writes skipped, optimistic concurrency, finalizers and
/// deletionTimestamp, server-side apply with field-manager ownership.
///
/// Thread safety: all methods may be called concurrently.
class object_store {
 public:
  /// rules: the kinds' semantic rules applied on admission (actors::kind_rules());
  /// without them only the CRD schemas are checked. REQUIRES: they outlive the store.
  object_store(kv_backend& backend, const clock& clock,
               std::vector<std::string> outer_networks = {}, const semantic_rules* rules = nullptr);

  [[nodiscard]] result<json::value> get(const std::string& kind, const std::string& name);
  /// get() serialised: the stored text with metadata.resourceVersion added,
  /// without parsing and serialising it again (the same text either way).
  [[nodiscard]] result<std::string> get_text(const std::string& kind, const std::string& name);
  [[nodiscard]] result<list_outcome> list(const std::string& kind,
                                          const label_selector& selector = {});
  /// One page of list(): at most limit matching items (0: all), after the
  /// object named after ("" from the first), read at revision `at` (0: the
  /// latest; a later page passes the first page's revision, and gets Gone
  /// once the backend no longer keeps that revision's view). continue_after
  /// is set when more remain.
  [[nodiscard]] result<list_outcome> list_page(const std::string& kind,
                                               const label_selector& selector, std::size_t limit,
                                               std::uint64_t at, const std::string& after);

  /// POST: creates; AlreadyExists when present. Status in the body is ignored.
  [[nodiscard]] result<write_outcome> create(json::value obj, const write_request& req);
  /// PUT: replaces metadata and spec. A metadata.resourceVersion in the body
  /// must match the stored one (else Conflict). generation bumps iff spec changed.
  [[nodiscard]] result<write_outcome> replace(json::value obj, const write_request& req);
  /// PUT .../status: replaces status only; never bumps generation.
  [[nodiscard]] result<write_outcome> replace_status(json::value obj, const write_request& req);
  /// Server-side apply of a full configuration on behalf of req.manager.
  /// REQUIRES: req.manager not empty. Conflict when another manager owns the
  /// object, unless force. A configuration without spec, of an existing
  /// object, only merges its labels and annotations (spec and owner kept).
  [[nodiscard]] result<write_outcome> apply(json::value obj, const write_request& req, bool force);
  /// PATCH with an RFC 7386 JSON merge patch.
  [[nodiscard]] result<write_outcome> merge_patch(const std::string& kind, const std::string& name,
                                                  const json::value& patch,
                                                  const write_request& req);
  /// PATCH .../status with a merge patch; without a resourceVersion in the
  /// patch it is retried on races, as a merge patch of the object is.
  [[nodiscard]] result<write_outcome> merge_patch_status(const std::string& kind,
                                                         const std::string& name,
                                                         const json::value& patch,
                                                         const write_request& req);
  /// PATCH with an RFC 6902 JSON patch, of the object (metadata and spec) or,
  /// with status_only, of its status; retried on races unless the patch sets
  /// metadata.resourceVersion.
  [[nodiscard]] result<write_outcome> json_patch(const std::string& kind, const std::string& name,
                                                 const json::value& patch, bool status_only,
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
  /// Blocks until the store revision passes `after` or the timeout; true iff it did.
  bool wait_for_revision(std::uint64_t after, std::chrono::milliseconds timeout);
  /// OK iff the store answers reads (readiness).
  [[nodiscard]] status ready();
  /// Whether reads stay on this machine (kv_backend::reads_locally).
  bool reads_locally() const { return backend_.reads_locally(); }
  /// Write-path counters (writes, synced batches).
  kv_stats stats() const { return backend_.stats(); }
  /// Every object and allocation from one consistent view (for a backup).
  result<kv_dump> dump() { return backend_.dump(); }
  /// Stored objects by kind: counted once at construction, then kept up to
  /// date by this store's creates and deletes (so a scrape reads no object).
  /// REQUIRES: this store is the only writer of its backend.
  std::map<std::string, std::uint64_t> counts() const;
  /// Finalizers admission adds to every object of a kind it creates, by kind,
  /// as Kubernetes' admission plugins add theirs (kubernetes.io/pvc-protection):
  /// the controller's cleanup finalizer, so its first pass need not write it.
  /// Set only where a controller removes them. REQUIRES: called before the
  /// store is shared between threads.
  void add_finalizers_on_create(std::map<std::string, std::string> by_kind) {
    creation_finalizers_ = std::move(by_kind);
  }
  /// What admission validates against (this store's objects, the outer
  /// networks, the kinds' rules), for checking input before writing any of it.
  validation_context validation();

 private:
  struct current {
    json::value object;
    std::uint64_t revision = 0;
  };
  /// nullopt: the attempt's compare-and-swap lost a race; read and try again.
  using attempt_outcome = std::optional<result<write_outcome>>;
  using attempt_fn = std::function<attempt_outcome(const std::optional<current>&)>;

  /// Locks the admission stripes of obj's exclusion keys (kind_rule::exclusive),
  /// in a fixed order; held from validation to commit.
  std::vector<std::unique_lock<std::mutex>> admit(const json::value& obj);
  /// create() once admitted.
  result<write_outcome> create_admitted(json::value obj, const write_request& req);
  /// Reads kind/name and runs attempt on it until it does not lose a race;
  /// after too many lost races, exhausted(). absent_first: the first attempt
  /// is on "absent" without a read (a create, whose commit then fails if
  /// the object exists).
  result<write_outcome> retry_on_race(const std::string& kind, const std::string& name,
                                      const attempt_fn& attempt,
                                      const std::function<error()>& exhausted,
                                      bool absent_first = false);
  /// Applies patch to the current object and hands it to write, retrying
  /// lost races unless the patch names a resourceVersion.
  result<write_outcome> merge_patch_then(
      const std::string& kind, const std::string& name, const json::value& patch,
      const std::function<result<write_outcome>(json::value)>& write);
  /// Computes the next object from the current one with patcher and hands it
  /// to write, retrying lost races unless pinned_by_caller.
  result<write_outcome> patch_then(
      const std::string& kind, const std::string& name,
      const std::function<result<json::value>(const json::value&)>& patcher, bool pinned_by_caller,
      const std::function<result<write_outcome>(json::value)>& write);
  attempt_outcome finish_deletion(const std::string& key, const current& old, json::value last,
                                  const write_request& req, bool may_retry);
  result<std::optional<current>> read(const std::string& kind, const std::string& name);
  result<write_outcome> commit(const std::string& key, const std::optional<current>& old,
                               json::value next, write_effect effect, const write_request& req);
  result<write_outcome> update_existing(json::value obj, const write_request& req, bool force,
                                        bool is_apply);

  kv_backend& backend_;
  const clock& clock_;
  std::vector<std::string> outer_networks_;
  const semantic_rules* rules_;
  std::array<std::mutex, 64> admission_;
  std::map<std::string, std::string> creation_finalizers_;
  mutable std::mutex counts_mu_;
  std::map<std::string, std::uint64_t> counts_;
  void count(const std::string& kind, int delta);
};

}  // namespace rockpool::specs
