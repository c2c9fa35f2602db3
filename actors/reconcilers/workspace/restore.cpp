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
using specs::string_at;

namespace {

// Why a snapshot cannot be restored into this workspace, or "".
std::string unusable(const json::value& snap, const std::string& workspace,
                     const std::string& home) {
  auto name = string_at(snap, "metadata.name");
  if (string_at(snap, "spec.workspace") != workspace)
    return "workspacesnapshot/" + name + " is of workspace \"" +
           string_at(snap, "spec.workspace") + "\", not this one";
  if (string_at(snap, "status.phase") != "Ready")
    return "workspacesnapshot/" + name + " has not been taken (phase " +
           string_at(snap, "status.phase") + ")";
  auto snap_home = string_at(snap, "status.homeVolume");
  if (!snap_home.empty() && snap_home != home)
    return "workspacesnapshot/" + name + " is of home volume " + snap_home +
           ", and this workspace's home is now " + home;
  return {};
}

}  // namespace

pass::step pass::ensure_restored() {
  const auto* want = specs::find_path(obj_, "spec.restore");
  if (want == nullptr || !want->is_object()) return std::nullopt;
  auto snapshot = string_at(*want, "snapshot");
  auto id = string_at(*want, "id");
  auto old = status_.old_value();
  if (string_at(old, "restored.id") == id && string_at(old, "restored.snapshot") == snapshot)
    return std::nullopt;
  auto record = [&](bool ok, const std::string& reason, const std::string& message) -> step {
    status_["restored"] = {{"snapshot", snapshot},
                           {"id", id},
                           {"time", specs::format_rfc3339(ctx_.clock.now())},
                           {"result", ok ? "Restored" : "Failed"},
                           {"message", message}};
    ctx_.events.record(obj_, ok ? "Normal" : "Warning", reason, message);
    // Written now: a later failure in this pass must not restore again.
    status_builder restored(obj_, ctx_.clock, condition_order());
    restored["restored"] = status_["restored"];
    restored["instanceState"] = "Stopped";
    restored.condition("Ready", false, reason, message);
    restored["phase"] = "Provisioning";
    if (auto st = restored.write(ctx_, obj_); !st.ok())
      return fail("StatusWriteFailed", st.err().message, failed(st.err()));
    return std::nullopt;
  };
  auto snap = ctx_.store.get("WorkspaceSnapshot", snapshot);
  if (!snap.ok() && snap.err().why != specs::reason::not_found)
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
  if (st.ok() && !string_at(*snap, "status.homeSnapshot").empty())
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
                    string_at(*snap, "status.takenAt") + ")");
}

// spec.source.snapshot, before the workspace has ever had an instance: the
// instance and home start as copies of that WorkspaceSnapshot (a clone).
// Later passes (and a re-created instance) ignore it, as fromVolume.
pass::step pass::resolve_source() {
  if (s_.source_snapshot.empty() || had_instance_ || inst_) return std::nullopt;
  auto snap = ctx_.store.get("WorkspaceSnapshot", s_.source_snapshot);
  if (!snap.ok()) {
    if (snap.err().why != specs::reason::not_found)
      return fail("SourceUnavailable", snap.err().message, failed(snap.err()));
    auto m = "spec.source.snapshot: no workspacesnapshot/" + s_.source_snapshot;
    return fail("SourceNotFound", m, terminal(m));
  }
  if (string_at(*snap, "status.phase") != "Ready")
    return fail("SourceNotReady",
                "waiting for workspacesnapshot/" + s_.source_snapshot + " to be taken",
                requeue("source snapshot not taken yet", std::chrono::seconds(2)));
  auto name = string_at(*snap, "status.instanceSnapshot");
  // A detached snapshot (retained after its workspace) lives in an instance of its own.
  auto holder = string_at(*snap, "status.instance");
  clone_instance_ = (holder.empty() ? string_at(*snap, "spec.workspace") : holder) + "/" + name;
  if (!string_at(*snap, "status.homeSnapshot").empty()) {
    clone_volume_ = string_at(*snap, "status.homeVolume");
    clone_snapshot_ = name;
  }
  return std::nullopt;
}

}  // namespace rockpool::actors::workspace
