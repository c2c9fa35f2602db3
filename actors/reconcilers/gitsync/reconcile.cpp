// The GitSync reconciler's pass (docs/user-guide.md#gitops): all or nothing
// per revision, drift reverted, prune guarded against empty sources and mass
// deletion, status in Flux's and Argo CD's terms.
#include "gitsync/reconciler.hpp"

#include "common/pass.hpp"
#include "common/status.hpp"
#include "gitsync/sync.hpp"

namespace rockpool::actors::gitsync {

using namespace common;
using specs::string_at;

namespace {

constexpr std::size_t max_reported_errors = 50;

std::chrono::milliseconds interval_of(const json::value& gs) {
  auto text = string_at(gs, "spec.interval");
  if (text.size() < 2) return std::chrono::minutes(1);
  auto n = std::stoll(text.substr(0, text.size() - 1));  // the schema bounds it
  switch (text.back()) {
    case 's':
      return std::chrono::seconds(n);
    case 'h':
      return std::chrono::hours(n);
    default:
      return std::chrono::minutes(n);
  }
}

std::string short_revision(const std::string& r) {
  return r.rfind("sha1:", 0) == 0 ? r.substr(0, 17) : r.substr(0, 12);
}

json::array located(const std::vector<specs::diagnostic>& problems) {
  json::array out;
  for (const auto& p : problems) {
    if (out.size() == max_reported_errors) break;
    json::object e{{"file", p.source}, {"document", p.index}, {"message", p.message}};
    if (!p.object.empty()) e["object"] = p.object;
    if (!p.field.empty()) e["field"] = p.field;
    if (p.at.line > 0) {
      e["line"] = p.at.line;
      e["column"] = p.at.column;
    }
    out.push_back(std::move(e));
  }
  return out;
}

json::array per_object(const sync_outcome& out) {
  json::array errors;
  for (const auto& c : out.changes) {
    if (c.action != "conflict" && c.action != "error") continue;
    if (errors.size() == max_reported_errors) break;
    errors.push_back({{"object", c.object}, {"reason", c.action}, {"message", c.message}});
  }
  return errors;
}

std::string summary(const sync_outcome& out) {
  return std::to_string(out.applied) + " applied, " + std::to_string(out.unchanged) +
         " unchanged, " + std::to_string(out.pruned) + " pruned";
}

std::vector<std::string_view> condition_order() {
  return {"SourceReady", "Synced", "Ready"};
}

// Deleting a sync with spec.prune deletes what it applied (as Flux does);
// without, its objects are left in place.
pass_result teardown(reconcile_context& ctx, const json::value& gs) {
  if (flag(gs, "spec.prune", true) && !flag(gs, "spec.suspend", false))
    if (auto left = prune_all(ctx.store, gs); left > 0)
      return requeue("waiting for " + std::to_string(left) + " pruned objects to go",
                     std::chrono::seconds(1));
  return converged("torn down");
}

}  // namespace

std::vector<watch_rule> reconciler::watches() const {
  std::vector<watch_rule> rules;
  for (const char* kind : {"WorkspaceTemplate", "Workspace", "PortRoute", "NestedHost"}) {
    std::string prefix = std::string(kind) + "/";
    rules.push_back({kind,
                     [prefix](const json::value& gs) {
                       std::vector<std::string> names;
                       for (const auto& key : inventory_of(gs))
                         if (key.rfind(prefix, 0) == 0) names.push_back(key.substr(prefix.size()));
                       return names;
                     },
                     /*follows_status=*/false});
  }
  return rules;
}

pass_result reconciler::finalize(reconcile_context& ctx, const json::value& obj) const {
  return teardown(ctx, obj);
}

pass_result reconciler::reconcile(reconcile_context& ctx, json::value obj) const {
  auto name = string_at(obj, "metadata.name");
  status_builder status(obj, ctx.clock, condition_order());
  status["source"] = describe_source(obj);
  auto write = [&](pass_result r) {
    if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err().message);
    return r;
  };
  if (flag(obj, "spec.suspend", false)) {
    status.condition("Ready", false, "Suspended",
                     "spec.suspend is true: nothing is fetched, applied or pruned");
    status["phase"] = "Suspended";
    return write(converged("suspended"));
  }

  // A fetch when due; otherwise the last applied revision is kept in place.
  const auto& old = status.old();
  auto old_string = [&](const char* key) {
    const auto* v = old.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  auto request = specs::annotation(obj, specs::sync_requested_annotation);
  bool requested = !request.empty() && request != old_string("lastHandledSyncRequest");
  auto interval = interval_of(obj);
  auto now = ctx.clock.now();
  auto last = old_string("lastSyncTime");
  const auto* observed = old.if_contains("observedGeneration");
  bool spec_changed = observed == nullptr || !observed->is_int64() ||
                      observed->get_int64() != specs::int_at(obj, "metadata.generation");
  bool due =
      requested || spec_changed || last.empty() || now - specs::parse_rfc3339(last) >= interval;
  auto pinned = old_string("lastAppliedRevision");
  auto desired = read_source(settings_, ctx.store, obj, due, due ? std::string() : pinned);
  if (due) {
    status["lastSyncTime"] = specs::format_rfc3339(now);
    status["lastHandledSyncRequest"] = request;
  }
  auto next = due ? interval
                  : interval - std::chrono::duration_cast<std::chrono::milliseconds>(
                                   now - specs::parse_rfc3339(last));
  auto again = requeue("next look at the source", std::max(next, std::chrono::milliseconds(1000)));
  auto out_of_sync = [&](const std::string& reason, const std::string& message) {
    status.condition("Synced", false, reason, message);
    status.condition("Ready", false, reason, message);
    status["sync"] = "OutOfSync";
    status["phase"] = "Failed";
  };

  if (!desired.source_ok) {
    status.condition("SourceReady", false, "SourceUnavailable", desired.source_message);
    out_of_sync(
        "SourceUnavailable",
        "the source cannot be read, so nothing was applied or pruned: " + desired.source_message);
    ctx.events.record(obj, "Warning", "SourceUnavailable", desired.source_message);
    return write(again);
  }
  status.condition("SourceReady", true, "Read",
                   "revision " + short_revision(desired.revision) + " read");
  status["lastAttemptedRevision"] = desired.revision;
  if (!desired.problems.empty()) {
    auto message = std::to_string(desired.problems.size()) + " problem(s) in revision " +
                   short_revision(desired.revision) +
                   ", so none of it was applied; first: " + desired.problems.front().to_string();
    status["errors"] = located(desired.problems);
    out_of_sync("ValidationFailed", message);
    ctx.events.record(obj, "Warning", "ValidationFailed", message);
    // The last good revision stays applied, drift reverted (Git sources keep it).
    if (!pinned.empty() && pinned != desired.revision && specs::find_path(obj, "spec.git"))
      if (auto good = read_source(settings_, ctx.store, obj, false, pinned);
          good.source_ok && good.problems.empty() && !good.documents.empty())
        (void)execute(ctx.store, obj, good, false, false);
    return write(again);
  }
  if (desired.documents.empty()) {
    out_of_sync("EmptySource",
                "the source holds no manifests; an empty source is taken for a mistake, so "
                "nothing was pruned");
    status["errors"] = json::array();
    return write(again);
  }

  bool allow = requested && specs::annotation(obj, specs::allow_mass_prune_annotation) == request;
  auto out = execute(ctx.store, obj, desired, false, allow);
  json::array inventory;
  for (const auto& key : out.inventory) inventory.push_back(json::value(key));
  status["inventory"] = std::move(inventory);
  status["objects"] = static_cast<std::int64_t>(out.inventory.size());
  status["counts"] = {{"applied", out.applied},
                      {"unchanged", out.unchanged},
                      {"pruned", out.pruned},
                      {"failed", out.failed},
                      {"conflicts", out.conflicts}};
  status["errors"] = per_object(out);
  if (!due && out.applied > 0) {
    std::vector<std::string> reverted;
    for (const auto& c : out.changes)
      if (c.action == "create" || c.action == "update") reverted.push_back(c.object);
    ctx.events.record(obj, "Normal", "DriftReverted", "put back to the source: " + join(reverted));
  }
  if (out.failed > 0 || out.conflicts > 0) {
    auto reason = out.failed > 0 ? "ApplyFailed" : "Conflict";
    out_of_sync(reason, std::to_string(out.failed) + " failed, " + std::to_string(out.conflicts) +
                            " in conflict (see status.errors); " + summary(out));
    return write(again);
  }
  if (!out.prune_blocked.empty()) {
    out_of_sync("PruneLimitExceeded", out.prune_blocked);
    ctx.events.record(obj, "Warning", "PruneLimitExceeded", out.prune_blocked);
    return write(again);
  }
  if (pinned != desired.revision)
    ctx.events.record(obj, "Normal", "Synced",
                      "applied revision " + short_revision(desired.revision) + ": " + summary(out));
  status["lastAppliedRevision"] = desired.revision;
  auto message = "revision " + short_revision(desired.revision) + " applied: " + summary(out);
  status.condition("Synced", true, "InSync", message);
  status.condition("Ready", true, "InSync", message);
  status["sync"] = "InSync";
  status["phase"] = "Ready";
  return write(again);
}

}  // namespace rockpool::actors::gitsync
