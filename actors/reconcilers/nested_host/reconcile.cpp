// The NestedHost reconciler: a workspace that runs a whole inner Rockpool.
// It checks the Host can run the instance type, makes sure the
// rockpool-nested-host template exists, applies its owned Workspace (nesting
// on, the inner network in the init's environment) and one PortRoute per
// exposed port, and looks at the inner control plane through the outer route
// (docs/user-guide.md#rockpool-on-rockpool).
#include "nested_host/reconciler.hpp"

#include "common/ownership.hpp"
#include "common/pass.hpp"
#include "common/status.hpp"

#include "rockpool/specs/schema.hpp"

#include <cctype>

namespace rockpool::actors::nested_host {

using namespace common;
using specs::string_at;

namespace {

constexpr const char* default_template = "rockpool-nested-host";
/// Where the nested host's init keeps the inner rockpoold's bearer token.
constexpr const char* token_path = "/var/lib/rockpool/token";
/// What a virtual-machine nested host needs of the Host (its preflight checks).
constexpr const char* vm_checks[] = {"VirtualMachinesOperational", "KVMPresent", "NestedKVM",
                                     "VhostVsock"};

// The built-in template: created when a nested host needs it and it is
// absent, never overwritten (a user's edits to it win).
json::value builtin_template() {
  return {{"apiVersion", specs::api_version},
          {"kind", "WorkspaceTemplate"},
          {"metadata", {{"name", default_template}}},
          {"spec",
           {{"description", "Rockpool-on-Rockpool: a nested host running a whole inner Rockpool"},
            {"image", "rockpool-nested-host"},
            {"nesting", true},
            {"resources", {{"cpu", 4}, {"memory", "8Gi"}, {"disk", "50Gi"}}}}}};
}

// The template the nested host inherits from, created if it is the built-in one.
json::value ensure_template(reconcile_context& ctx, const json::value& nh) {
  auto name = string_at(nh, "spec.template");
  if (name.empty()) return nullptr;
  auto t = ctx.store.get("WorkspaceTemplate", name);
  if (t.ok()) return std::move(*t);
  if (name != default_template) return nullptr;
  auto made = ctx.store.create(builtin_template(), controller_write);
  if (made.ok()) return made->object;
  auto again = ctx.store.get("WorkspaceTemplate", name);  // created meanwhile
  return again.ok() ? std::move(*again) : json::value(nullptr);
}

struct type_choice {
  bool ok = true;
  std::string type;  // container | virtual-machine
  std::string message;
};

// The instance type, from spec.type, the template's, or what the Host can run.
type_choice choose_type(reconcile_context& ctx, const json::value& nh, const json::value& tmpl) {
  auto wanted = string_at(nh, "spec.type");
  if (wanted.empty() && !tmpl.is_null()) wanted = string_at(tmpl, "spec.type");
  std::vector<std::string> missing;
  auto host = ctx.store.get("Host", "local");
  const auto* conds = host.ok() ? specs::find_path(*host, "status.conditions") : nullptr;
  for (const char* check : vm_checks) {
    std::string message = "not probed yet";
    bool passed = false;
    if (conds && conds->is_array())
      for (const auto& c : conds->get_array())
        if (string_at(c, "type") == check) {
          passed = string_at(c, "status") == "True";
          message = string_at(c, "message");
        }
    if (!passed) missing.push_back(std::string(check) + ": " + message);
  }
  if (wanted == "virtual-machine" && !missing.empty())
    return {false, wanted,
            "a virtual-machine nested host needs KVM, nested KVM and vhost_vsock on this host; "
            "missing: " +
                join(missing) + ". Set spec.type: container to run it as a container instead"};
  if (wanted == "virtual-machine") return {true, wanted, "this host runs virtual machines"};
  if (wanted == "container")
    return {true, wanted, "a container with security.nesting=true, as spec.type asks"};
  if (missing.empty()) return {true, "virtual-machine", "this host runs virtual machines"};
  return {true, "container",
          "a container with security.nesting=true: this host cannot run a virtual machine (" +
              join(missing) + ")"};
}

// The Workspace a nested host owns: nesting on, the chosen type, and the
// inner Rockpool's settings in its init's environment.
json::value owned_workspace(const json::value& nh, const json::value& tmpl,
                            const std::string& type) {
  auto name = string_at(nh, "metadata.name");
  auto state = string_at(nh, "spec.state");
  auto inner = string_at(nh, "spec.innerNetwork");
  json::object spec = {
      {"nesting", true},
      {"type", type},
      {"state", state.empty() ? std::string("Running") : state},
      {"environment",
       {{"ROCKPOOL_NESTED_HOST", name},
        {"ROCKPOOL_INNER_NETWORK", inner.empty() ? std::string("10.123.0.0/24") : inner}}}};
  if (!tmpl.is_null()) spec["template"] = string_at(tmpl, "metadata.name");
  if (auto image = string_at(nh, "spec.image"); !image.empty()) spec["image"] = image;
  // The IDE of the developer image; without one, /workspace/NAME/ leads to
  // the inner control plane (the workspace's default IDE port, 8080).
  if (auto ide = specs::int_at(nh, "spec.ide.port")) spec["ide"] = {{"port", *ide}};
  if (const auto* r = specs::find_path(nh, "spec.resources")) spec["resources"] = *r;
  if (tmpl.is_null() && !spec.contains("resources"))
    spec["resources"] = {{"cpu", 4}, {"memory", "8Gi"}, {"disk", "50Gi"}};
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
        return failed(st.err());
    return requeue("waiting for workspace " + name + " to go", short_wait);
  }
  return converged("torn down");
}

// Applies a PortRoute per exposed port; whether all of them are routed.
specs::result<bool> apply_routes(reconcile_context& ctx, const json::value& nh,
                                 const specs::write_request& as) {
  auto name = string_at(nh, "metadata.name");
  bool all_ready = true;
  const auto* ports = specs::find_path(nh, "spec.exposedPorts");
  if (ports == nullptr || !ports->is_array()) return all_ready;
  for (const auto& p : ports->get_array()) {
    if (!p.is_int64()) continue;
    json::object spec{{"workspace", name}, {"port", p.get_int64()}};
    // The inner control plane guards itself (bearer token; its UI asks for
    // one), as the outer :8080 does: no workspace sign-in in front of it.
    if (p.get_int64() == 8080) spec["public"] = true;
    json::value pr = {{"apiVersion", specs::api_version},
                      {"kind", "PortRoute"},
                      {"metadata",
                       {{"name", name + "-" + std::to_string(p.get_int64())},
                        {"ownerReferences", owner_reference(nh, true)},
                        {"labels", {{"rockpool.dev/nested-host", name}}}}},
                      {"spec", std::move(spec)}};
    auto r = ctx.store.apply(pr, as, true);
    if (!r.ok()) return r.err();
    // Routed is enough: whether something listens on an exposed port is the
    // inner side's business (a developer's Rockpool on 9080 comes later); the
    // inner control plane's answer is InnerControlPlaneReady.
    all_ready = all_ready && condition_holds(r->object, "UpstreamReady");
  }
  return all_ready;
}

// The inner control plane, looked at through the outer route to port 8080.
runtime::inner_health look_inside(reconcile_context& ctx, const std::string& name) {
  if (ctx.inner == nullptr)
    return runtime::inner_health::down("inner health is not observed by this controller");
  std::string token;
  if (auto t = ctx.incus.read_file(name, token_path, 4096); t.ok()) {
    token = *t;
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
  }
  auto h = ctx.inner->look("/workspace/" + name + "/port/8080/api", token);
  if (h.ready && token.empty()) h.message += " (its token is not readable yet: no counts)";
  return h;
}

void report_inner(status_builder& status, const runtime::inner_health& h) {
  json::object inner = {{"ready", h.ready}};
  if (!h.version.empty()) inner["version"] = h.version;
  if (!h.role.empty()) inner["role"] = h.role;
  if (h.workspaces) inner["workspaces"] = *h.workspaces;
  if (h.ready_workspaces) inner["readyWorkspaces"] = *h.ready_workspaces;
  if (h.port_routes) inner["portRoutes"] = *h.port_routes;
  status["inner"] = std::move(inner);
}

std::vector<std::string_view> condition_order() {
  return {"PreflightPassed", "InstanceRunning", "RoutesReady", "InnerControlPlaneReady", "Ready"};
}

}  // namespace

pass_result reconciler::finalize(reconcile_context& ctx, const json::value& obj) const {
  return teardown(ctx, obj);
}

pass_result reconciler::reconcile(reconcile_context& ctx, json::value obj) const {
  auto name = string_at(obj, "metadata.name");
  status_builder status(obj, ctx.clock, condition_order());
  status["url"] = "/workspace/" + name + "/port/8080/app/";
  status["apiPath"] = "/workspace/" + name + "/port/8080/api";
  status["workspacesPath"] = "/workspace/" + name + "/port/8081/";
  auto stop = [&](const std::string& reason, const std::string& message) {
    status.condition("Ready", false, reason, message);
    status["phase"] = "Failed";
    if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err());
    return terminal(message);
  };
  auto tmpl = ensure_template(ctx, obj);
  auto type = choose_type(ctx, obj, tmpl);
  status.condition("PreflightPassed", type.ok, type.ok ? "Passed" : "HostCannotRunType",
                   type.message);
  if (!type.ok) return stop("HostCannotRunType", type.message);
  status["instanceType"] = type.type;
  const specs::write_request as{false, "nestedhost:" + name};
  auto applied = ctx.store.apply(owned_workspace(obj, tmpl, type.type), as, true);
  if (!applied.ok()) {
    status.condition("InstanceRunning", false, "WorkspaceInvalid", applied.err().message);
    return stop("WorkspaceInvalid", applied.err().message);
  }
  auto routes = apply_routes(ctx, obj, as);
  if (!routes.ok()) return failed(routes.err());
  auto ws_phase = string_at(applied->object, "status.phase");
  bool running = ws_phase == "Running";
  bool routes_ok = *routes;
  status.condition(
      "InstanceRunning", running, running ? "Running" : "WorkspaceNotReady",
      "workspace " + name + " is " + (ws_phase.empty() ? std::string("Pending") : ws_phase));
  status.condition(
      "RoutesReady", routes_ok, routes_ok ? "Ready" : "RoutesNotReady",
      routes_ok ? "the exposed ports are routed" : "waiting for the exposed ports' routes");
  auto inner = runtime::inner_health::down("waiting for the instance and its routes");
  if (running && routes_ok) inner = look_inside(ctx, name);
  status.condition("InnerControlPlaneReady", inner.ready,
                   inner.ready ? "Answering" : "NotAnswering", inner.message);
  report_inner(status, inner);
  bool ready = running && routes_ok && inner.ready;
  status.condition("Ready", ready, ready ? "Ready" : "NotReady",
                   ready ? "the inner Rockpool answers at /workspace/" + name + "/port/8080/"
                         : "waiting for the instance, its routes and the inner control plane");
  status["phase"] = ready                                       ? "Running"
                    : string_at(obj, "spec.state") == "Stopped" ? "Stopped"
                                                                : "Provisioning";
  if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err());
  // The inner control plane changes without telling the outer one: look again.
  if (ready) return requeue("watching the inner control plane", std::chrono::seconds(10));
  if (running && routes_ok)
    return requeue("waiting for the inner control plane", std::chrono::seconds(1));
  return converged();
}

}  // namespace rockpool::actors::nested_host
