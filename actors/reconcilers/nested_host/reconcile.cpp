// The NestedHost reconciler: applies its owned Workspace (same name, nesting
// on) and one PortRoute per exposed port, and summarises their status.
#include "nested_host/reconciler.hpp"

#include "common/finalizers.hpp"
#include "common/ownership.hpp"
#include "common/pass.hpp"
#include "common/status.hpp"

#include "rockpool/specs/schema.hpp"

namespace rockpool::actors::nested_host {

using namespace common;
using specs::string_at;

namespace {

// The Workspace a nested host owns: its spec with nesting on, and the
// built-in nested-host resources when the named template is absent.
json::value owned_workspace(reconcile_context& ctx, const json::value& nh) {
  auto name = string_at(nh, "metadata.name");
  auto state = string_at(nh, "spec.state");
  json::object spec = {{"nesting", true},
                       {"template", string_at(nh, "spec.template")},
                       {"state", state.empty() ? std::string("Running") : state}};
  for (const char* f : {"image", "type"})
    if (auto v = string_at(nh, std::string("spec.") + f); !v.empty()) spec[f] = v;
  if (const auto* r = specs::find_path(nh, "spec.resources")) spec["resources"] = *r;
  if (auto tmpl = string_at(nh, "spec.template");
      !tmpl.empty() && !ctx.store.get("WorkspaceTemplate", tmpl).ok()) {
    spec.erase("template");
    if (!spec.contains("resources"))
      spec["resources"] = {{"cpu", 4}, {"memory", "8Gi"}, {"disk", "50Gi"}};
  }
  return {{"apiVersion", specs::api_version},
          {"kind", "Workspace"},
          {"metadata",
           {{"name", name},
            {"ownerReferences", owner_reference(nh, true)},
            {"labels", {{"rockpool.dev/nested-host", name}}}}},
          {"spec", std::move(spec)}};
}

pass_result teardown(reconcile_context& ctx, const json::value& nh) {
  // Owned objects are collected through ownerReferences; wait for the workspace to go.
  auto name = string_at(nh, "metadata.name");
  auto ws = ctx.store.get("Workspace", name);
  if (ws.ok()) {
    if (!being_deleted(*ws))
      if (auto st = ctx.store.remove("Workspace", name, std::nullopt, controller_write);
          !st.ok() && st.err().why != specs::reason::not_found)
        return failed(st.err().message);
    return requeue("waiting for workspace " + name + " to go", short_wait);
  }
  if (auto st = set_finalizer(ctx, nh, false); !st.ok()) return failed(st.err().message);
  return converged("torn down");
}

// Applies a PortRoute per exposed port; whether all of them are Ready.
specs::result<bool> apply_routes(reconcile_context& ctx, const json::value& nh,
                                 const specs::write_request& as) {
  auto name = string_at(nh, "metadata.name");
  bool all_ready = true;
  const auto* ports = specs::find_path(nh, "spec.exposedPorts");
  if (ports == nullptr || !ports->is_array()) return all_ready;
  for (const auto& p : ports->get_array()) {
    if (!p.is_int64()) continue;
    json::value pr = {{"apiVersion", specs::api_version},
                      {"kind", "PortRoute"},
                      {"metadata",
                       {{"name", name + "-" + std::to_string(p.get_int64())},
                        {"ownerReferences", owner_reference(nh, true)}}},
                      {"spec", {{"workspace", name}, {"port", p.get_int64()}}}};
    auto r = ctx.store.apply(pr, as, true);
    if (!r.ok()) return r.err();
    all_ready = all_ready && string_at(r->object, "status.phase") == "Ready";
  }
  return all_ready;
}

}  // namespace

pass_result reconciler::reconcile(reconcile_context& ctx, json::value obj) const {
  auto name = string_at(obj, "metadata.name");
  if (being_deleted(obj)) return teardown(ctx, obj);
  if (!has_finalizer(obj))
    if (auto st = set_finalizer(ctx, obj, true); !st.ok()) return failed(st.err().message);
  const specs::write_request as{false, "nestedhost:" + name};
  auto applied = ctx.store.apply(owned_workspace(ctx, obj), as, true);
  status_builder status(obj, ctx.clock, {"WorkspaceReady", "RoutesReady", "Ready"});
  if (!applied.ok()) {
    status.condition("WorkspaceReady", false, "WorkspaceInvalid", applied.err().message);
    status.condition("Ready", false, "WorkspaceInvalid", applied.err().message);
    status["phase"] = "Failed";
    if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err().message);
    return terminal(applied.err().message);
  }
  auto routes = apply_routes(ctx, obj, as);
  if (!routes.ok()) return failed(routes.err().message);
  bool routes_ok = *routes;
  auto ws_phase = string_at(applied->object, "status.phase");
  bool ws_ok = ws_phase == "Running";
  bool ready = ws_ok && routes_ok;
  status.condition(
      "WorkspaceReady", ws_ok, ws_ok ? "Running" : "WorkspaceNotReady",
      "workspace " + name + " is " + (ws_phase.empty() ? std::string("Pending") : ws_phase));
  status.condition(
      "RoutesReady", routes_ok, routes_ok ? "Ready" : "RoutesNotReady",
      routes_ok ? "the exposed ports answer" : "waiting for the exposed ports' routes");
  status.condition("Ready", ready, ready ? "Ready" : "NotReady",
                   ready ? "the nested host is ready" : "waiting for its workspace and routes");
  status["phase"] = ready ? "Running" : "Provisioning";
  status["url"] = "/workspace/" + name + "/port/8080/app/";
  if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err().message);
  return converged();
}

}  // namespace rockpool::actors::nested_host
