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
#include "rockpool/crds/types.hpp"
#include "rockpool/specs/clock.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

namespace rockpool::actors::workspace_snapshot {

using namespace common;
using runtime::snapshot_of;
namespace typed = crds::workspace_snapshot;
namespace ws_typed = crds::workspace;

namespace {

// One pass's typed view of the snapshot: its object, metadata, spec and the
// status it had when the pass began.
struct snapshot_view {
  json::value obj;
  crds::object_meta meta;
  typed::spec spec;
  typed::status old;

  static specs::result<snapshot_view> of(json::value obj) {
    auto meta = crds::object_meta::of(obj);
    if (!meta.ok()) return meta.err();
    auto spec = typed::spec_of(obj);
    if (!spec.ok()) return spec.err();
    auto old = typed::status_of(obj);
    if (!old.ok()) return old.err();
    return snapshot_view{std::move(obj), std::move(*meta), std::move(*spec), std::move(*old)};
  }
  /// The object after a write that changed only its metadata (adopt,
  /// disown): spec and status stay as read.
  specs::status metadata_changed(json::value changed) {
    auto m = crds::object_meta::of(changed);
    if (!m.ok()) return m.err();
    obj = std::move(changed);
    meta = std::move(*m);
    return specs::done{};
  }
  bool retained() const { return spec.retain.value_or(false); }
  bool include_home() const { return spec.include_home.value_or(true); }
  bool detached() const { return old.detached.value_or(false); }
};

// The stopped instance a detached snapshot lives in (its volume: + "-home").
std::string holder_name(const snapshot_view& v) {
  auto name = v.meta.name.substr(0, 40);
  std::replace(name.begin(), name.end(), '.', '-');
  return "snap-" + name + "-" + v.meta.uid.substr(0, 8);
}

// Copies a retained snapshot out of its workspace's instance and home, which
// are about to go, into a holder instance and volume with the same snapshot
// name. Every step may be repeated (a pass that dies midway is retried).
specs::status detach(reconcile_context& ctx, const snapshot_view& v, typed::status& next) {
  auto snap = v.old.instance_snapshot.value_or("");
  auto holder = holder_name(v);
  std::map<std::string, std::string> owner{{runtime::owner_kind_key, "WorkspaceSnapshot"},
                                           {runtime::owner_name_key, v.meta.name},
                                           {runtime::owner_uid_key, v.meta.uid}};
  runtime::instance_spec spec;
  spec.name = holder;
  spec.config = owner;
  spec.source_snapshot = v.spec.workspace + "/" + snap;
  if (auto st = ctx.incus.create_instance(spec);
      !st.ok() && st.err().why != specs::reason::already_exists)
    return st;
  if (auto st = ctx.incus.create_snapshot(snapshot_of::instance, holder, snap); !st.ok()) return st;
  if (auto home = v.old.home_volume.value_or(""); !home.empty()) {
    auto copy = holder + "-home";
    if (auto st = ctx.incus.copy_volume(copy, home, snap, owner);
        !st.ok() && st.err().why != specs::reason::already_exists)
      return st;
    if (auto st = ctx.incus.create_snapshot(snapshot_of::volume, copy, snap); !st.ok()) return st;
    next.home_volume = copy;
  }
  next.instance = holder;
  next.detached = true;
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
  auto view = snapshot_view::of(obj);
  if (!view.ok()) return failed(view.err());
  const auto& v = *view;
  auto home = v.old.home_volume.value_or("");
  if (v.detached()) {
    // Its own holder instance and volume (their snapshots go with them).
    if (auto st = ctx.incus.delete_instance(v.old.instance.value_or(""));
        !st.ok() && st.err().why != specs::reason::not_found)
      return failed(st.err());
    if (!home.empty())
      if (auto st = ctx.incus.delete_volume(home); !st.ok()) return failed(st.err());
    return converged("torn down");
  }
  const auto& ws = v.spec.workspace;
  auto snap = incus_snapshot_name(v.meta.name);
  if (v.old.phase != typed::status_phase::Ready)
    if (auto st = thaw(ctx, ws); !st.ok()) return failed(st.err());
  if (auto st = ctx.incus.delete_snapshot(snapshot_of::instance, ws, snap); !st.ok())
    return failed(st.err());
  if (!home.empty())
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
  auto paused =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
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
             auto spec = typed::spec_of(s);
             return spec.ok() ? std::vector<std::string>{spec->workspace}
                              : std::vector<std::string>{};
           }}};
}

pass_result reconciler::finalize(reconcile_context& ctx, const json::value& obj) const {
  return teardown(ctx, obj);
}

namespace {

// Status with its Ready condition and phase, written; then `result`.
pass_result snapshot_status(reconcile_context& ctx, const snapshot_view& v, status_builder& status,
                            typed::status next, typed::status_phase phase, bool ok,
                            const std::string& reason, const std::string& message,
                            pass_result result) {
  status.condition("Ready", ok, reason, message);
  next.phase = phase;
  status.set_fields(write_value(next));
  if (auto st = status.write(ctx, v.obj); !st.ok()) return failed(st.err());
  return result;
}

// A snapshot is taken once and kept; a retained one is copied out when its
// workspace goes (spec.retain).
pass_result keep_taken(reconcile_context& ctx, const snapshot_view& v, status_builder& status,
                       const specs::result<json::value>& ws) {
  const auto& ws_name = v.spec.workspace;
  bool going = !ws.ok() || being_deleted(*ws);
  if (v.detached() || !v.retained() || !going) return converged();
  using enum typed::status_phase;
  if (!ws.ok())
    return snapshot_status(ctx, v, status, {}, Failed, false, "Lost",
                           "workspace \"" + ws_name + "\" went before this snapshot was copied out",
                           terminal("lost"));
  typed::status next;
  if (auto st = detach(ctx, v, next); !st.ok())
    return snapshot_status(ctx, v, status, {}, Ready, true, "DetachFailed",
                           "copying out: " + st.err().message, failed(st.err()));
  ctx.events.record(v.obj, "Normal", "Detached",
                    "workspace " + ws_name + " is being deleted; the snapshot was copied to " +
                        holder_name(v) + " and is kept (spec.retain)");
  return snapshot_status(ctx, v, status, next, Ready, true, "Detached",
                         "kept after its workspace: in instance " + holder_name(v), converged());
}

// A retained snapshot outlives its workspace: no ownerReference to it.
specs::result<json::value> disown(reconcile_context& ctx, const snapshot_view& v,
                                  const specs::result<json::value>& ws) {
  if (!v.retained() || !ws.ok()) return v.obj;
  auto ws_meta = crds::object_meta::of(*ws);
  if (!ws_meta.ok() || !owned_by_uid(v.obj, ws_meta->uid)) return v.obj;
  json::value patch = {{"metadata", {{"ownerReferences", json::array{}}}}};
  auto r = ctx.store.merge_patch("WorkspaceSnapshot", v.meta.name, patch, controller_write);
  if (!r.ok()) return r.err();
  return std::move(r->object);
}

// Freezes the workspace, takes the snapshots, thaws it, and reports.
pass_result take_now(reconcile_context& ctx, const snapshot_view& v, status_builder& status,
                     const ws_typed::status& ws_status) {
  using enum typed::status_phase;
  const auto& ws_name = v.spec.workspace;
  std::string home;
  if (v.include_home() && ws_status.home) home = ws_status.home->volume.value_or("");
  auto snap = incus_snapshot_name(v.meta.name);
  auto paused = take(ctx, ws_name, home, snap);
  if (!paused.ok())
    return snapshot_status(ctx, v, status, {}, Failed, false, "SnapshotFailed",
                           paused.err().message, failed(paused.err()));
  typed::status next;
  next.taken_at = specs::format_rfc3339(ctx.clock.now());
  next.instance_snapshot = snap;
  next.home_volume = home;
  next.home_snapshot = home.empty() ? std::string() : snap;
  next.pause_milliseconds = *paused;
  if (auto size = ctx.incus.snapshot_size(ws_name, snap); size.ok() && *size)
    next.instance_snapshot_bytes = static_cast<std::int64_t>(**size);
  ctx.events.record(v.obj, "Normal", "SnapshotTaken",
                    "snapshot " + snap + " of workspace " + ws_name +
                        (home.empty() ? "" : " and its home " + home) + " (paused " +
                        std::to_string(*paused) + " ms)");
  return snapshot_status(
      ctx, v, status, next, Ready, true, "Taken",
      "instance" + std::string(home.empty() ? "" : " and home") + " snapshot " + snap, converged());
}

}  // namespace

pass_result reconciler::reconcile(reconcile_context& ctx, json::value obj) const {
  auto view = snapshot_view::of(std::move(obj));
  if (!view.ok()) return failed(view.err());
  const auto& ws_name = view->spec.workspace;
  auto ws = ctx.store.get("Workspace", ws_name);
  if (!ws.ok() && ws.err().why != specs::reason::not_found) return failed(ws.err());
  auto adopted = adopt(ctx, std::move(view->obj), ws.ok() && !view->retained() ? &*ws : nullptr);
  if (auto* r = std::get_if<pass_result>(&adopted)) return *r;
  if (auto st = view->metadata_changed(std::move(std::get<json::value>(adopted))); !st.ok())
    return failed(st.err());
  auto disowned = disown(ctx, *view, ws);
  if (!disowned.ok()) return failed(disowned.err());
  if (auto st = view->metadata_changed(std::move(*disowned)); !st.ok()) return failed(st.err());
  const auto& v = *view;

  status_builder status(v.obj, ctx.clock, {"Ready"});
  using enum typed::status_phase;
  auto report = [&](typed::status_phase phase, const std::string& reason,
                    const std::string& message, pass_result result) {
    return snapshot_status(ctx, v, status, {}, phase, false, reason, message, std::move(result));
  };
  if (v.old.phase == Ready) return keep_taken(ctx, v, status, ws);
  if (!ws.ok())
    return report(Failed, "WorkspaceNotFound", "workspace \"" + ws_name + "\" does not exist",
                  terminal("no workspace " + ws_name));
  if (being_deleted(*ws))
    return report(Failed, "WorkspaceTerminating", "workspace \"" + ws_name + "\" is being deleted",
                  terminal("workspace going"));
  auto ws_status = ws_typed::status_of(*ws);
  if (!ws_status.ok()) return failed(ws_status.err());
  auto phase = ws_status->phase.value_or(ws_typed::status_phase::Pending);
  if (phase == ws_typed::status_phase::Pending || phase == ws_typed::status_phase::Provisioning)
    return report(Pending, "WorkspaceNotReady",
                  "waiting for workspace \"" + ws_name + "\" to be made",
                  converged("the workspace's changes poke this snapshot"));
  return take_now(ctx, v, status, *ws_status);
}

}  // namespace rockpool::actors::workspace_snapshot
