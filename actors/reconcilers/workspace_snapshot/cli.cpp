// WorkspaceSnapshot's rpctl command: rpctl restore [workspacesnapshot/]NAME
// [--wait] sets the snapshot's workspace's spec.restore (a new id) and, with
// --wait, waits until the controller has done it (status.restored.id). Linked
// by rpctl only (rockpool_kind_cli).
#include "rockpool/cli/cli.hpp"
#include "rockpool/crds/types.hpp"

#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

namespace rockpool::actors::workspace_snapshot {

namespace json = boost::json;
using namespace cli;
namespace ws_typed = crds::workspace;

namespace {

constexpr const char* kind = "WorkspaceSnapshot";

struct restore_flags {
  std::string target;
  bool wait = false;
  std::string timeout = "5m";
};

int cmd_restore(context& c, const restore_flags& f) {
  const auto& snapshots = *specs::find_kind(kind);
  auto slash = f.target.find('/');
  if (slash != std::string::npos && specs::find_kind(f.target.substr(0, slash)) != &snapshots) {
    c.err << "error: restore takes workspacesnapshot/NAME, got \"" << f.target << "\"\n";
    return 2;
  }
  auto name = slash == std::string::npos ? f.target : f.target.substr(slash + 1);
  auto snap = fetch(c, snapshots, name);
  if (!snap.ok()) {
    c.err << "error: " << snap.err().message << "\n";
    return 1;
  }
  auto spec = crds::workspace_snapshot::spec_of(*snap);
  if (!spec.ok()) {
    c.err << "error: malformed WorkspaceSnapshot from the server: " << spec.err().message << "\n";
    return 1;
  }
  const auto& workspace = spec->workspace;
  const auto& workspaces = *specs::find_kind("Workspace");
  auto id = request_token();
  auto written = merge_patch(c, workspaces, workspace,
                             {{"spec", {{"restore", {{"snapshot", name}, {"id", id}}}}}});
  if (!written) return 1;
  c.out << "workspace." << specs::api_group << "/" << workspace << " restore from " << name
        << " requested\n";
  if (!f.wait) return 0;
  auto done = wait_until(c, workspaces, workspace, *written, parse_duration(f.timeout),
                         [&](const json::value& ws) {
                           auto st = ws_typed::status_of(ws);
                           return st.ok() && st->restored && st->restored->id == id &&
                                  st->phase != ws_typed::status_phase::Provisioning;
                         });
  if (!done) {
    c.err << "error: timed out waiting for workspace/" << workspace << " to restore\n";
    return 1;
  }
  auto st = ws_typed::status_of(*done);  // it read in wait_until
  const auto& restored = *st->restored;
  bool ok = restored.result == ws_typed::status_restored_result::Restored;
  (ok ? c.out : c.err) << "workspace/" << workspace << ": " << restored.message.value_or("")
                       << " (phase "
                       << to_string(st->phase.value_or(ws_typed::status_phase::Pending)) << ")\n";
  return ok ? 0 : 1;
}

command define_restore(CLI::App& app) {
  auto f = std::make_shared<restore_flags>();
  auto* sub = app.add_subcommand(
      "restore", "Bring a workspace back to a snapshot of it (its instance and home)");
  sub->add_option("SNAPSHOT", f->target, "workspacesnapshot/NAME, or NAME")->required();
  sub->add_flag("--wait", f->wait, "Wait until it is restored and running again (exit 1 if not)");
  sub->add_option("--timeout", f->timeout, "How long --wait waits")
      ->check(duration_check())
      ->capture_default_str();
  return {sub, [f](context& c) { return cmd_restore(c, *f); }};
}

}  // namespace

cli::kind_commands commands() {
  return {kind, {define_restore}, {}};
}

}  // namespace rockpool::actors::workspace_snapshot
