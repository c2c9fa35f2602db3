// The PortRoute reconciler: owned by its workspace (so deleting the workspace
// deletes the route), routed only while the workspace runs, through a proxy
// device and host port (network: proxy) or the instance's bridge address.
#include "port_route/reconciler.hpp"

#include "common/ownership.hpp"
#include "common/pass.hpp"
#include "common/status.hpp"
#include "workspace/workspace.hpp"

#include "rockpool/crds/types.hpp"

#include <algorithm>

namespace rockpool::actors::port_route {

using namespace common;
namespace typed = crds::port_route;
namespace ws_typed = crds::workspace;

namespace {

std::string route_id(const std::string& ws, std::int64_t port) {
  return "rockpool-pr-" + ws + "-" + std::to_string(port);
}
std::string device_name(std::int64_t port) {
  return "rockpool-port-" + std::to_string(port);
}
std::string host_port_owner(const std::string& name) {
  return "PortRoute/" + name;
}

pass_result teardown(reconcile_context& ctx, const json::value& obj) {
  auto spec = typed::spec_of(obj);
  auto meta = crds::object_meta::of(obj);
  if (!spec.ok()) return failed(spec.err());
  if (!meta.ok()) return failed(meta.err());
  const auto& ws = spec->workspace;
  auto port = spec->port;
  if (auto st = ctx.routes.remove(route_id(ws, port)); !st.ok()) return failed(st.err());
  auto inst = ctx.incus.get_instance(ws);
  if (!inst.ok()) return failed(inst.err());
  if (*inst)
    if (auto st = ctx.incus.remove_proxy_device(ws, device_name(port)); !st.ok())
      return failed(st.err());
  if (auto st = ctx.ports.release(host_port_owner(meta->name)); !st.ok()) return failed(st.err());
  return converged("torn down");
}

// Why the workspace cannot take a route now, or "" when it can.
std::pair<std::string, std::string> workspace_unready(const specs::result<json::value>& ws,
                                                      const ws_typed::status& ws_status,
                                                      const std::string& ws_name) {
  if (!ws.ok()) return {"WorkspaceNotFound", "workspace \"" + ws_name + "\" does not exist"};
  if (being_deleted(*ws))
    return {"WorkspaceTerminating", "workspace \"" + ws_name + "\" is being deleted"};
  auto phase = ws_status.phase.value_or(ws_typed::status_phase::Pending);
  if (phase != ws_typed::status_phase::Running)
    return {"WorkspaceNotRunning", "workspace \"" + ws_name + "\" is not running (phase " +
                                       std::string(to_string(phase)) + ")"};
  return {};
}

// Where Caddy sends the route: the instance's bridge address, or a host port
// forwarded by a proxy device. Returns a result only when the pass ends here.
// The route's own view of one pass: its object, name and spec, and its
// workspace's name and status.
struct route_view {
  const json::value& obj;
  const std::string& name;
  const typed::spec& spec;
  const ws_typed::status& ws_status;
};

std::optional<pass_result> ensure_upstream(reconcile_context& ctx, const route_view& v,
                                           const runtime::instance_info& inst,
                                           typed::status& status) {
  const auto& ws_name = v.spec.workspace;
  auto port = v.spec.port;
  if (v.ws_status.network == ws_typed::status_network::bridge) {
    // The workspace's address on the bridge, chosen by the controller.
    auto address = v.ws_status.address.value_or("");
    if (address.empty())
      return requeue("waiting for the workspace's bridge address", std::chrono::seconds(1));
    if (auto st = ctx.ports.release(host_port_owner(v.name)); !st.ok()) return failed(st.err());
    status.upstream = address + ":" + std::to_string(port);
    return std::nullopt;
  }
  auto host_port = ctx.ports.acquire(host_port_owner(v.name));
  if (!host_port.ok()) return failed(host_port.err());
  runtime::proxy_device dev{device_name(port), "tcp:127.0.0.1:" + std::to_string(*host_port),
                            "tcp:127.0.0.1:" + std::to_string(port)};
  if (std::find(inst.proxies.begin(), inst.proxies.end(), dev) == inst.proxies.end())
    if (auto st = ctx.incus.set_proxy_device(ws_name, dev); !st.ok()) {
      if (auto taken = runtime::host_port_in_use(st.err()))
        return workspace::move_off_taken_port(ctx, v.obj, ws_name, *taken);
      return failed(st.err());
    }
  status.upstream = "127.0.0.1:" + std::to_string(*host_port);
  status.host_port = *host_port;
  return std::nullopt;
}

}  // namespace

std::vector<watch_rule> reconciler::watches() const {
  return {{"Workspace", [](const json::value& pr) {
             auto spec = typed::spec_of(pr);
             return spec.ok() ? std::vector<std::string>{spec->workspace}
                              : std::vector<std::string>{};
           }}};
}

pass_result reconciler::finalize(reconcile_context& ctx, const json::value& obj) const {
  return teardown(ctx, obj);
}

namespace {

// The route of a PortRoute to upstream (public when spec.public).
runtime::route route_of(const typed::spec& spec, const std::string& upstream) {
  return {route_id(spec.workspace, spec.port),
          "/workspace/" + spec.workspace + "/port/" + std::to_string(spec.port) + "/", upstream,
          spec.public_.value_or(false)};
}

// The route stays while the workspace sleeps: a request through it reaches
// the gateway, which wakes the workspace.
pass_result while_sleeping(reconcile_context& ctx, const route_view& v, status_builder& status) {
  const auto& ws_name = v.spec.workspace;
  auto old = typed::status_of(v.obj);
  auto upstream = old.ok() ? old->upstream.value_or("") : std::string();
  if (!upstream.empty())
    if (auto st = ctx.routes.upsert(route_of(v.spec, upstream)); !st.ok()) return failed(st.err());
  status.condition(
      "UpstreamReady", !upstream.empty(), "WorkspaceSleeping",
      "the route stays while workspace \"" + ws_name + "\" sleeps; a request wakes it");
  status.condition("Ready", false, "WorkspaceSleeping",
                   "workspace \"" + ws_name + "\" sleeps; a request wakes it");
  status["phase"] = to_string(typed::status_phase::Pending);
  if (auto st = status.write(ctx, v.obj); !st.ok()) return failed(st.err());
  return converged("the workspace sleeps");
}

}  // namespace

// Long: the pass reads as its list of steps (adopt, the workspace's state,
// the upstream, the route, the status).
pass_result reconciler::reconcile(reconcile_context& ctx, json::value obj) const {
  auto spec = typed::spec_of(obj);
  if (!spec.ok()) return failed(spec.err());
  const auto& ws_name = spec->workspace;
  auto ws = ctx.store.get("Workspace", ws_name);
  if (!ws.ok() && ws.err().why != specs::reason::not_found) return failed(ws.err());
  auto ws_status = ws.ok() ? ws_typed::status_of(*ws) : ws_typed::status{};
  if (!ws_status.ok()) return failed(ws_status.err());
  auto adopted = adopt(ctx, std::move(obj), ws.ok() ? &*ws : nullptr);
  if (auto* r = std::get_if<pass_result>(&adopted)) return *r;
  obj = std::move(std::get<json::value>(adopted));
  auto meta = crds::object_meta::of(obj);
  if (!meta.ok()) return failed(meta.err());
  route_view v{obj, meta->name, *spec, *ws_status};

  status_builder status(obj, ctx.clock, {"UpstreamReady", "Ready"});
  auto id = route_id(ws_name, spec->port);
  auto not_ready = [&](const std::string& reason, const std::string& message) {
    if (auto st = ctx.routes.remove(id); !st.ok()) return failed(st.err());
    status.condition("UpstreamReady", false, reason, message);
    status.condition("Ready", false, reason, message);
    status["phase"] = to_string(typed::status_phase::Pending);
    if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err());
    return converged(message);  // the workspace's own changes will poke us
  };
  if (ws.ok() && !being_deleted(*ws) && ws_status->phase == ws_typed::status_phase::Sleeping)
    return while_sleeping(ctx, v, status);
  if (auto [reason, message] = workspace_unready(ws, *ws_status, ws_name); !reason.empty())
    return not_ready(reason, message);
  auto inst = ctx.incus.get_instance(ws_name);
  if (!inst.ok()) return failed(inst.err());
  if (!*inst) return not_ready("InstanceNotFound", "the workspace's instance does not exist");

  typed::status next;
  if (auto stop = ensure_upstream(ctx, v, **inst, next)) return *stop;
  auto r = route_of(*spec, *next.upstream);
  if (auto st = ctx.routes.upsert(r); !st.ok()) return failed(st.err());
  auto answers = ctx.routes.answers(r);
  bool ok = answers.ok() && *answers;
  status.condition("UpstreamReady", true, "ProxyReady",
                   "forwarding " + *next.upstream + " to port " + std::to_string(spec->port));
  status.condition("Ready", ok, ok ? "Ready" : "RouteNotAnswering",
                   ok ? r.path_prefix + " answers" : "waiting for " + r.path_prefix + " to answer");
  next.phase = ok ? typed::status_phase::Ready : typed::status_phase::Pending;
  next.url = r.path_prefix;
  next.public_ = r.open;
  status.set_fields(write_value(next));
  if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err());
  if (!ok) return requeue("waiting for the route to answer", short_wait);
  return converged();
}

}  // namespace rockpool::actors::port_route
