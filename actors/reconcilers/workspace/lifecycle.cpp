// Sleeping workspaces (issue 23): a workspace with spec.lifecycle.idleAfter
// sleeps after that long without activity (its instance stopped, its routes
// kept, spec untouched), and the first request through its routes, an exec
// or the UI's Open wakes it. Activity is what rockpoold sees: every request
// the workspace server's gateway lets through (it asks before each one),
// requests Caddy still has in flight to the workspace's upstreams (an open
// WebSocket is one until it closes), and open exec sessions.
#include "workspace/workspace.hpp"

#include "rockpool/specs/object_model.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace rockpool::actors {

using clock_point = std::chrono::system_clock::time_point;

void workspace_activity::touch(const std::string& workspace) {
  touch_at(workspace, clock_.now());
}

void workspace_activity::touch_at(const std::string& workspace, clock_point at) {
  std::lock_guard lk(mu_);
  auto& t = last_[workspace];
  t = std::max(t, at);
}

std::map<std::string, clock_point> workspace_activity::all() const {
  std::lock_guard lk(mu_);
  return last_;
}

std::optional<clock_point> workspace_activity::last(const std::string& workspace) const {
  std::lock_guard lk(mu_);
  auto it = last_.find(workspace);
  if (it == last_.end()) return std::nullopt;
  return it->second;
}

void workspace_activity::session_opened(const std::string& workspace) {
  touch(workspace);
  std::lock_guard lk(mu_);
  ++sessions_[workspace];
}

void workspace_activity::session_closed(const std::string& workspace) {
  touch(workspace);
  std::lock_guard lk(mu_);
  if (auto it = sessions_.find(workspace); it != sessions_.end() && --it->second <= 0)
    sessions_.erase(it);
}

int workspace_activity::open_sessions(const std::string& workspace) const {
  std::lock_guard lk(mu_);
  auto it = sessions_.find(workspace);
  return it == sessions_.end() ? 0 : it->second;
}

std::optional<std::chrono::seconds> parse_duration(const std::string& text) {
  if (text.empty() || text == "0") return std::chrono::seconds(0);
  std::int64_t total = 0, n = 0;
  bool digits = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      if (n > 100000000) return std::nullopt;
      n = n * 10 + (c - '0');
      digits = true;
      continue;
    }
    if (!digits) return std::nullopt;
    if (c == 'h')
      total += n * 3600;
    else if (c == 'm')
      total += n * 60;
    else if (c == 's')
      total += n;
    else
      return std::nullopt;
    n = 0;
    digits = false;
  }
  if (digits) return std::nullopt;  // a number without a unit
  return std::chrono::seconds(total);
}

namespace {

std::string format_seconds(std::chrono::seconds s) {
  auto n = s.count();
  if (n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + "s";
}

bool sleeping(const specs::json::value& ws) {
  auto status = crds::workspace::status_of(ws);
  return status.ok() && status->phase == crds::workspace::status_phase::Sleeping;
}

// /workspace/NAME/... -> NAME and, for /workspace/NAME/port/P/..., P.
std::pair<std::string, std::string> parse_workspace_uri(const std::string& uri) {
  constexpr std::string_view prefix = "/workspace/";
  if (uri.rfind(prefix, 0) != 0) return {};
  auto rest = uri.substr(prefix.size());
  auto slash = rest.find_first_of("/?");
  auto name = rest.substr(0, slash);
  std::string port;
  if (slash != std::string::npos && rest.compare(slash, 6, "/port/") == 0) {
    auto p = rest.substr(slash + 6);
    port = p.substr(0, p.find_first_of("/?"));
  }
  return {name, port};
}

// Whether what a request for (name, port) needs is up: the workspace
// Ready (the IDE answers), or its PortRoute for that port Ready.
bool serves(specs::object_store& store, const std::string& name, const std::string& port) {
  auto ws = store.get("Workspace", name);
  if (!ws.ok()) return true;  // gone: nothing to wait for
  auto status = crds::workspace::status_of(*ws);
  if (!status.ok() || status->phase != crds::workspace::status_phase::Running) return false;
  if (port.empty()) return common::condition_holds(*ws, "Ready");
  auto routes = store.list("PortRoute");
  if (!routes.ok()) return false;
  for (const auto& r : routes->items)
    if (auto spec = crds::port_route::spec_of(r);
        spec.ok() && spec->workspace == name && std::to_string(spec->port) == port)
      return common::condition_holds(r, "Ready");
  return common::condition_holds(*ws, "InstanceReady");  // no such route: Caddy answers
}

specs::status request_wake(specs::object_store& store, workspace_activity& activity,
                           const std::string& name) {
  specs::json::value patch = {
      {"metadata",
       {{"annotations", {{wake_annotation, specs::format_rfc3339(activity.clock().now())}}}}}};
  auto r = store.merge_patch("Workspace", name, patch, {false, "rockpool-wake"});
  if (!r.ok() && r.err().why != specs::reason::not_found) return r.err();
  return specs::done{};
}

// Waits (polling the store, bounded) until ready() holds.
template <class Ready>
bool wait_until(Ready ready, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ready()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace

specs::status wake_workspace(specs::object_store& store, workspace_activity& activity,
                             const std::string& name, std::chrono::milliseconds wait_timeout) {
  activity.touch(name);
  auto ws = store.get("Workspace", name);
  if (!ws.ok() || !sleeping(*ws)) return specs::done{};
  if (auto st = request_wake(store, activity, name); !st.ok()) return st;
  if (wait_timeout.count() <= 0) return specs::done{};
  bool up = wait_until(
      [&] {
        auto w = store.get("Workspace", name);
        if (!w.ok()) return true;
        auto status = crds::workspace::status_of(*w);
        return status.ok() && status->phase != crds::workspace::status_phase::Sleeping &&
               status->instance_state == crds::workspace::status_instance_state::Running;
      },
      wait_timeout);
  if (!up)
    return specs::make_error(specs::reason::unavailable,
                             "workspace " + name + " is still waking up; try again");
  return specs::done{};
}

void count_workspace_request(workspace_activity& activity, const std::string& uri) {
  if (auto name = parse_workspace_uri(uri).first; !name.empty()) activity.touch(name);
}

specs::status save_activity(const workspace_activity& activity, const std::string& file) {
  std::string text;
  for (const auto& [name, at] : activity.all())
    text += name + " " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count()) +
            "\n";
  auto tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return specs::make_error(specs::reason::unavailable, "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), file.c_str()) != 0)
    return specs::make_error(specs::reason::unavailable, "cannot write " + file);
  return specs::done{};
}

void load_activity(workspace_activity& activity, const std::string& file) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string name;
    long long seconds = 0;
    if (fields >> name >> seconds && seconds > 0)
      activity.touch_at(name, clock_point(std::chrono::seconds(seconds)));
  }
}

specs::status admit_workspace_request(specs::object_store& store, workspace_activity& activity,
                                      const std::string& uri, std::chrono::milliseconds timeout) {
  auto [name, port] = parse_workspace_uri(uri);
  if (name.empty()) return specs::done{};
  activity.touch(name);
  auto ws = store.get("Workspace", name);
  if (!ws.ok() || !sleeping(*ws)) return specs::done{};
  if (auto st = request_wake(store, activity, name); !st.ok()) return st;
  if (!wait_until([&] { return serves(store, name, port); }, timeout))
    return specs::make_error(specs::reason::unavailable,
                             "workspace " + name + " is waking up and did not answer within " +
                                 std::to_string(timeout.count() / 1000) + " s; try again");
  activity.touch(name);
  return specs::done{};
}

}  // namespace rockpool::actors

namespace rockpool::actors::workspace {

using namespace common;

// The latest scheduled start and stop since the schedule was last acted on
// (status.schedule.checkedAt; a workspace new to a schedule counts from now),
// and the next ones, for the status.
pass::fired pass::check_schedule() {
  fired f;
  if (s_.starts.empty() && s_.stops.empty()) {
    next_.schedule.reset();
    return f;
  }
  auto sched = old_.schedule.value_or(typed::status_schedule{});
  auto checked_text = sched.checked_at.value_or("");
  auto checked = checked_text.empty() ? now_ : specs::parse_rfc3339(checked_text);
  using list = std::vector<specs::cron_schedule>;
  auto latest = [&](const list& l) {
    std::optional<clock_point> last;
    for (const auto& c : l)
      if (auto t = c.last_in(checked, now_); t && (!last || *t > *last)) last = t;
    return last;
  };
  auto earliest = [&](const list& l) {
    std::optional<clock_point> next;
    for (const auto& c : l)
      if (auto t = c.next_after(now_); t && (!next || *t < *next)) next = t;
    return next;
  };
  f.start = latest(s_.starts);
  f.stop = latest(s_.stops);
  if (checked_text.empty() || f.start || f.stop) sched.checked_at = specs::format_rfc3339(now_);
  next_start_ = earliest(s_.starts);
  auto text = [](std::optional<clock_point> t) {
    return t ? std::optional<std::string>(specs::format_rfc3339(*t)) : std::nullopt;
  };
  sched.next_start = text(next_start_);
  sched.next_stop = text(earliest(s_.stops));
  next_.schedule = std::move(sched);
  return f;
}

// The next scheduled start, stop or snapshot.
std::optional<clock_point> pass::next_scheduled() const {
  std::optional<clock_point> next;
  auto consider = [&](const specs::cron_schedule& c) {
    if (auto t = c.next_after(now_); t && (!next || *t < *next)) next = t;
  };
  for (const auto* l : {&s_.starts, &s_.stops})
    for (const auto& c : *l) consider(c);
  if (s_.snapshots) consider(*s_.snapshots);
  return next;
}

// Whether the workspace is in use now: an open exec session, or requests
// Caddy has in flight to its upstreams (an open WebSocket is one). Moves the
// last activity to what the gateway saw, or to now when in use.
bool pass::in_use() {
  if (auto seen = ctx_.activity->last(s_.name)) last_activity_ = std::max(last_activity_, *seen);
  bool busy = ctx_.activity->open_sessions(s_.name) > 0;
  if (!busy) {
    std::vector<std::string> upstreams{old_.upstream.value_or("")};
    if (auto routes = ctx_.store.list("PortRoute"); routes.ok())
      for (const auto& r : routes->items) {
        // Every route's spec, but only this workspace's routes' status.
        auto spec = crds::port_route::spec_of(r);
        if (!spec.ok() || spec->workspace != s_.name) continue;
        if (auto status = crds::port_route::status_of(r); status.ok())
          upstreams.push_back(status->upstream.value_or(""));
      }
    if (auto flying = ctx_.routes.in_flight(); flying.ok())
      for (const auto& u : upstreams)
        if (!u.empty() && flying->count(u) && flying->at(u) > 0) busy = true;
  }
  if (busy) last_activity_ = now_;
  return busy;
}

// Whether this pass keeps (or puts) the workspace asleep: idle longer than
// idleAfter, or a scheduled stop (deferred while in use, up to stopGrace); a
// request, a wake or a scheduled start wakes it. Runs after the instance was
// observed (inst_ is what Incus says).
pass::step pass::decide_sleep() {
  auto noted = specs::parse_rfc3339(old_.last_activity_time.value_or(""));
  last_activity_ = std::max(noted, specs::parse_rfc3339(old_.awake_since.value_or("")));
  bool scheduled = !s_.starts.empty() || !s_.stops.empty();
  if (s_.state != "Running" || (s_.idle_after.count() == 0 && !scheduled) ||
      ctx_.activity == nullptr) {
    // Stopped is off, and neither idleAfter nor a schedule (or no activity
    // source) never sleeps: a workspace asleep when that changed wakes (or
    // stays stopped).
    next_.sleeping_since.reset();
    next_.sleep_reason.reset();
    if (s_.state != "Running") next_.schedule.reset();
    return std::nullopt;
  }
  auto due = check_schedule();
  bool stop_due = due.stop && (!due.start || *due.stop > *due.start);
  if (old_.phase == typed::status_phase::Sleeping)
    return stay_asleep_or_wake(due.start && !stop_due);
  if (!inst_ || inst_->status != "Running") {
    // Starting now (created, or woken): the idle clock starts.
    next_.awake_since = specs::format_rfc3339(now_);
    next_.last_activity_time = specs::format_rfc3339(now_);
    last_activity_ = now_;
    return std::nullopt;
  }
  if (!old_.awake_since) {
    next_.awake_since = specs::format_rfc3339(now_);
    last_activity_ = std::max(last_activity_, now_);
  }
  bool busy = in_use();
  // Refreshed once the last written time is a minute old: a busy workspace
  // is a status write a minute, not one per request.
  if ((last_activity_ > noted && now_ - noted >= std::chrono::minutes(1)) ||
      old_.last_activity_time.value_or("").empty())
    next_.last_activity_time = specs::format_rfc3339(last_activity_);
  if (stop_due) return scheduled_stop(due, busy);
  if (s_.idle_after.count() == 0 || now_ - last_activity_ < s_.idle_after) return std::nullopt;
  return fall_asleep(
      typed::status_sleep_reason::Idle,
      "no activity for " + format_seconds(s_.idle_after) + " (spec.lifecycle.idleAfter)");
}

// A sleeping workspace wakes on a scheduled start, a wake request after it
// fell asleep, or a request the gateway saw since; otherwise it stays asleep.
pass::step pass::stay_asleep_or_wake(bool start_due) {
  auto since = specs::parse_rfc3339(old_.sleeping_since.value_or(""));
  auto wake = specs::annotation(obj_, wake_annotation);
  auto seen = ctx_.activity->last(s_.name);
  bool woken = start_due || (!wake.empty() && specs::parse_rfc3339(wake) >= since) ||
               (seen && *seen > since);
  if (!woken) {
    asleep_ = true;
    sleep_reason_ = old_.sleep_reason.value_or(typed::status_sleep_reason::Idle);
    return std::nullopt;
  }
  if (start_due)
    ctx_.events.record(obj_, "Normal", "ScheduledStart",
                       "spec.lifecycle.schedule: starting instance " + s_.name);
  else
    ctx_.events.record(obj_, "Normal", "Woken", "woke on a request; starting instance " + s_.name);
  next_.awake_since = specs::format_rfc3339(now_);
  next_.sleeping_since.reset();
  next_.sleep_reason.reset();
  last_activity_ = now_;
  next_.last_activity_time = specs::format_rfc3339(now_);
  return std::nullopt;
}

// A scheduled stop that is due: deferred while the workspace is in use, up
// to stopGrace (seen again next pass: checkedAt stays before it), then taken.
pass::step pass::scheduled_stop(const fired& due, bool busy) {
  auto& sched = *next_.schedule;  // check_schedule() set it: a stop is due
  if (busy && now_ < *due.stop + s_.stop_grace) {
    stop_deferred_ = true;
    sched.checked_at = specs::format_rfc3339(*due.stop - std::chrono::seconds(1));
    auto deferred = old_.schedule ? old_.schedule->stop_deferred_for : std::nullopt;
    if (deferred != specs::format_rfc3339(*due.stop)) {
      sched.stop_deferred_for = specs::format_rfc3339(*due.stop);
      ctx_.events.record(obj_, "Normal", "StopDeferred",
                         "the scheduled stop waits until the workspace is quiet (a request, "
                         "WebSocket or exec session is open), at most " +
                             format_seconds(s_.stop_grace) + " (spec.lifecycle.stopGrace)");
    }
    return std::nullopt;
  }
  sched.stop_deferred_for.reset();
  return fall_asleep(typed::status_sleep_reason::Schedule,
                     busy ? "spec.lifecycle.schedule: stopping although in use, after " +
                                format_seconds(s_.stop_grace) + " (stopGrace)"
                          : "spec.lifecycle.schedule");
}

// Puts the workspace to sleep: said in status before the instance is
// stopped, so a controller killed in between finds the workspace asleep,
// not crashed, when it comes back.
pass::step pass::fall_asleep(typed::status_sleep_reason reason, const std::string& message) {
  asleep_ = true;
  sleep_reason_ = reason;
  next_.sleeping_since = specs::format_rfc3339(now_);
  next_.sleep_reason = reason;
  ctx_.events.record(obj_, "Normal",
                     reason == typed::status_sleep_reason::Schedule ? "ScheduledStop" : "Sleeping",
                     message + "; stopping instance " + s_.name + " until the next request");
  typed::status fields;
  fields.sleeping_since = next_.sleeping_since;
  fields.sleep_reason = reason;
  auto going = announcing(std::move(fields), typed::status_phase::Sleeping);
  going.condition("InstanceReady", true, "Sleeping", "stopping the instance while it sleeps");
  going.condition("RouteReady", true, "Sleeping", "the route stays; a request wakes the workspace");
  going.condition("IDEReady", false, "Sleeping", "the workspace sleeps");
  going.condition("Ready", false, "Sleeping", message + "; stopping the instance");
  if (auto st = going.write(ctx_, obj_); !st.ok())
    return step(fail("StatusWriteFailed", st.err().message, failed(st.err())));
  return step();
}

// After a pass: look again when the idle time would run out (at least once
// a minute, so status.lastActivityTime follows the activity), when a stop
// waits for a quiet moment, and at the next scheduled start or stop.
pass_result pass::with_idle_check(pass_result r) const {
  if (r.what != outcome::converged) return r;
  if (ctx_.activity == nullptr || s_.state != "Running") {
    if (!s_.snapshots) return r;  // a stopped workspace's snapshots are still taken
    auto next = next_scheduled();
    return next ? requeue("snapshot schedule",
                          std::clamp(
                              std::chrono::duration_cast<std::chrono::milliseconds>(*next - now_),
                              std::chrono::milliseconds(1000), std::chrono::milliseconds(3600000)))
                : r;
  }
  using std::chrono::milliseconds;
  std::optional<milliseconds> in;
  auto sooner = [&](milliseconds d, milliseconds most) {
    d = std::clamp(d, milliseconds(1000), most);
    in = in ? std::min(*in, d) : d;
  };
  if (!asleep_ && s_.idle_after.count() > 0)
    sooner(std::chrono::duration_cast<milliseconds>(last_activity_ + s_.idle_after - now_),
           milliseconds(60000));
  if (stop_deferred_) sooner(milliseconds(10000), milliseconds(10000));
  if (auto next = next_scheduled())
    sooner(std::chrono::duration_cast<milliseconds>(*next - now_), milliseconds(3600000));
  return in ? requeue("lifecycle check", *in) : r;
}

// Asleep: the instance is stopped, the route stays (a request reaches the
// gateway, which wakes the workspace), and the status says why.
pass_result pass::report_sleeping() {
  if (auto upstream = old_.upstream.value_or(""); !upstream.empty()) {
    runtime::route r{route_id(s_.name), "/workspace/" + s_.name + "/", upstream};
    if (auto st = ctx_.routes.upsert(r); !st.ok()) return failed(st.err());
  }
  auto why = sleep_reason_ == typed::status_sleep_reason::Schedule
                 ? std::string("asleep: stopped by spec.lifecycle.schedule")
                 : "asleep: no activity for " + format_seconds(s_.idle_after) +
                       " (spec.lifecycle.idleAfter)";
  if (next_start_) why += " until " + specs::format_rfc3339(*next_start_);
  why += "; the next request, exec or Open wakes it";
  status_.condition("InstanceReady", true, "Sleeping", "the instance is stopped while idle");
  status_.condition("RouteReady", true, "Sleeping",
                    "the route stays; a request wakes the workspace");
  status_.condition("IDEReady", false, "Sleeping", "the workspace sleeps");
  status_.condition("Ready", false, "Sleeping", why);
  next_.phase = typed::status_phase::Sleeping;
  next_.instance_state = typed::status_instance_state::Stopped;
  if (auto st = write_status(); !st.ok()) return failed(st.err());
  return with_idle_check(converged("asleep"));
}

}  // namespace rockpool::actors::workspace
