// Self-healing: an instance that stopped or vanished behind the controller's
// back is started or recreated at once, counted in status.restarts, and a
// crash loop backs off (at once, then 1 s, 2 s, 4 s ... up to 5 min).
#include "workspace/workspace.hpp"

#include <algorithm>

namespace rockpool::actors::workspace {

using namespace common;

namespace {

std::chrono::seconds restart_backoff(std::int64_t consecutive) {
  if (consecutive <= 0) return std::chrono::seconds(0);
  return std::chrono::seconds(
      std::min<std::int64_t>(300, std::int64_t{1} << std::min<std::int64_t>(consecutive - 1, 9)));
}

}  // namespace

void pass::read_restart_history() {
  restarts_ = old_.restarts.value_or(0);
  consecutive_ = old_.consecutive_restarts.value_or(0);
  had_instance_ = !old_.instance.value_or("").empty();
  last_restart_ = specs::parse_rfc3339(old_.last_restart_time.value_or(""));
  now_ = ctx_.clock.now();
}

// The instance was last seen running, or we were backing off restarting it: a
// crash, not a first start. status.instanceState is only written from a
// successful observation, so a pass that failed to reach Incus in between
// (Incus answers errors while an instance is stopping) does not hide the
// crash. (Statuses from before that field: InstanceReady/Running.)
bool pass::crashed() const {
  if (created_now_ || stopped_to_restore_) return false;
  bool was_running = old_.instance_state
                         ? *old_.instance_state == typed::status_instance_state::Running
                         : last_reason(status_.old(), "InstanceReady") == "Running";
  return was_running || last_reason(status_.old(), "Ready") == "CrashLoopBackOff";
}

pass::step pass::wait_out_crash_loop() {
  auto wait = restart_backoff(consecutive_) - (now_ - last_restart_);
  if (wait <= std::chrono::seconds(0)) return std::nullopt;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait);
  return fail("CrashLoopBackOff",
              "restarted " + std::to_string(consecutive_) + " times in a row; next try in " +
                  std::to_string(ms.count()) + " ms",
              requeue("crash loop back-off", ms));
}

void pass::record_restart(const std::string& reason, const std::string& message) {
  restarted_now_ = true;
  ++restarts_;
  ++consecutive_;
  next_.restarts = restarts_;
  next_.consecutive_restarts = consecutive_;
  next_.last_restart_time = specs::format_rfc3339(now_);
  // Counted once, even if this start fails.
  next_.instance_state = typed::status_instance_state::Starting;
  ctx_.events.record(obj_, "Warning", reason, message);
  // Say so before the (slow) restart: readers must not see Ready=True or an
  // old restart count while the instance is down. Best effort: the pass's
  // own status write carries the same fields.
  typed::status fields;
  fields.restarts = next_.restarts;
  fields.consecutive_restarts = next_.consecutive_restarts;
  fields.last_restart_time = next_.last_restart_time;
  fields.instance_state = next_.instance_state;
  auto restarting = announcing(std::move(fields), typed::status_phase::Provisioning);
  restarting.condition("InstanceReady", false, reason, message);
  restarting.condition("RouteReady", false, "InstanceNotReady", "the instance is not ready");
  restarting.condition("IDEReady", false, "InstanceNotReady", "the instance is not ready");
  restarting.condition("Ready", false, reason, message);
  if (auto st = restarting.write(ctx_, obj_); !st.ok())
    ctx_.events.record(obj_, "Warning", "StatusWriteFailed", st.err().message);
}

pass::step pass::converge_power_state() {
  bool want_running = s_.state == "Running" && !asleep_;
  if (!running_)
    if (auto r = apply_changes_while_stopped()) return r;
  if (want_running && !running_) {
    if (crashed()) {
      if (auto wait = wait_out_crash_loop()) return wait;
      record_restart("InstanceCrashed",
                     "instance " + s_.name + " stopped behind the controller's back; starting it");
    }
    if (auto st = ctx_.incus.start_instance(s_.name); !st.ok()) {
      if (auto moved = on_port_taken(st.err())) return moved;
      return fail("StartFailed", st.err().message, failed(st.err()));
    }
    running_ = true;
  } else if (!want_running && running_) {
    if (auto st = ctx_.incus.stop_instance(s_.name); !st.ok())
      return fail("StopFailed", st.err().message, failed(st.err()));
    running_ = false;
    if (!asleep_)
      ctx_.events.record(obj_, "Normal", "InstanceStopped", "stopped instance " + s_.name);
    if (auto r = apply_changes_while_stopped()) return r;
  }
  return std::nullopt;
}

// Five quiet minutes since the last restart end a crash loop.
void pass::end_quiet_crash_loop() {
  if (running_ && !restarted_now_ && consecutive_ > 0 &&
      now_ - last_restart_ > std::chrono::minutes(5))
    next_.consecutive_restarts = 0;
}

}  // namespace rockpool::actors::workspace
