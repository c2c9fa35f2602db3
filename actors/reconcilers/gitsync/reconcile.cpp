// The GitSync reconciler's pass (docs/user-guide.md#gitops): all or nothing
// per revision, drift reverted, prune guarded against empty sources and mass
// deletion, status in Flux's and Argo CD's terms.
#include "gitsync/reconciler.hpp"

#include "common/pass.hpp"
#include "common/status.hpp"
#include "gitsync/sync.hpp"

namespace rockpool::actors::gitsync {

using namespace common;
namespace typed = crds::git_sync;

namespace {

constexpr std::size_t max_reported_errors = 50;

std::chrono::milliseconds interval_of(const typed::spec& spec) {
  auto text = spec.interval.value_or("");
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

std::vector<json::value> located(const std::vector<specs::diagnostic>& problems) {
  std::vector<json::value> out;
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

std::vector<json::value> per_object(const sync_outcome& out) {
  std::vector<json::value> errors;
  for (const auto& c : out.changes) {
    if (c.action != "conflict" && c.action != "error") continue;
    if (errors.size() == max_reported_errors) break;
    errors.push_back(
        json::object{{"object", c.object}, {"reason", c.action}, {"message", c.message}});
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
pass_result teardown(reconcile_context& ctx, const json::value& obj) {
  auto gs = sync_view::of(obj);
  if (!gs.ok()) return failed(gs.err());
  if (gs->prune() && !gs->suspended())
    if (auto left = prune_all(ctx.store, *gs); left > 0)
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
                       auto status = typed::status_of(gs);
                       if (!status.ok()) return names;
                       for (const auto& key :
                            status->inventory.value_or(std::vector<std::string>{}))
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

namespace {

// One pass over a GitSync, in the order of Flux's kustomize-controller: is a
// fetch due, read the source (fetched when due, else the last applied
// revision from the local clone), apply it (or keep the last good revision
// applied), report the outcome. Status is written once, at the end.
class sync_pass {
 public:
  sync_pass(const settings& s, reconcile_context& ctx, const json::value& obj, const sync_view& gs)
      : settings_(s),
        ctx_(ctx),
        obj_(obj),
        gs_(gs),
        status_(obj, ctx.clock, condition_order()),
        next_(gs.status) {}

  pass_result run() {
    next_.source = describe_source(gs_.spec);
    if (gs_.suspended()) {
      status_.condition("Ready", false, "Suspended",
                        "spec.suspend is true: nothing is fetched, applied or pruned");
      next_.phase = typed::status_phase::Suspended;
      return write(converged("suspended"));
    }
    decide_due();
    if (read() && apply()) report();
    return write(again_);
  }

 private:
  // Due: a sync was requested, the spec changed, or the interval passed.
  // Sets when to look again either way.
  void decide_due() {
    const auto& old = gs_.status;
    request_ = gs_.annotation(specs::sync_requested_annotation);
    requested_ = !request_.empty() && request_ != old.last_handled_sync_request.value_or("");
    auto interval = interval_of(gs_.spec);
    auto now = ctx_.clock.now();
    auto last = old.last_sync_time.value_or("");
    bool spec_changed = old.observed_generation != gs_.meta.generation;
    due_ =
        requested_ || spec_changed || last.empty() || now - specs::parse_rfc3339(last) >= interval;
    pinned_ = old.last_applied_revision.value_or("");
    if (due_) {
      next_.last_sync_time = specs::format_rfc3339(now);
      next_.last_handled_sync_request = request_;
    }
    auto next = due_ ? interval
                     : interval - std::chrono::duration_cast<std::chrono::milliseconds>(
                                      now - specs::parse_rfc3339(last));
    again_ = requeue("next look at the source", std::max(next, std::chrono::milliseconds(1000)));
  }

  // The source, fetched when due; otherwise the last applied revision is
  // kept in place. False (status set) when there is nothing to apply.
  bool read() {
    desired_ = read_source(settings_, ctx_.store, gs_, due_, due_ ? std::string() : pinned_);
    if (!desired_.source_ok) {
      status_.condition("SourceReady", false, "SourceUnavailable", desired_.source_message);
      out_of_sync("SourceUnavailable",
                  "the source cannot be read, so nothing was applied or pruned: " +
                      desired_.source_message);
      ctx_.events.record(obj_, "Warning", "SourceUnavailable", desired_.source_message);
      return false;
    }
    status_.condition("SourceReady", true, "Read",
                      "revision " + short_revision(desired_.revision) + " read");
    next_.last_attempted_revision = desired_.revision;
    if (!desired_.problems.empty()) {
      invalid();
      return false;
    }
    if (desired_.documents.empty()) {
      out_of_sync("EmptySource",
                  "the source holds no manifests; an empty source is taken for a mistake, so "
                  "nothing was pruned");
      next_.errors = std::vector<json::value>{};
      return false;
    }
    return true;
  }

  // A revision with problems applies nothing; the last good revision stays
  // applied, drift reverted (Git sources keep it).
  void invalid() {
    auto message = std::to_string(desired_.problems.size()) + " problem(s) in revision " +
                   short_revision(desired_.revision) +
                   ", so none of it was applied; first: " + desired_.problems.front().to_string();
    next_.errors = located(desired_.problems);
    out_of_sync("ValidationFailed", message);
    ctx_.events.record(obj_, "Warning", "ValidationFailed", message);
    if (!pinned_.empty() && pinned_ != desired_.revision && gs_.spec.git)
      if (auto good = read_source(settings_, ctx_.store, gs_, false, pinned_);
          good.source_ok && good.problems.empty() && !good.documents.empty())
        (void)execute(ctx_.store, gs_, good, false, false);
  }

  // Applies and prunes; false (status set) when it did not all go through.
  bool apply() {
    bool allow = requested_ && gs_.annotation(specs::allow_mass_prune_annotation) == request_;
    out_ = execute(ctx_.store, gs_, desired_, false, allow);
    next_.inventory = std::vector<std::string>(out_.inventory.begin(), out_.inventory.end());
    next_.objects = static_cast<std::int64_t>(out_.inventory.size());
    next_.counts = {{"applied", out_.applied},
                    {"unchanged", out_.unchanged},
                    {"pruned", out_.pruned},
                    {"failed", out_.failed},
                    {"conflicts", out_.conflicts}};
    next_.errors = per_object(out_);
    if (!due_ && out_.applied > 0) {
      std::vector<std::string> reverted;
      for (const auto& c : out_.changes)
        if (c.action == "create" || c.action == "update") reverted.push_back(c.object);
      ctx_.events.record(obj_, "Normal", "DriftReverted",
                         "put back to the source: " + join(reverted));
    }
    if (out_.failed > 0 || out_.conflicts > 0) {
      auto reason = out_.failed > 0 ? "ApplyFailed" : "Conflict";
      out_of_sync(reason, std::to_string(out_.failed) + " failed, " +
                              std::to_string(out_.conflicts) +
                              " in conflict (see status.errors); " + summary(out_));
      return false;
    }
    if (!out_.prune_blocked.empty()) {
      out_of_sync("PruneLimitExceeded", out_.prune_blocked);
      ctx_.events.record(obj_, "Warning", "PruneLimitExceeded", out_.prune_blocked);
      return false;
    }
    return true;
  }

  // The revision is applied: Synced and Ready.
  void report() {
    if (pinned_ != desired_.revision)
      ctx_.events.record(
          obj_, "Normal", "Synced",
          "applied revision " + short_revision(desired_.revision) + ": " + summary(out_));
    next_.last_applied_revision = desired_.revision;
    auto message = "revision " + short_revision(desired_.revision) + " applied: " + summary(out_);
    status_.condition("Synced", true, "InSync", message);
    status_.condition("Ready", true, "InSync", message);
    next_.sync = typed::status_sync::InSync;
    next_.phase = typed::status_phase::Ready;
  }

  void out_of_sync(const std::string& reason, const std::string& message) {
    status_.condition("Synced", false, reason, message);
    status_.condition("Ready", false, reason, message);
    next_.sync = typed::status_sync::OutOfSync;
    next_.phase = typed::status_phase::Failed;
  }

  pass_result write(pass_result r) {
    status_.replace_fields(write_value(next_));
    if (auto st = status_.write(ctx_, obj_); !st.ok()) return failed(st.err());
    return r;
  }

  const settings& settings_;
  reconcile_context& ctx_;
  const json::value& obj_;
  const sync_view& gs_;
  status_builder status_;
  typed::status next_;  // the old status, changed by the pass
  std::string request_, pinned_;
  bool requested_ = false, due_ = false;
  pass_result again_;
  desired_state desired_;
  sync_outcome out_;
};

}  // namespace

pass_result reconciler::reconcile(reconcile_context& ctx, json::value obj) const {
  auto gs = sync_view::of(obj);
  if (!gs.ok()) return failed(gs.err());
  return sync_pass(settings_, ctx, obj, *gs).run();
}

}  // namespace rockpool::actors::gitsync
