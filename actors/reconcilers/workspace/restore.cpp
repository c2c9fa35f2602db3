// spec.restore: the workspace back to one of its WorkspaceSnapshots, once per
// id. The instance is stopped, its root disk and the home volume restored,
// and status.restored written at once; the rest of the pass starts it again
// as spec.state says. A pass that dies before that write restores again from
// the start (restoring twice gives the same state), so no half-restored home
// is ever left running.
#include "workspace/workspace.hpp"
#include "workspace_snapshot/reconciler.hpp"

#include "rockpool/specs/clock.hpp"

namespace rockpool::actors::workspace {

using namespace common;
using runtime::snapshot_of;
namespace snap_typed = crds::workspace_snapshot;

namespace {

// A WorkspaceSnapshot as the workspace reads it.
struct snapshot_view {
  std::string name;
  snap_typed::spec spec;
  snap_typed::status status;

  static specs::result<snapshot_view> of(const json::value& snap, const std::string& name) {
    auto spec = snap_typed::spec_of(snap);
    if (!spec.ok()) return spec.err();
    auto status = snap_typed::status_of(snap);
    if (!status.ok()) return status.err();
    return snapshot_view{name, std::move(*spec), std::move(*status)};
  }
  bool taken() const { return status.phase == snap_typed::status_phase::Ready; }
  bool has_home() const { return !status.home_snapshot.value_or("").empty(); }
};

// Why a snapshot cannot be restored into this workspace, or "".
std::string unusable(const snapshot_view& snap, const std::string& workspace,
                     const std::string& home) {
  const auto& name = snap.name;
  if (snap.spec.workspace != workspace)
    return "workspacesnapshot/" + name + " is of workspace \"" + snap.spec.workspace +
           "\", not this one";
  if (!snap.taken())
    return "workspacesnapshot/" + name + " has not been taken (phase " +
           std::string(to_string(snap.status.phase.value_or(snap_typed::status_phase::Pending))) +
           ")";
  auto snap_home = snap.status.home_volume.value_or("");
  if (!snap_home.empty() && snap_home != home)
    return "workspacesnapshot/" + name + " is of home volume " + snap_home +
           ", and this workspace's home is now " + home;
  return {};
}

}  // namespace

pass::step pass::ensure_restored() {
  if (!s_.restore) return std::nullopt;
  const auto& [snapshot, id] = *s_.restore;
  if (old_.restored && old_.restored->id == id && old_.restored->snapshot == snapshot)
    return std::nullopt;
  auto record = [&](bool ok, const std::string& reason, const std::string& message) -> step {
    next_.restored = typed::status_restored{
        snapshot, id, specs::format_rfc3339(ctx_.clock.now()),
        ok ? typed::status_restored_result::Restored : typed::status_restored_result::Failed,
        message};
    ctx_.events.record(obj_, ok ? "Normal" : "Warning", reason, message);
    // Written now: a later failure in this pass must not restore again.
    typed::status fields;
    fields.restored = next_.restored;
    fields.instance_state = typed::status_instance_state::Stopped;
    auto restored = announcing(std::move(fields), typed::status_phase::Provisioning);
    restored.condition("Ready", false, reason, message);
    if (auto st = restored.write(ctx_, obj_); !st.ok())
      return fail("StatusWriteFailed", st.err().message, failed(st.err()));
    return std::nullopt;
  };
  auto got_snap = ctx_.store.get("WorkspaceSnapshot", snapshot);
  if (!got_snap.ok() && got_snap.err().why != specs::reason::not_found)
    return fail("RestoreFailed", got_snap.err().message, failed(got_snap.err()));
  auto snap = got_snap.ok() ? snapshot_view::of(*got_snap, snapshot) : got_snap.err();
  if (got_snap.ok() && !snap.ok())
    return fail("RestoreFailed", snap.err().message, failed(snap.err()));
  std::string why = !snap.ok()    ? "no workspacesnapshot/" + snapshot
                    : !inst_      ? "the instance does not exist yet"
                                  : unusable(*snap, s_.name, home_);
  if (!why.empty()) return record(false, "RestoreFailed", "cannot restore: " + why);
  if (running_ || inst_->status == "Running" || inst_->status == "Frozen") {
    if (auto st = ctx_.incus.stop_instance(s_.name); !st.ok())
      return fail("StopFailed", st.err().message, failed(st.err()));
    running_ = false;
  }
  stopped_to_restore_ = true;
  auto name = workspace_snapshot::incus_snapshot_name(snapshot);
  auto st = ctx_.incus.restore_snapshot(snapshot_of::instance, s_.name, name);
  if (st.ok() && snap->has_home())
    st = ctx_.incus.restore_snapshot(snapshot_of::volume, home_, name);
  if (!st.ok()) {
    // The instance was re-created since (its snapshots went with the old one),
    // or a snapshot was removed behind Rockpool's back: say so, once.
    if (st.err().why != specs::reason::not_found)
      return fail("RestoreFailed", st.err().message, failed(st.err()));
    return record(false, "RestoreFailed", "cannot restore: " + st.err().message);
  }
  // The restored instance has the configuration it had then: look again.
  auto got = ctx_.incus.get_instance(s_.name);
  if (!got.ok()) return fail("IncusUnavailable", got.err().message, failed(got.err()));
  inst_ = std::move(*got);
  return record(true, "Restored",
                "restored workspacesnapshot/" + snapshot + " (taken " +
                    snap->status.taken_at.value_or("") + ")");
}

// spec.source.snapshot, before the workspace has ever had an instance: the
// instance and home start as copies of that WorkspaceSnapshot (a clone).
// Later passes (and a re-created instance) ignore it, as fromVolume.
pass::step pass::resolve_source() {
  if (s_.source_snapshot.empty() || had_instance_ || inst_) return std::nullopt;
  auto got = ctx_.store.get("WorkspaceSnapshot", s_.source_snapshot);
  if (!got.ok()) {
    if (got.err().why != specs::reason::not_found)
      return fail("SourceUnavailable", got.err().message, failed(got.err()));
    auto m = "spec.source.snapshot: no workspacesnapshot/" + s_.source_snapshot;
    return fail("SourceNotFound", m, terminal(m));
  }
  auto snap = snapshot_view::of(*got, s_.source_snapshot);
  if (!snap.ok()) return fail("SourceUnavailable", snap.err().message, failed(snap.err()));
  if (!snap->taken())
    return fail("SourceNotReady",
                "waiting for workspacesnapshot/" + s_.source_snapshot + " to be taken",
                requeue("source snapshot not taken yet", std::chrono::seconds(2)));
  auto name = snap->status.instance_snapshot.value_or("");
  // A detached snapshot (retained after its workspace) lives in an instance of its own.
  auto holder = snap->status.instance.value_or("");
  clone_instance_ = (holder.empty() ? snap->spec.workspace : holder) + "/" + name;
  if (snap->has_home()) {
    clone_volume_ = snap->status.home_volume.value_or("");
    clone_snapshot_ = name;
  }
  return std::nullopt;
}

}  // namespace rockpool::actors::workspace
