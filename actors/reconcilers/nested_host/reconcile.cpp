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

#include "rockpool/crds/types.hpp"
#include "rockpool/specs/schema.hpp"

#include <cctype>

namespace rockpool::actors::nested_host {

using namespace common;
namespace typed = crds::nested_host;
namespace ws_typed = crds::workspace;

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
json::value ensure_template(reconcile_context& ctx, const typed::spec& nh) {
  auto name = nh.template_.value_or("");
  if (name.empty()) return nullptr;
  auto t = ctx.store.get("WorkspaceTemplate", name);
  if (t.ok()) return std::move(*t);
  if (name != default_template) return nullptr;
  auto made = ctx.store.create(builtin_template(), controller_write);
  if (made.ok()) return made->object;
  auto again = ctx.store.get("WorkspaceTemplate", name);  // created meanwhile
  return again.ok() ? std::move(*again) : json::value(nullptr);
}

using instance_type = typed::spec_type;

struct type_choice {
  bool ok = true;
  instance_type type = instance_type::container;
  std::string message;
};

// The Host's virtual-machine checks that did not pass, each with its message.
std::vector<std::string> missing_vm_checks(reconcile_context& ctx) {
  auto host = ctx.store.get("Host", "local");
  auto status = host.ok() ? crds::host::status_of(*host) : crds::host::status{};
  std::vector<std::string> missing;
  for (const char* check : vm_checks) {
    std::string message = "not probed yet";
    bool passed = false;
    if (status.ok())
      for (const auto& c : status->conditions)
        if (c.type == check) {
          passed = c.status == crds::host::status_conditions_item_status::True;
          message = c.message.value_or("");
        }
    if (!passed) missing.push_back(std::string(check) + ": " + message);
  }
  return missing;
}

// The instance type, from spec.type, the template's, or what the Host can run.
type_choice choose_type(reconcile_context& ctx, const typed::spec& nh, const json::value& tmpl) {
  std::optional<instance_type> wanted = nh.type;
  if (!wanted && !tmpl.is_null())
    if (auto t = crds::workspace_template::spec_of(tmpl); t.ok() && t->type)
      wanted = *t->type == crds::workspace_template::spec_type::virtual_machine
                   ? instance_type::virtual_machine
                   : instance_type::container;
  auto missing = missing_vm_checks(ctx);
  using enum instance_type;
  if (wanted == virtual_machine && !missing.empty())
    return {false, virtual_machine,
            "a virtual-machine nested host needs KVM, nested KVM and vhost_vsock on this host; "
            "missing: " +
                join(missing) + ". Set spec.type: container to run it as a container instead"};
  if (wanted == virtual_machine) return {true, virtual_machine, "this host runs virtual machines"};
  if (wanted == container)
    return {true, container, "a container with security.nesting=true, as spec.type asks"};
  if (missing.empty()) return {true, virtual_machine, "this host runs virtual machines"};
  return {true, container,
          "a container with security.nesting=true: this host cannot run a virtual machine (" +
              join(missing) + ")"};
}

// The Workspace a nested host owns: nesting on, the chosen type, and the
// inner Rockpool's settings in its init's environment.
json::value owned_workspace(const json::value& nh_obj, const std::string& name,
                            const typed::spec& nh, const json::value& tmpl, instance_type type) {
  ws_typed::spec spec;
  spec.nesting = true;
  spec.type = type == instance_type::virtual_machine ? ws_typed::spec_type::virtual_machine
                                                     : ws_typed::spec_type::container;
  spec.state = nh.state == typed::spec_state::Stopped ? ws_typed::spec_state::Stopped
                                                      : ws_typed::spec_state::Running;
  spec.environment = {{"ROCKPOOL_NESTED_HOST", name},
                      {"ROCKPOOL_INNER_NETWORK", nh.inner_network.value_or("10.123.0.0/24")}};
  if (!tmpl.is_null())
    if (auto meta = crds::object_meta::of(tmpl); meta.ok()) spec.template_ = meta->name;
  if (nh.image && !nh.image->empty()) spec.image = nh.image;
  // The IDE of the developer image; without one, /workspace/NAME/ leads to
  // the inner control plane (the workspace's default IDE port, 8080).
  if (nh.ide && nh.ide->port) spec.ide = ws_typed::spec_ide{nh.ide->port};
  if (nh.resources)
    spec.resources =
        ws_typed::spec_resources{nh.resources->cpu, nh.resources->memory, nh.resources->disk};
  else if (tmpl.is_null())
    spec.resources = ws_typed::spec_resources{4, "8Gi", "50Gi"};
  return {{"apiVersion", specs::api_version},
          {"kind", "Workspace"},
          {"metadata",
           {{"name", name},
            {"ownerReferences", owner_reference(nh_obj, true)},
            {"labels", {{"rockpool.dev/nested-host", name}}}}},
          {"spec", write_value(spec)}};
}

pass_result teardown(reconcile_context& ctx, const json::value& nh) {
  // Owned objects are collected through ownerReferences; wait for the workspace to go.
  auto meta = crds::object_meta::of(nh);
  if (!meta.ok()) return failed(meta.err());
  const auto& name = meta->name;
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
specs::result<bool> apply_routes(reconcile_context& ctx, const json::value& nh_obj,
                                 const std::string& name, const typed::spec& nh,
                                 const specs::write_request& as) {
  bool all_ready = true;
  for (auto port : nh.exposed_ports) {
    crds::port_route::spec spec{name, port, std::nullopt};
    // The inner control plane guards itself (bearer token; its UI asks for
    // one), as the outer :8080 does: no workspace sign-in in front of it.
    if (port == 8080) spec.public_ = true;
    json::value pr = {{"apiVersion", specs::api_version},
                      {"kind", "PortRoute"},
                      {"metadata",
                       {{"name", name + "-" + std::to_string(port)},
                        {"ownerReferences", owner_reference(nh_obj, true)},
                        {"labels", {{"rockpool.dev/nested-host", name}}}}},
                      {"spec", write_value(spec)}};
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

typed::status_inner inner_status(const runtime::inner_health& h) {
  typed::status_inner inner;
  inner.ready = h.ready;
  if (!h.version.empty()) inner.version = h.version;
  if (!h.role.empty()) inner.role = h.role;
  inner.workspaces = h.workspaces;
  inner.ready_workspaces = h.ready_workspaces;
  inner.port_routes = h.port_routes;
  return inner;
}

std::vector<std::string_view> condition_order() {
  return {"PreflightPassed", "InstanceRunning", "RoutesReady", "InnerControlPlaneReady", "Ready"};
}

}  // namespace

pass_result reconciler::finalize(reconcile_context& ctx, const json::value& obj) const {
  return teardown(ctx, obj);
}

// Long: the pass reads as its list of steps (preflight, the owned workspace,
// its routes, the inner control plane, the status).
pass_result reconciler::reconcile(reconcile_context& ctx, json::value obj) const {
  auto meta = crds::object_meta::of(obj);
  if (!meta.ok()) return failed(meta.err());
  auto spec = typed::spec_of(obj);
  if (!spec.ok()) return failed(spec.err());
  const auto& name = meta->name;
  status_builder status(obj, ctx.clock, condition_order());
  typed::status next;
  next.url = "/workspace/" + name + "/port/8080/app/";
  next.api_path = "/workspace/" + name + "/port/8080/api";
  next.workspaces_path = "/workspace/" + name + "/port/8081/";
  auto write = [&](typed::status_phase phase) {
    next.phase = phase;
    status.set_fields(write_value(next));
    return status.write(ctx, obj);
  };
  auto stop = [&](const std::string& reason, const std::string& message) {
    status.condition("Ready", false, reason, message);
    if (auto st = write(typed::status_phase::Failed); !st.ok()) return failed(st.err());
    return terminal(message);
  };
  auto tmpl = ensure_template(ctx, *spec);
  auto type = choose_type(ctx, *spec, tmpl);
  status.condition("PreflightPassed", type.ok, type.ok ? "Passed" : "HostCannotRunType",
                   type.message);
  if (!type.ok) return stop("HostCannotRunType", type.message);
  next.instance_type = type.type == instance_type::virtual_machine
                           ? typed::status_instance_type::virtual_machine
                           : typed::status_instance_type::container;
  const specs::write_request as{false, "nestedhost:" + name};
  auto applied = ctx.store.apply(owned_workspace(obj, name, *spec, tmpl, type.type), as, true);
  if (!applied.ok()) {
    status.condition("InstanceRunning", false, "WorkspaceInvalid", applied.err().message);
    return stop("WorkspaceInvalid", applied.err().message);
  }
  auto routes = apply_routes(ctx, obj, name, *spec, as);
  if (!routes.ok()) return failed(routes.err());
  auto ws_status = ws_typed::status_of(applied->object);
  if (!ws_status.ok()) return failed(ws_status.err());
  auto ws_phase = ws_status->phase.value_or(ws_typed::status_phase::Pending);
  bool running = ws_phase == ws_typed::status_phase::Running;
  bool routes_ok = *routes;
  status.condition("InstanceRunning", running, running ? "Running" : "WorkspaceNotReady",
                   "workspace " + name + " is " + std::string(to_string(ws_phase)));
  status.condition(
      "RoutesReady", routes_ok, routes_ok ? "Ready" : "RoutesNotReady",
      routes_ok ? "the exposed ports are routed" : "waiting for the exposed ports' routes");
  auto inner = runtime::inner_health::down("waiting for the instance and its routes");
  if (running && routes_ok) inner = look_inside(ctx, name);
  status.condition("InnerControlPlaneReady", inner.ready,
                   inner.ready ? "Answering" : "NotAnswering", inner.message);
  next.inner = inner_status(inner);
  bool ready = running && routes_ok && inner.ready;
  status.condition("Ready", ready, ready ? "Ready" : "NotReady",
                   ready ? "the inner Rockpool answers at /workspace/" + name + "/port/8080/"
                         : "waiting for the instance, its routes and the inner control plane");
  using enum typed::status_phase;
  auto phase = ready ? Running : spec->state == typed::spec_state::Stopped ? Stopped : Provisioning;
  if (auto st = write(phase); !st.ok()) return failed(st.err());
  // The inner control plane changes without telling the outer one: look again.
  if (ready) return requeue("watching the inner control plane", std::chrono::seconds(10));
  if (running && routes_ok)
    return requeue("waiting for the inner control plane", std::chrono::seconds(1));
  return converged();
}

}  // namespace rockpool::actors::nested_host
