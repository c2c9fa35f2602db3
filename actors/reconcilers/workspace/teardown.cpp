// Deleting a workspace: foreground deletion of its port routes, then its
// route, its instance (only if Rockpool made it), its host port and its
// bridge address (reconciler::finalize).
#include "common/ownership.hpp"
#include "workspace/reconciler.hpp"
#include "workspace/workspace.hpp"

namespace rockpool::actors::workspace {

using namespace common;
using specs::string_at;

namespace {

// Asks every port route owned by obj to go; returns how many are still there.
specs::result<int> remove_owned_port_routes(reconcile_context& ctx, const std::string& uid) {
  auto routes = ctx.store.list("PortRoute");
  if (!routes.ok()) return routes.err();
  int waiting = 0;
  for (const auto& pr : routes->items) {
    if (!owned_by_uid(pr, uid)) continue;
    ++waiting;
    if (!being_deleted(pr))
      if (auto st = ctx.store.remove("PortRoute", string_at(pr, "metadata.name"), std::nullopt,
                                     controller_write);
          !st.ok() && st.err().why != specs::reason::not_found)
        return st.err();
  }
  return waiting;
}

// The home volume goes with the workspace, or is kept for adoption
// (spec.home.retain). Only a volume that records this workspace's uid is
// touched: never one another workspace uses or adopted.
specs::status release_home(reconcile_context& ctx, const json::value& obj,
                           const crds::object_meta& meta, const typed::status& status) {
  const auto& uid = meta.uid;
  auto volume = status.home ? status.home->volume.value_or("") : std::string();
  if (volume.empty()) volume = home_volume(meta.name, uid);
  auto got = ctx.incus.get_volume(volume);
  if (!got.ok()) return got.err();
  if (!*got) return specs::done{};
  auto owner = (*got)->config.find(runtime::volume_owner_uid_key);
  if (owner == (*got)->config.end() || owner->second != uid) return specs::done{};
  if (status.home && status.home->retain.value_or(false)) {
    if (auto st = ctx.incus.update_volume(volume, {{runtime::volume_owner_uid_key, ""},
                                                   {runtime::volume_retained_key, "true"}});
        !st.ok())
      return st;
    ctx.events.record(obj, "Normal", "HomeRetained",
                      "kept home volume " + volume +
                          "; a new workspace adopts it with spec.home.fromVolume: " + volume);
    return specs::done{};
  }
  if (auto st = ctx.incus.delete_volume(volume); !st.ok()) return st;
  ctx.events.record(obj, "Normal", "HomeDeleted", "deleted home volume " + volume);
  return specs::done{};
}

// Retained snapshots of this workspace (spec.retain) that are still to be
// copied out of its instance and home before they go.
specs::result<int> retained_snapshots_to_copy(reconcile_context& ctx, const std::string& name) {
  namespace snap = crds::workspace_snapshot;
  auto snaps = ctx.store.list("WorkspaceSnapshot");
  if (!snaps.ok()) return snaps.err();
  int waiting = 0;
  for (const auto& s : snaps->items) {
    auto spec = snap::spec_of(s);
    auto status = snap::status_of(s);
    if (spec.ok() && status.ok() && spec->workspace == name && spec->retain.value_or(false) &&
        status->phase == snap::status_phase::Ready && !status->detached.value_or(false) &&
        !being_deleted(s))
      ++waiting;
  }
  return waiting;
}

}  // namespace

pass_result reconciler::finalize(reconcile_context& ctx, const json::value& obj) const {
  auto meta = crds::object_meta::of(obj);
  if (!meta.ok()) return failed(meta.err());
  auto status = typed::status_of(obj);
  if (!status.ok()) return failed(status.err());
  const auto& name = meta->name;
  auto waiting = remove_owned_port_routes(ctx, meta->uid);
  if (!waiting.ok()) return failed(waiting.err());
  if (*waiting > 0)
    return requeue("waiting for " + std::to_string(*waiting) + " owned port route(s) to go",
                   short_wait);
  auto copying = retained_snapshots_to_copy(ctx, name);
  if (!copying.ok()) return failed(copying.err());
  if (*copying > 0)
    return requeue("waiting for " + std::to_string(*copying) +
                       " retained snapshot(s) to be copied out",
                   std::chrono::seconds(1));
  if (auto st = ctx.routes.remove(route_id(name)); !st.ok()) return failed(st.err());
  auto inst = ctx.incus.get_instance(name);
  if (!inst.ok()) return failed(inst.err());
  if (*inst && made_by_rockpool_for(**inst, obj)) {
    if (auto st = ctx.incus.delete_instance(name);
        !st.ok() && st.err().why != specs::reason::not_found)
      return failed("deleting instance", st.err());
    ctx.events.record(obj, "Normal", "InstanceDeleted", "deleted instance " + name);
  }
  if (auto st = release_home(ctx, obj, *meta, *status); !st.ok()) return failed("home volume", st.err());
  if (auto st = ctx.ports.release(ide_port_owner(name)); !st.ok()) return failed(st.err());
  if (ctx.bridge != nullptr)
    if (auto st = ctx.bridge->release(address_owner(name)); !st.ok())
      return failed(st.err());
  return converged("torn down");
}

}  // namespace rockpool::actors::workspace
