#include "rockpool/actors/reconcile.hpp"

#include "rockpool/specs/schema.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <regex>

namespace rockpool::actors {

namespace json = boost::json;
using outcome = pass_result::outcome;
using specs::int_at;
using specs::string_at;

namespace {

constexpr auto short_wait = std::chrono::milliseconds(200);
const specs::write_request controller_write{false, "rockpoold"};

pass_result converged(std::string m = {}) {
  return {outcome::converged, std::move(m), {}};
}
pass_result failed(std::string m) {
  return {outcome::failed, std::move(m), {}};
}
pass_result terminal(std::string m) {
  return {outcome::terminal, std::move(m), {}};
}
pass_result requeue(std::string m, std::chrono::milliseconds after) {
  return {outcome::requeue, std::move(m), after};
}

bool has_finalizer(const json::value& obj) {
  const auto* f = specs::find_path(obj, "metadata.finalizers");
  if (f == nullptr || !f->is_array()) return false;
  for (const auto& e : f->get_array())
    if (e.is_string() && e.get_string() == cleanup_finalizer) return true;
  return false;
}

// Adds or removes our finalizer with a merge patch pinned to the object's revision.
specs::status set_finalizer(reconcile_context& ctx, const json::value& obj, bool present) {
  json::array fins;
  if (const auto* f = specs::find_path(obj, "metadata.finalizers"); f && f->is_array())
    for (const auto& e : f->get_array())
      if (!(e.is_string() && e.get_string() == cleanup_finalizer)) fins.push_back(e);
  if (present) fins.push_back(json::string(cleanup_finalizer));
  json::value patch = {
      {"metadata", {{"finalizers", fins.empty() ? json::value() : json::value(fins)}}}};
  auto r = ctx.store.merge_patch(string_at(obj, "kind"), string_at(obj, "metadata.name"), patch,
                                 controller_write);
  if (!r.ok() && r.err().why != specs::reason::not_found) return r.err();
  return specs::done{};
}

// Builds conditions and summary fields into a status object, keeping each
// condition's lastTransitionTime unless its status changed.
class status_builder {
 public:
  status_builder(const json::value& obj, const specs::clock& clock)
      : generation_(int_at(obj, "metadata.generation").value_or(0)),
        now_(specs::format_rfc3339(clock.now())) {
    if (const auto* s = specs::find_path(obj, "status"); s && s->is_object())
      old_ = s->get_object();
    status_ = old_;
    status_["observedGeneration"] = generation_;
  }

  void condition(const std::string& type, bool ok, const std::string& reason,
                 const std::string& message) {
    std::string st = ok ? "True" : "False";
    std::string since = now_;
    if (const auto* conds = old_.if_contains("conditions"); conds && conds->is_array())
      for (const auto& c : conds->get_array())
        if (string_at(c, "type") == type && string_at(c, "status") == st)
          since = string_at(c, "lastTransitionTime");
    conditions_.push_back({{"type", type},
                           {"status", st},
                           {"reason", reason},
                           {"message", message},
                           {"lastTransitionTime", since},
                           {"observedGeneration", generation_}});
  }

  json::value& operator[](std::string_view key) { return status_[key]; }
  const json::object& old() const { return old_; }
  void erase(std::string_view key) { status_.erase(key); }

  /// Writes the status if anything in it changed.
  specs::status write(reconcile_context& ctx, json::value obj) {
    // A stable order whatever the pass did first: the parts, then Ready.
    auto rank = [](const json::value& c) {
      auto t = string_at(c, "type");
      if (t == "Ready") return 3;
      if (t == "ConfigApplied") return 2;
      if (t == "RouteReady" || t == "RoutesReady") return 1;
      return 0;
    };
    std::stable_sort(conditions_.begin(), conditions_.end(),
                     [&](const json::value& a, const json::value& b) { return rank(a) < rank(b); });
    status_["conditions"] = std::move(conditions_);
    obj.as_object()["status"] = std::move(status_);
    obj.as_object()["metadata"].as_object().erase("resourceVersion");
    auto r = ctx.store.replace_status(std::move(obj), controller_write);
    if (!r.ok() && r.err().why != specs::reason::not_found) return r.err();
    return specs::done{};
  }

 private:
  std::int64_t generation_;
  std::string now_;
  json::object old_;
  json::object status_;
  json::array conditions_;
};

struct workspace_settings {
  std::string image, type, memory, disk, state, network;
  std::vector<std::string> profiles{"default"};
  int cpu = 2;
  int ide_port = 8080;
  bool nesting = false;
};

// Explicit spec fields win, then the template's, then built-in defaults.
specs::result<workspace_settings> effective_settings(reconcile_context& ctx,
                                                     const json::value& obj) {
  workspace_settings s;
  json::value tmpl;
  if (auto name = string_at(obj, "spec.template"); !name.empty()) {
    auto t = ctx.store.get("WorkspaceTemplate", name);
    if (!t.ok()) return t.err();
    tmpl = std::move(*t);
  }
  auto pick = [&](const char* path, const std::string& fallback) {
    auto v = string_at(obj, path);
    if (v.empty() && !tmpl.is_null()) v = string_at(tmpl, path);
    return v.empty() ? fallback : v;
  };
  s.image = pick("spec.image", "");
  s.type = pick("spec.type", "container");
  s.memory = pick("spec.resources.memory", "2Gi");
  s.disk = pick("spec.resources.disk", "10Gi");
  s.state = pick("spec.state", "Running");
  s.network = pick("spec.network", "proxy");
  auto cpu = int_at(obj, "spec.resources.cpu");
  if (!cpu && !tmpl.is_null()) cpu = int_at(tmpl, "spec.resources.cpu");
  s.cpu = static_cast<int>(cpu.value_or(2));
  s.ide_port = static_cast<int>(int_at(obj, "spec.ide.port").value_or(8080));
  const auto* nest = specs::find_path(obj, "spec.nesting");
  if ((nest == nullptr || !nest->is_bool()) && !tmpl.is_null())
    nest = specs::find_path(tmpl, "spec.nesting");
  s.nesting = nest && nest->is_bool() && nest->get_bool();
  const auto* profiles = specs::find_path(obj, "spec.profiles");
  if ((profiles == nullptr || !profiles->is_array()) && !tmpl.is_null())
    profiles = specs::find_path(tmpl, "spec.profiles");
  if (profiles && profiles->is_array()) {
    s.profiles.clear();
    for (const auto& p : profiles->get_array())
      if (p.is_string()) s.profiles.emplace_back(p.get_string());
  }
  return s;
}

bool owned_by(const runtime::instance_info& inst, const json::value& obj) {
  auto it = inst.config.find(runtime::owner_uid_key);
  return it != inst.config.end() && it->second == string_at(obj, "metadata.uid");
}

bool left_by_an_earlier_incarnation(const runtime::instance_info& inst, const json::value& obj) {
  auto kind = inst.config.find(runtime::owner_kind_key);
  auto name = inst.config.find(runtime::owner_name_key);
  return kind != inst.config.end() && name != inst.config.end() &&
         kind->second == string_at(obj, "kind") && name->second == string_at(obj, "metadata.name");
}

std::string last_reason(const json::object& old_status, const std::string& type) {
  if (const auto* conds = old_status.if_contains("conditions"); conds && conds->is_array())
    for (const auto& c : conds->get_array())
      if (string_at(c, "type") == type) return string_at(c, "reason");
  return {};
}

std::string workspace_route_id(const std::string& ws) {
  return "rockpool-ws-" + ws;
}
std::string port_route_id(const std::string& ws, std::int64_t port) {
  return "rockpool-pr-" + ws + "-" + std::to_string(port);
}
std::string port_device(std::int64_t port) {
  return "rockpool-port-" + std::to_string(port);
}
constexpr const char* ide_device = "rockpool-ide";

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// Incus reports a proxy device whose host port another process listens on as
// "... listen tcp 127.0.0.1:PORT: bind: address already in use".
std::optional<unsigned short> taken_port(const std::string& message) {
  static const std::regex re("127\\.0\\.0\\.1:([0-9]{1,5}): bind: address already in use");
  std::smatch m;
  if (!std::regex_search(message, m, re)) return std::nullopt;
  return static_cast<unsigned short>(std::stoul(m[1].str()));
}

// Gives up a host port another process has taken: drops the proxy device that
// listens on it and frees the allocation, so its owner's next pass gets another.
pass_result move_off_taken_port(reconcile_context& ctx, const json::value& obj,
                                const std::string& instance, unsigned short port) {
  auto listen = "tcp:127.0.0.1:" + std::to_string(port);
  auto inst = ctx.incus.get_instance(instance);
  if (!inst.ok()) return failed(inst.err().message);
  if (*inst)
    for (const auto& d : (*inst)->proxies)
      if (d.listen == listen)
        if (auto st = ctx.incus.remove_proxy_device(instance, d.name); !st.ok())
          return failed(st.err().message);
  auto owner = ctx.ports.owner_of(port);
  if (owner)
    if (auto st = ctx.ports.release(*owner); !st.ok()) return failed(st.err().message);
  auto m = "host port " + std::to_string(port) + (owner ? " (held for " + *owner + ")" : "") +
           " is in use by another process; moving to another port";
  ctx.events.record(obj, "Warning", "HostPortInUse", m);
  return requeue(m, std::chrono::milliseconds(0));
}

// The instance is not ready, for this reason: the workspace's conditions say so.
void instance_not_ready(status_builder& status, const std::string& reason,
                        const std::string& message) {
  status.condition("InstanceReady", false, reason, message);
  status.condition("RouteReady", false, "InstanceNotReady", "the instance is not ready");
  status.condition("Ready", false, reason, message);
}

std::chrono::seconds restart_backoff(std::int64_t consecutive) {
  if (consecutive <= 0) return std::chrono::seconds(0);
  return std::chrono::seconds(
      std::min<std::int64_t>(300, std::int64_t{1} << std::min<std::int64_t>(consecutive - 1, 9)));
}

// ---- Workspace ----

pass_result teardown_workspace(reconcile_context& ctx, const json::value& obj) {
  auto name = string_at(obj, "metadata.name");
  auto uid = string_at(obj, "metadata.uid");
  // Foreground deletion: owned objects (port routes) go first, and their routes with them.
  auto routes = ctx.store.list("PortRoute");
  if (!routes.ok()) return failed(routes.err().message);
  int waiting = 0;
  for (const auto& pr : routes->items) {
    const auto* refs = specs::find_path(pr, "metadata.ownerReferences");
    bool owned = false;
    if (refs && refs->is_array())
      for (const auto& ref : refs->get_array()) owned = owned || string_at(ref, "uid") == uid;
    if (!owned) continue;
    ++waiting;
    if (string_at(pr, "metadata.deletionTimestamp").empty())
      (void)ctx.store.remove("PortRoute", string_at(pr, "metadata.name"), std::nullopt,
                             controller_write);
  }
  if (waiting > 0)
    return requeue("waiting for " + std::to_string(waiting) + " owned port route(s) to go",
                   short_wait);
  if (auto st = ctx.routes.remove(workspace_route_id(name)); !st.ok())
    return failed(st.err().message);
  auto inst = ctx.incus.get_instance(name);
  if (!inst.ok()) return failed(inst.err().message);
  if (*inst && owned_by(**inst, obj)) {
    if (auto st = ctx.incus.delete_instance(name);
        !st.ok() && st.err().why != specs::reason::not_found)
      return failed("deleting instance: " + st.err().message);
    ctx.events.record(obj, "Normal", "InstanceDeleted", "deleted instance " + name);
  }
  if (auto st = ctx.ports.release("Workspace/" + name + "#ide"); !st.ok())
    return failed(st.err().message);
  if (auto st = set_finalizer(ctx, obj, false); !st.ok()) return failed(st.err().message);
  return converged("torn down");
}

pass_result reconcile_workspace(reconcile_context& ctx, json::value obj) {
  auto name = string_at(obj, "metadata.name");
  if (!string_at(obj, "metadata.deletionTimestamp").empty()) return teardown_workspace(ctx, obj);
  if (!has_finalizer(obj)) {
    if (auto st = set_finalizer(ctx, obj, true); !st.ok()) return failed(st.err().message);
    auto fresh = ctx.store.get("Workspace", name);
    if (!fresh.ok()) return failed(fresh.err().message);
    obj = std::move(*fresh);
  }
  status_builder status(obj, ctx.clock);
  auto fail_with = [&](const std::string& reason, const std::string& message, pass_result result) {
    instance_not_ready(status, reason, message);
    status["phase"] = result.what == outcome::terminal ? "Failed" : "Provisioning";
    if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err().message);
    return result;
  };

  // Incus refused a proxy device's host port: move to another one.
  auto port_taken = [&](const specs::error& e) -> std::optional<pass_result> {
    auto port = taken_port(e.message);
    if (!port) return std::nullopt;
    auto moved = move_off_taken_port(ctx, obj, name, *port);
    return fail_with("HostPortInUse", moved.message, moved);
  };

  auto settings = effective_settings(ctx, obj);
  if (!settings.ok())
    return fail_with("TemplateNotFound", settings.err().message, terminal(settings.err().message));
  const auto& s = *settings;
  auto image = ctx.incus.image_exists(s.image);
  if (!image.ok())
    return fail_with("IncusUnavailable", image.err().message, failed(image.err().message));
  if (!*image) {
    auto m = "image \"" + s.image + "\" does not exist in Incus";
    if (string_at(json::value(status.old()), "phase") != "Failed")
      ctx.events.record(obj, "Warning", "ImageNotFound", m);
    return fail_with("ImageNotFound", m, terminal(m));
  }

  auto inst = ctx.incus.get_instance(name);
  if (!inst.ok())
    return fail_with("IncusUnavailable", inst.err().message, failed(inst.err().message));
  auto restarts = int_at(json::value(status.old()), "restarts").value_or(0);
  auto consecutive = int_at(json::value(status.old()), "consecutiveRestarts").value_or(0);
  bool had_instance = !string_at(json::value(status.old()), "instance").empty();
  auto last_restart = specs::parse_rfc3339(string_at(json::value(status.old()), "lastRestartTime"));
  auto now = ctx.clock.now();
  // A crash loop backs off: restart at once the first time, then 1 s, 2 s, 4 s ...
  auto restart_allowed = [&]() -> std::optional<pass_result> {
    auto wait = restart_backoff(consecutive) - (now - last_restart);
    if (wait > std::chrono::seconds(0)) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait);
      return fail_with("CrashLoopBackOff",
                       "restarted " + std::to_string(consecutive) +
                           " times in a row; next try in " + std::to_string(ms.count()) + " ms",
                       requeue("crash loop back-off", ms));
    }
    return std::nullopt;
  };
  bool restarted_now = false;
  auto note_restart = [&](const std::string& reason, const std::string& message) {
    restarted_now = true;
    ++restarts;
    ++consecutive;
    status["restarts"] = restarts;
    status["consecutiveRestarts"] = consecutive;
    status["lastRestartTime"] = specs::format_rfc3339(now);
    status["instanceState"] = "Starting";  // counted once, even if this start fails
    ctx.events.record(obj, "Warning", reason, message);
    // Say so before the (slow) restart: readers must not see Ready=True or an
    // old restart count while the instance is down.
    status_builder restarting(obj, ctx.clock);
    for (const char* k : {"restarts", "consecutiveRestarts", "lastRestartTime", "instanceState"})
      restarting[k] = status[k];
    instance_not_ready(restarting, reason, message);
    restarting["phase"] = "Provisioning";
    (void)restarting.write(ctx, obj);
  };

  if (*inst && !owned_by(**inst, obj)) {
    if (left_by_an_earlier_incarnation(**inst, obj)) {
      if (auto st = ctx.incus.delete_instance(name); !st.ok())
        return fail_with("DeleteFailed", st.err().message, failed(st.err().message));
      *inst = std::nullopt;
    } else {
      auto m = "an Incus instance named \"" + name + "\" exists and is not managed by Rockpool";
      return fail_with("NameConflict", m, terminal(m));
    }
  }
  runtime::instance_spec spec{name,
                              s.image,
                              s.type,
                              s.cpu,
                              s.memory,
                              s.disk,
                              s.nesting,
                              {{runtime::owner_kind_key, "Workspace"},
                               {runtime::owner_name_key, name},
                               {runtime::owner_uid_key, string_at(obj, "metadata.uid")}},
                              s.profiles};
  bool created_now = false;
  if (!*inst) {
    created_now = true;
    if (had_instance) {
      if (auto wait = restart_allowed()) return *wait;
      note_restart("InstanceVanished", "instance " + name + " disappeared; recreating it");
    }
    if (auto st = ctx.incus.create_instance(spec); !st.ok()) {
      if (st.err().why == specs::reason::not_found)
        return fail_with("ImageNotFound", st.err().message, terminal(st.err().message));
      return fail_with("CreateFailed", st.err().message, failed(st.err().message));
    }
    if (!had_instance)
      ctx.events.record(obj, "Normal", "InstanceCreated",
                        "created instance " + name + " from " + s.image);
    status["instance"] = name;
    inst = ctx.incus.get_instance(name);
    if (!inst.ok() || !*inst)
      return fail_with("IncusUnavailable", "instance not visible after create",
                       failed("instance not visible after create"));
  }
  status["instance"] = name;

  bool want_running = s.state == "Running";
  bool running = (*inst)->status == "Running";
  // Spec changes to an existing instance: live ones now, the rest while it is stopped.
  auto plan = runtime::plan_update(**inst, spec);
  if (!plan.live.empty()) {
    if (auto st = ctx.incus.update_instance(name, plan.live); !st.ok())
      return fail_with("UpdateFailed", st.err().message, failed(st.err().message));
    ctx.events.record(obj, "Normal", "ConfigUpdated",
                      "applied " + join(plan.live_fields) + " to the instance live");
  }
  auto apply_at_restart = [&]() -> std::optional<pass_result> {
    if (plan.at_restart.empty()) return std::nullopt;
    if (auto st = ctx.incus.update_instance(name, plan.at_restart); !st.ok())
      return fail_with("UpdateFailed", st.err().message, failed(st.err().message));
    ctx.events.record(obj, "Normal", "ConfigUpdated",
                      "applied " + join(plan.restart_fields) + " while the instance was stopped");
    plan.at_restart = {};
    plan.restart_fields.clear();
    return std::nullopt;
  };
  if (!running)
    if (auto r = apply_at_restart()) return *r;
  if (want_running && !running) {
    // The instance was last seen running, or we were backing off restarting
    // it: a crash, not a first start. status.instanceState is only written
    // from a successful observation, so a pass that failed to reach Incus in
    // between (Incus answers errors while an instance is stopping) does not
    // hide the crash. (Statuses from before that field: InstanceReady/Running.)
    const auto* last_state = status.old().if_contains("instanceState");
    bool was_running = last_state ? *last_state == "Running"
                                  : last_reason(status.old(), "InstanceReady") == "Running";
    bool crashed =
        !created_now && (was_running || last_reason(status.old(), "Ready") == "CrashLoopBackOff");
    if (crashed) {
      if (auto wait = restart_allowed()) return *wait;
      note_restart("InstanceCrashed",
                   "instance " + name + " stopped behind the controller's back; starting it");
    }
    if (auto st = ctx.incus.start_instance(name); !st.ok()) {
      if (auto moved = port_taken(st.err())) return *moved;
      return fail_with("StartFailed", st.err().message, failed(st.err().message));
    }
    running = true;
  } else if (!want_running && running) {
    if (auto st = ctx.incus.stop_instance(name); !st.ok())
      return fail_with("StopFailed", st.err().message, failed(st.err().message));
    running = false;
    ctx.events.record(obj, "Normal", "InstanceStopped", "stopped instance " + name);
    if (auto r = apply_at_restart()) return *r;
  }
  // ConfigApplied: what the spec asks for that the instance does not have yet.
  struct unapplied {
    const std::vector<std::string>& fields;
    const char* reason;
    const char* event_type;
    const char* what_now;
  };
  std::optional<unapplied> gap;
  if (!plan.recreate_fields.empty())
    gap.emplace(unapplied{plan.recreate_fields, "RecreateRequired", "Warning",
                          " changed; the instance keeps its old one until it is recreated "
                          "(delete and re-apply the workspace; its disk is not kept)"});
  else if (!plan.restart_fields.empty())
    gap.emplace(unapplied{plan.restart_fields, "RestartRequired", "Normal",
                          " changed and takes effect when the instance next starts (set "
                          "spec.state to Stopped, then Running)"});
  if (gap) {
    auto m = join(gap->fields) + gap->what_now;
    if (last_reason(status.old(), "ConfigApplied") != gap->reason)
      ctx.events.record(obj, gap->event_type, gap->reason, m);
    status.condition("ConfigApplied", false, gap->reason, m);
  } else {
    status.condition("ConfigApplied", true, "Applied", "the instance matches the spec");
  }
  // Five quiet minutes since the last restart end a crash loop.
  if (running && !restarted_now && consecutive > 0 && now - last_restart > std::chrono::minutes(5))
    status["consecutiveRestarts"] = 0;

  auto route_id = workspace_route_id(name);
  if (!want_running) {
    if (auto st = ctx.routes.remove(route_id); !st.ok()) return failed(st.err().message);
    status.condition("InstanceReady", true, "Stopped", "the instance is stopped, as requested");
    status.condition("RouteReady", false, "WorkspaceStopped", "the workspace is stopped");
    status.condition("Ready", false, "Stopped", "the workspace is stopped");
    status["phase"] = "Stopped";
    status["instanceState"] = "Stopped";
    status.erase("url");
    if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err().message);
    return converged();
  }

  std::string upstream;
  if (s.network == "proxy") {
    auto port = ctx.ports.acquire("Workspace/" + name + "#ide");
    if (!port.ok()) return fail_with("NoHostPort", port.err().message, failed(port.err().message));
    runtime::proxy_device dev{ide_device, "tcp:127.0.0.1:" + std::to_string(*port),
                              "tcp:127.0.0.1:" + std::to_string(s.ide_port)};
    auto& proxies = (*inst)->proxies;
    if (std::find(proxies.begin(), proxies.end(), dev) == proxies.end())
      if (auto st = ctx.incus.set_proxy_device(name, dev); !st.ok()) {
        if (auto moved = port_taken(st.err())) return *moved;
        return fail_with("ProxyDeviceFailed", st.err().message, failed(st.err().message));
      }
    upstream = "127.0.0.1:" + std::to_string(*port);
    status["hostPort"] = *port;
  } else {
    if ((*inst)->address.empty()) {
      status.condition("InstanceReady", true, "Running", "the instance is running");
      status.condition("RouteReady", false, "WaitingForAddress",
                       "the instance has no bridge address yet");
      status.condition("Ready", false, "WaitingForAddress",
                       "the instance has no bridge address yet");
      status["phase"] = "Provisioning";
      status["instanceState"] = "Running";
      (void)status.write(ctx, obj);
      return requeue("waiting for the instance's address", std::chrono::seconds(1));
    }
    upstream = (*inst)->address + ":" + std::to_string(s.ide_port);
  }
  runtime::route r{route_id, "/workspace/" + name + "/", upstream};
  if (auto st = ctx.routes.upsert(r); !st.ok())
    return fail_with("RouteFailed", st.err().message, failed(st.err().message));
  auto answers = ctx.routes.answers(r);
  bool route_ok = answers.ok() && *answers;
  status.condition("InstanceReady", true, "Running", "the instance is running");
  status.condition("RouteReady", route_ok, route_ok ? "Routed" : "RouteNotAnswering",
                   route_ok ? "/workspace/" + name + "/ answers"
                            : "/workspace/" + name + "/ does not answer yet");
  status.condition("Ready", route_ok, route_ok ? "Ready" : "RouteNotAnswering",
                   route_ok ? "the workspace is ready" : "waiting for the route to answer");
  status["phase"] = route_ok ? "Running" : "Provisioning";
  status["instanceState"] = "Running";
  status["upstream"] = upstream;
  status["url"] = "/workspace/" + name + "/";
  if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err().message);
  if (!route_ok) return requeue("waiting for the route to answer", short_wait);
  return converged();
}

// ---- PortRoute ----

pass_result teardown_port_route(reconcile_context& ctx, const json::value& obj) {
  auto name = string_at(obj, "metadata.name");
  auto ws = string_at(obj, "spec.workspace");
  auto port = int_at(obj, "spec.port").value_or(0);
  if (auto st = ctx.routes.remove(port_route_id(ws, port)); !st.ok())
    return failed(st.err().message);
  auto inst = ctx.incus.get_instance(ws);
  if (!inst.ok()) return failed(inst.err().message);
  if (*inst)
    if (auto st = ctx.incus.remove_proxy_device(ws, port_device(port)); !st.ok())
      return failed(st.err().message);
  if (auto st = ctx.ports.release("PortRoute/" + name); !st.ok()) return failed(st.err().message);
  if (auto st = set_finalizer(ctx, obj, false); !st.ok()) return failed(st.err().message);
  return converged("torn down");
}

pass_result reconcile_port_route(reconcile_context& ctx, json::value obj) {
  auto name = string_at(obj, "metadata.name");
  if (!string_at(obj, "metadata.deletionTimestamp").empty()) return teardown_port_route(ctx, obj);
  auto ws_name = string_at(obj, "spec.workspace");
  auto port = int_at(obj, "spec.port").value_or(0);
  auto ws = ctx.store.get("Workspace", ws_name);
  if (!ws.ok() && ws.err().why != specs::reason::not_found) return failed(ws.err().message);
  // Finalizer, and ownership by the workspace so deleting it removes this route.
  bool needs_owner = false;
  if (ws.ok()) {
    needs_owner = true;
    if (const auto* refs = specs::find_path(obj, "metadata.ownerReferences");
        refs && refs->is_array())
      for (const auto& r : refs->get_array())
        if (string_at(r, "uid") == string_at(*ws, "metadata.uid")) needs_owner = false;
  }
  if (!has_finalizer(obj) || needs_owner) {
    json::array fins;
    if (const auto* f = specs::find_path(obj, "metadata.finalizers"); f && f->is_array())
      fins = f->get_array();
    if (!has_finalizer(obj)) fins.push_back(json::string(cleanup_finalizer));
    json::value patch = {{"metadata", {{"finalizers", fins}}}};
    if (needs_owner)
      patch.as_object()["metadata"].as_object()["ownerReferences"] =
          json::array{{{"apiVersion", specs::api_version},
                       {"kind", "Workspace"},
                       {"name", ws_name},
                       {"uid", string_at(*ws, "metadata.uid")},
                       {"controller", false}}};
    auto r = ctx.store.merge_patch("PortRoute", name, patch, controller_write);
    if (!r.ok())
      return r.err().why == specs::reason::not_found ? pass_result{outcome::gone, "gone", {}}
                                                     : failed(r.err().message);
    obj = std::move(r->object);
  }
  status_builder status(obj, ctx.clock);
  auto route_id = port_route_id(ws_name, port);
  auto not_ready = [&](const std::string& reason, const std::string& message) {
    if (auto st = ctx.routes.remove(route_id); !st.ok()) return failed(st.err().message);
    status.condition("UpstreamReady", false, reason, message);
    status.condition("Ready", false, reason, message);
    status["phase"] = "Pending";
    if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err().message);
    return converged(message);  // the workspace's own events will poke us
  };
  if (!ws.ok())
    return not_ready("WorkspaceNotFound", "workspace \"" + ws_name + "\" does not exist");
  if (!string_at(*ws, "metadata.deletionTimestamp").empty())
    return not_ready("WorkspaceTerminating", "workspace \"" + ws_name + "\" is being deleted");
  if (string_at(*ws, "status.phase") != "Running")
    return not_ready("WorkspaceNotRunning",
                     "workspace \"" + ws_name + "\" is not running (phase " +
                         (string_at(*ws, "status.phase").empty() ? std::string("Pending")
                                                                 : string_at(*ws, "status.phase")) +
                         ")");
  auto inst = ctx.incus.get_instance(ws_name);
  if (!inst.ok()) return failed(inst.err().message);
  if (!*inst) return not_ready("InstanceNotFound", "the workspace's instance does not exist");
  std::string upstream;
  if (string_at(*ws, "spec.network") == "bridge") {
    if ((*inst)->address.empty())
      return requeue("waiting for the instance's address", std::chrono::seconds(1));
    upstream = (*inst)->address + ":" + std::to_string(port);
  } else {
    auto host_port = ctx.ports.acquire("PortRoute/" + name);
    if (!host_port.ok()) return failed(host_port.err().message);
    runtime::proxy_device dev{port_device(port), "tcp:127.0.0.1:" + std::to_string(*host_port),
                              "tcp:127.0.0.1:" + std::to_string(port)};
    auto& proxies = (*inst)->proxies;
    if (std::find(proxies.begin(), proxies.end(), dev) == proxies.end())
      if (auto st = ctx.incus.set_proxy_device(ws_name, dev); !st.ok()) {
        if (auto taken = taken_port(st.err().message))
          return move_off_taken_port(ctx, obj, ws_name, *taken);
        return failed(st.err().message);
      }
    upstream = "127.0.0.1:" + std::to_string(*host_port);
    status["hostPort"] = *host_port;
  }
  runtime::route r{route_id, "/workspace/" + ws_name + "/port/" + std::to_string(port) + "/",
                   upstream};
  if (auto st = ctx.routes.upsert(r); !st.ok()) return failed(st.err().message);
  auto answers = ctx.routes.answers(r);
  bool ok = answers.ok() && *answers;
  status.condition("UpstreamReady", true, "ProxyReady",
                   "forwarding " + upstream + " to port " + std::to_string(port));
  status.condition("Ready", ok, ok ? "Ready" : "RouteNotAnswering",
                   ok ? r.path_prefix + " answers" : "waiting for " + r.path_prefix + " to answer");
  status["phase"] = ok ? "Ready" : "Pending";
  status["upstream"] = upstream;
  status["url"] = r.path_prefix;
  if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err().message);
  if (!ok) return requeue("waiting for the route to answer", short_wait);
  return converged();
}

// ---- NestedHost ----

// A nested host owns one Workspace (same name, nesting on) and a PortRoute per
// exposed port; its status summarises theirs.
pass_result reconcile_nested_host(reconcile_context& ctx, json::value obj) {
  auto name = string_at(obj, "metadata.name");
  auto uid = string_at(obj, "metadata.uid");
  if (!string_at(obj, "metadata.deletionTimestamp").empty()) {
    // Owned objects are collected through ownerReferences; wait for the workspace to go.
    auto ws = ctx.store.get("Workspace", name);
    if (ws.ok()) {
      if (string_at(*ws, "metadata.deletionTimestamp").empty())
        (void)ctx.store.remove("Workspace", name, std::nullopt, controller_write);
      return requeue("waiting for workspace " + name + " to go", short_wait);
    }
    if (auto st = set_finalizer(ctx, obj, false); !st.ok()) return failed(st.err().message);
    return converged("torn down");
  }
  if (!has_finalizer(obj)) {
    if (auto st = set_finalizer(ctx, obj, true); !st.ok()) return failed(st.err().message);
  }
  json::value owner = json::array{{{"apiVersion", specs::api_version},
                                   {"kind", "NestedHost"},
                                   {"name", name},
                                   {"uid", uid},
                                   {"controller", true}}};
  json::value ws_spec = {
      {"nesting", true},
      {"template", string_at(obj, "spec.template")},
      {"state", string_at(obj, "spec.state").empty() ? std::string("Running")
                                                     : string_at(obj, "spec.state")}};
  for (const char* f : {"image", "type"})
    if (auto v = string_at(obj, std::string("spec.") + f); !v.empty()) ws_spec.as_object()[f] = v;
  if (const auto* r = specs::find_path(obj, "spec.resources"))
    ws_spec.as_object()["resources"] = *r;
  if (auto tmpl = string_at(obj, "spec.template");
      !tmpl.empty() && !ctx.store.get("WorkspaceTemplate", tmpl).ok()) {
    ws_spec.as_object().erase("template");
    // Built-in nested-host defaults when the named template is absent.
    if (!ws_spec.as_object().contains("resources"))
      ws_spec.as_object()["resources"] = {{"cpu", 4}, {"memory", "8Gi"}, {"disk", "50Gi"}};
  }
  json::value ws = {{"apiVersion", specs::api_version},
                    {"kind", "Workspace"},
                    {"metadata",
                     {{"name", name},
                      {"ownerReferences", owner},
                      {"labels", {{"rockpool.dev/nested-host", name}}}}},
                    {"spec", ws_spec}};
  auto applied = ctx.store.apply(ws, {false, "nestedhost:" + name}, true);
  status_builder status(obj, ctx.clock);
  if (!applied.ok()) {
    status.condition("WorkspaceReady", false, "WorkspaceInvalid", applied.err().message);
    status.condition("Ready", false, "WorkspaceInvalid", applied.err().message);
    status["phase"] = "Failed";
    (void)status.write(ctx, obj);
    return terminal(applied.err().message);
  }
  bool routes_ok = true;
  if (const auto* ports = specs::find_path(obj, "spec.exposedPorts"); ports && ports->is_array()) {
    for (const auto& p : ports->get_array()) {
      if (!p.is_int64()) continue;
      auto pr_name = name + "-" + std::to_string(p.get_int64());
      json::value pr = {{"apiVersion", specs::api_version},
                        {"kind", "PortRoute"},
                        {"metadata", {{"name", pr_name}, {"ownerReferences", owner}}},
                        {"spec", {{"workspace", name}, {"port", p.get_int64()}}}};
      auto r = ctx.store.apply(pr, {false, "nestedhost:" + name}, true);
      if (!r.ok()) return failed(r.err().message);
      routes_ok = routes_ok && string_at(r->object, "status.phase") == "Ready";
    }
  }
  auto ws_phase = string_at(applied->object, "status.phase");
  bool ws_ok = ws_phase == "Running";
  status.condition(
      "WorkspaceReady", ws_ok, ws_ok ? "Running" : "WorkspaceNotReady",
      "workspace " + name + " is " + (ws_phase.empty() ? std::string("Pending") : ws_phase));
  status.condition(
      "RoutesReady", routes_ok, routes_ok ? "Ready" : "RoutesNotReady",
      routes_ok ? "the exposed ports answer" : "waiting for the exposed ports' routes");
  status.condition(
      "Ready", ws_ok && routes_ok, ws_ok && routes_ok ? "Ready" : "NotReady",
      ws_ok && routes_ok ? "the nested host is ready" : "waiting for its workspace and routes");
  status["phase"] = ws_ok && routes_ok ? "Running" : "Provisioning";
  status["url"] = "/workspace/" + name + "/port/8080/app/";
  if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err().message);
  return converged();
}

}  // namespace

bool is_reconciled_kind(const std::string& kind) {
  return kind == "Workspace" || kind == "PortRoute" || kind == "NestedHost";
}

pass_result reconcile(reconcile_context& ctx, const std::string& kind, const std::string& name) {
  auto obj = ctx.store.get(kind, name);
  if (!obj.ok()) {
    if (obj.err().why == specs::reason::not_found) return {outcome::gone, "gone", {}};
    return failed(obj.err().message);
  }
  auto generation = int_at(*obj, "metadata.generation").value_or(-1);
  pass_result r = converged("not a reconciled kind");
  try {
    if (kind == "Workspace") r = reconcile_workspace(ctx, std::move(*obj));
    if (kind == "PortRoute") r = reconcile_port_route(ctx, std::move(*obj));
    if (kind == "NestedHost") r = reconcile_nested_host(ctx, std::move(*obj));
  } catch (const std::exception& e) {
    r = failed(std::string("reconcile threw: ") + e.what());  // a bug or an injected fault
  }
  r.generation = generation;
  return r;
}

}  // namespace rockpool::actors
