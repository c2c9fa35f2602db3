// The Workspace reconciler: settings → image → instance →
// restore → power state (self-healing) → upstream → route → status.
#include "workspace/reconciler.hpp"
#include "workspace/workspace.hpp"

namespace rockpool::actors::workspace {

using namespace common;

pass::pass(reconcile_context& ctx, json::value obj)
    : ctx_(ctx), obj_(std::move(obj)), status_(obj_, ctx.clock, condition_order()) {
  // Only the controller writes status, through a path that checks it against
  // the schema; one that still does not read is started afresh.
  if (auto old = typed::status_of(obj_); old.ok()) old_ = std::move(*old);
  next_ = old_;
}

specs::status pass::write_status() {
  status_.replace_fields(write_value(next_));
  return status_.write(ctx_, obj_);
}

status_builder pass::announcing(typed::status fields, typed::status_phase phase) const {
  status_builder b(obj_, ctx_.clock, condition_order());
  fields.phase = phase;
  b.set_fields(write_value(fields));
  return b;
}

pass_result pass::fail(const std::string& reason, const std::string& message, pass_result result) {
  status_.condition("InstanceReady", false, reason, message);
  status_.condition("RouteReady", false, "InstanceNotReady", "the instance is not ready");
  status_.condition("IDEReady", false, "InstanceNotReady", "the instance is not ready");
  status_.condition("Ready", false, reason, message);
  next_.phase = result.what == outcome::terminal ? typed::status_phase::Failed
                                                 : typed::status_phase::Provisioning;
  if (auto st = write_status(); !st.ok()) return failed(st.err());
  return result;
}

pass_result pass::run() {
  auto resolved = resolve(ctx_.store, obj_);
  if (!resolved.ok())
    return fail("TemplateNotFound", resolved.err().message, terminal(resolved.err().message));
  s_ = std::move(*resolved);
  if (auto r = check_image()) return *r;
  if (auto r = choose_network()) return *r;
  read_restart_history();
  if (auto r = observe_instance()) return *r;
  if (auto r = decide_sleep()) return *r;
  if (auto r = resolve_source()) return *r;
  if (auto r = ensure_home()) return *r;
  if (auto r = ensure_restored()) return *r;
  if (auto r = take_scheduled_snapshots()) return *r;
  if (auto r = ensure_instance()) return *r;
  if (auto r = converge_power_state()) return *r;
  report_config_gap();
  end_quiet_crash_loop();
  if (s_.state != "Running") return with_idle_check(report_stopped());
  if (asleep_) return report_sleeping();
  std::string upstream;
  if (auto r = ensure_upstream(upstream)) return *r;
  return with_idle_check(report_routed(upstream));
}

pass_result pass::report_stopped() {
  if (auto st = ctx_.routes.remove(route_id(s_.name)); !st.ok()) return failed(st.err());
  status_.condition("InstanceReady", true, "Stopped", "the instance is stopped, as requested");
  status_.condition("RouteReady", false, "WorkspaceStopped", "the workspace is stopped");
  status_.condition("IDEReady", false, "WorkspaceStopped", "the workspace is stopped");
  status_.condition("Ready", false, "Stopped", "the workspace is stopped");
  next_.phase = typed::status_phase::Stopped;
  next_.instance_state = typed::status_instance_state::Stopped;
  next_.url.reset();
  if (auto st = write_status(); !st.ok()) return failed(st.err());
  return converged();
}

// IDEReady from what the IDE's /healthz answered through the route:
// code-server answers {"status":"alive"|"expired","lastHeartbeat":N} (expired
// while no browser is connected); any other HTTP answer means the image runs
// something else on the IDE port (rockpool-tiny's page), which is reported,
// not failed.
void pass::report_ide(const runtime::probe_answer& a) {
  auto what = "the IDE port " + std::to_string(s_.ide_port);
  if (!a.answered()) {
    status_.condition("IDEReady", false, "IDENotAnswering", what + " does not answer yet");
  } else if (a.status == 200 && a.body.find("\"lastHeartbeat\"") != std::string::npos) {
    status_.condition("IDEReady", true, "CodeServerAnswers", "code-server answers /healthz");
  } else {
    status_.condition("IDEReady", true, "HTTPAnswered",
                      what + " answers HTTP " + std::to_string(a.status) +
                          " at /healthz (no code-server in this image)");
  }
}

pass_result pass::report_routed(const std::string& upstream) {
  auto prefix = "/workspace/" + s_.name + "/";
  runtime::route r{route_id(s_.name), prefix, upstream};
  if (auto st = ctx_.routes.upsert(r); !st.ok())
    return fail("RouteFailed", st.err().message, failed(st.err()));
  auto probed = ctx_.routes.probe(r, "healthz");
  auto answer = probed.ok() ? *probed : runtime::probe_answer{};
  bool ok = answer.answered();
  status_.condition("InstanceReady", true, "Running", "the instance is running");
  status_.condition("RouteReady", ok, ok ? "Routed" : "RouteNotAnswering",
                    prefix + (ok ? " answers" : " does not answer yet"));
  report_ide(answer);
  status_.condition("Ready", ok, ok ? "Ready" : "RouteNotAnswering",
                    ok ? "the workspace is ready" : "waiting for the IDE to answer through " + prefix);
  next_.phase = ok ? typed::status_phase::Running : typed::status_phase::Provisioning;
  next_.instance_state = typed::status_instance_state::Running;
  next_.upstream = upstream;
  next_.url = prefix;
  if (auto st = write_status(); !st.ok()) return failed(st.err());
  if (!ok) return requeue("waiting for the route to answer", short_wait);
  return converged();
}

std::vector<std::string> reconciler::owns() const {
  return {"PortRoute"};
}

std::vector<watch_rule> reconciler::watches() const {
  // A template's change reaches the workspaces made from it at once.
  return {{"WorkspaceTemplate", [](const json::value& ws) {
             auto spec = typed::spec_of(ws);
             auto t = spec.ok() ? spec->template_.value_or("") : std::string();
             return t.empty() ? std::vector<std::string>{} : std::vector<std::string>{t};
           }}};
}

pass_result reconciler::reconcile(reconcile_context& ctx, json::value obj) const {
  return pass(ctx, std::move(obj)).run();
}

}  // namespace rockpool::actors::workspace
