// The WorkspaceSnapshot reconciler: take (freeze → instance snapshot → home
// snapshot → unfreeze), once; report; on deletion remove the Incus snapshots.
// A pass that dies between freeze and unfreeze is retried: the snapshots
// already taken are kept (their names are fixed) and the instance is thawed.
// A retained snapshot (spec.retain) is not owned by its workspace: when the
// workspace is deleted (its teardown waits for this), the snapshot is copied
// out into a stopped instance and a volume of its own ("detached"), which
// it deletes when it goes.
#include "workspace_snapshot/reconciler.hpp"

#include "common/ownership.hpp"
#include "common/pass.hpp"
#include "common/status.hpp"
#include "rockpool/specs/clock.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

namespace rockpool::actors::workspace_snapshot {

using namespace common;
using runtime::snapshot_of;
using specs::string_at;

namespace {

bool include_home(const json::value& obj) {
  const auto* b = specs::find_path(obj, "spec.includeHome");
  return b == nullptr || !b->is_bool() || b->as_bool();
}

bool retained(const json::value& obj) {
  const auto* b = specs::find_path(obj, "spec.retain");
  return b != nullptr && b->is_bool() && b->as_bool();
}

// The stopped instance a detached snapshot lives in (its volume: + "-home").
std::string holder_name(const json::value& obj) {
  auto name = string_at(obj, "metadata.name").substr(0, 40);
  std::replace(name.begin(), name.end(), '.', '-');
  return "snap-" + name + "-" + string_at(obj, "metadata.uid").substr(0, 8);
}

// Copies a retained snapshot out of its workspace's instance and home, which
// are about to go, into a holder instance and volume with the same snapshot
// name. Every step may be repeated (a pass that dies midway is retried).
specs::status detach(reconcile_context& ctx, const json::value& obj, status_builder& status) {
  auto snap = string_at(obj, "status.instanceSnapshot");
  auto holder = holder_name(obj);
  std::map<std::string, std::string> owner{{runtime::owner_kind_key, "WorkspaceSnapshot"},
                                           {runtime::owner_name_key, string_at(obj, "metadata.name")},
                                           {runtime::owner_uid_key, string_at(obj, "metadata.uid")}};
  runtime::instance_spec spec;
  spec.name = holder;
  spec.config = owner;
  spec.source_snapshot = string_at(obj, "spec.workspace") + "/" + snap;
  if (auto st = ctx.incus.create_instance(spec);
      !st.ok() && st.err().why != specs::reason::already_exists)
    return st;
  if (auto st = ctx.incus.create_snapshot(snapshot_of::instance, holder, snap); !st.ok()) return st;
  if (auto home = string_at(obj, "status.homeVolume"); !home.empty()) {
    auto copy = holder + "-home";
    if (auto st = ctx.incus.copy_volume(copy, home, snap, owner);
        !st.ok() && st.err().why != specs::reason::already_exists)
      return st;
    if (auto st = ctx.incus.create_snapshot(snapshot_of::volume, copy, snap); !st.ok()) return st;
    status["homeVolume"] = copy;
  }
  status["instance"] = holder;
  status["detached"] = true;
  return specs::done{};
}

// One freeze-snapshot-thaw at a time per instance: two snapshots of one
// workspace taken at once would thaw each other's freeze.
std::unique_lock<std::mutex> lock_instance(const std::string& instance) {
  static std::mutex registry_mu;
  static std::map<std::string, std::unique_ptr<std::mutex>> locks;
  std::mutex* m;
  {
    std::lock_guard lk(registry_mu);
    auto& slot = locks[instance];
    if (!slot) slot = std::make_unique<std::mutex>();
    m = slot.get();
  }
  return std::unique_lock(*m);
}

// Thaws the instance when a pass left it frozen (it died mid-snapshot).
specs::status thaw(reconcile_context& ctx, const std::string& instance) {
  auto held = lock_instance(instance);
  auto inst = ctx.incus.get_instance(instance);
  if (!inst.ok()) return inst.err();
  if (*inst && (*inst)->status == "Frozen") return ctx.incus.unfreeze_instance(instance);
  return specs::done{};
}

pass_result teardown(reconcile_context& ctx, const json::value& obj) {
  if (const auto* d = specs::find_path(obj, "status.detached"); d && d->is_bool() && d->as_bool()) {
    // Its own holder instance and volume (their snapshots go with them).
    auto holder = string_at(obj, "status.instance");
    if (auto st = ctx.incus.delete_instance(holder);
        !st.ok() && st.err().why != specs::reason::not_found)
      return failed(st.err());
    if (auto home = string_at(obj, "status.homeVolume"); !home.empty())
      if (auto st = ctx.incus.delete_volume(home); !st.ok()) return failed(st.err());
    return converged("torn down");
  }
  auto ws = string_at(obj, "spec.workspace");
  auto snap = incus_snapshot_name(string_at(obj, "metadata.name"));
  if (string_at(obj, "status.phase") != "Ready")
    if (auto st = thaw(ctx, ws); !st.ok()) return failed(st.err());
  if (auto st = ctx.incus.delete_snapshot(snapshot_of::instance, ws, snap); !st.ok())
    return failed(st.err());
  if (auto home = string_at(obj, "status.homeVolume"); !home.empty())
    if (auto st = ctx.incus.delete_snapshot(snapshot_of::volume, home, snap); !st.ok())
      return failed(st.err());
  return converged("torn down");
}

// Freezes a running instance, takes both snapshots, thaws it (also when a
// snapshot failed). Returns the pause in milliseconds.
specs::result<std::int64_t> take(reconcile_context& ctx, const std::string& instance,
                                 const std::string& home, const std::string& snap) {
  auto held = lock_instance(instance);
  auto inst = ctx.incus.get_instance(instance);
  if (!inst.ok()) return inst.err();
  if (!*inst)
    return specs::make_error(specs::reason::not_found,
                             "workspace " + instance + " has no instance to snapshot");
  bool freeze = (*inst)->status == "Running" || (*inst)->status == "Frozen";
  auto t0 = std::chrono::steady_clock::now();
  if ((*inst)->status == "Running")
    if (auto st = ctx.incus.freeze_instance(instance); !st.ok()) return st.err();
  auto st = ctx.incus.create_snapshot(snapshot_of::instance, instance, snap);
  if (st.ok() && !home.empty()) st = ctx.incus.create_snapshot(snapshot_of::volume, home, snap);
  auto thawed = freeze ? ctx.incus.unfreeze_instance(instance) : specs::status(specs::done{});
  auto paused = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - t0)
                    .count();
  if (!st.ok()) return st.err();
  if (!thawed.ok()) return thawed.err();
  return freeze ? paused : 0;
}

}  // namespace

std::string incus_snapshot_name(const std::string& snapshot) {
  return "rockpool-" + snapshot;
}

std::vector<watch_rule> reconciler::watches() const {
  // A snapshot waits for its workspace's instance and home to exist.
  return {{"Workspace", [](const json::value& s) {
             return std::vector<std::string>{string_at(s, "spec.workspace")};
           }}};
}

pass_result reconciler::finalize(reconcile_context& ctx, const json::value& obj) const {
  return teardown(ctx, obj);
}

namespace {

// Status with its Ready condition and phase, written; then `result`.
pass_result snapshot_status(reconcile_context& ctx, const json::value& obj, status_builder& status,
                   const char* phase, bool ok, const std::string& reason,
                   const std::string& message, pass_result result) {
  status.condition("Ready", ok, reason, message);
  status["phase"] = phase;
  if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err());
  return result;
}

// A snapshot is taken once and kept; a retained one is copied out when its
// workspace goes (spec.retain).
pass_result keep_taken(reconcile_context& ctx, const json::value& obj, status_builder& status,
                       const specs::result<json::value>& ws, const std::string& ws_name) {
  const auto* d = specs::find_path(obj, "status.detached");
  bool detached = d && d->is_bool() && d->as_bool();
  bool going = !ws.ok() || being_deleted(*ws);
  if (detached || !retained(obj) || !going) return converged();
  if (!ws.ok())
    return snapshot_status(ctx, obj, status, "Failed", false, "Lost",
                  "workspace \"" + ws_name + "\" went before this snapshot was copied out",
                  terminal("lost"));
  if (auto st = detach(ctx, obj, status); !st.ok())
    return snapshot_status(ctx, obj, status, "Ready", true, "DetachFailed",
                  "copying out: " + st.err().message, failed(st.err()));
  ctx.events.record(obj, "Normal", "Detached",
                    "workspace " + ws_name + " is being deleted; the snapshot was copied to " +
                        holder_name(obj) + " and is kept (spec.retain)");
  return snapshot_status(ctx, obj, status, "Ready", true, "Detached",
                "kept after its workspace: in instance " + holder_name(obj), converged());
}

}  // namespace

pass_result reconciler::reconcile(reconcile_context& ctx, json::value obj) const {
  auto ws_name = string_at(obj, "spec.workspace");
  auto ws = ctx.store.get("Workspace", ws_name);
  if (!ws.ok() && ws.err().why != specs::reason::not_found) return failed(ws.err());
  // A retained snapshot outlives its workspace: no ownerReference to it.
  auto adopted = adopt(ctx, std::move(obj), ws.ok() && !retained(obj) ? &*ws : nullptr);
  if (auto* r = std::get_if<pass_result>(&adopted)) return *r;
  obj = std::move(std::get<json::value>(adopted));
  if (retained(obj) && ws.ok() && owned_by_uid(obj, string_at(*ws, "metadata.uid"))) {
    json::value patch = {{"metadata", {{"ownerReferences", json::array{}}}}};
    auto r = ctx.store.merge_patch("WorkspaceSnapshot", string_at(obj, "metadata.name"), patch,
                                   controller_write);
    if (!r.ok()) return failed(r.err());
    obj = std::move(r->object);
  }

  status_builder status(obj, ctx.clock, {"Ready"});
  auto report = [&](const char* phase, bool ok, const std::string& reason,
                    const std::string& message, pass_result result) {
    return snapshot_status(ctx, obj, status, phase, ok, reason, message, std::move(result));
  };
  if (string_at(obj, "status.phase") == "Ready") return keep_taken(ctx, obj, status, ws, ws_name);
  if (!ws.ok())
    return report("Failed", false, "WorkspaceNotFound",
                  "workspace \"" + ws_name + "\" does not exist",
                  terminal("no workspace " + ws_name));
  if (being_deleted(*ws))
    return report("Failed", false, "WorkspaceTerminating",
                  "workspace \"" + ws_name + "\" is being deleted", terminal("workspace going"));
  auto home = include_home(obj) ? string_at(*ws, "status.home.volume") : std::string();
  auto phase = string_at(*ws, "status.phase");
  if (phase.empty() || phase == "Pending" || phase == "Provisioning")
    return report("Pending", false, "WorkspaceNotReady",
                  "waiting for workspace \"" + ws_name + "\" to be made",
                  converged("the workspace's changes poke this snapshot"));
  auto snap = incus_snapshot_name(string_at(obj, "metadata.name"));
  auto paused = take(ctx, ws_name, home, snap);
  if (!paused.ok())
    return report("Failed", false, "SnapshotFailed", paused.err().message,
                  failed(paused.err()));
  status["takenAt"] = specs::format_rfc3339(ctx.clock.now());
  status["instanceSnapshot"] = snap;
  status["homeVolume"] = home;
  status["homeSnapshot"] = home.empty() ? std::string() : snap;
  status["pauseMilliseconds"] = *paused;
  if (auto size = ctx.incus.snapshot_size(ws_name, snap); size.ok() && *size)
    status["instanceSnapshotBytes"] = **size;
  ctx.events.record(obj, "Normal", "SnapshotTaken",
                    "snapshot " + snap + " of workspace " + ws_name +
                        (home.empty() ? "" : " and its home " + home) + " (paused " +
                        std::to_string(*paused) + " ms)");
  return report("Ready", true, "Taken",
                "instance" + std::string(home.empty() ? "" : " and home") + " snapshot " + snap,
                converged());
}

}  // namespace rockpool::actors::workspace_snapshot
