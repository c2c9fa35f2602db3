// The PortRoute reconciler: owned by its workspace (so deleting the workspace
// deletes the route), routed only while the workspace runs, through a proxy
// device and host port (network: proxy) or the instance's bridge address.
#include "port_route/reconciler.hpp"

#include "common/ownership.hpp"
#include "common/pass.hpp"
#include "common/status.hpp"
#include "workspace/workspace.hpp"

#include <algorithm>

namespace rockpool::actors::port_route {

using namespace common;
using specs::int_at;
using specs::string_at;

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
  auto ws = string_at(obj, "spec.workspace");
  auto port = int_at(obj, "spec.port").value_or(0);
  if (auto st = ctx.routes.remove(route_id(ws, port)); !st.ok()) return failed(st.err());
  auto inst = ctx.incus.get_instance(ws);
  if (!inst.ok()) return failed(inst.err());
  if (*inst)
    if (auto st = ctx.incus.remove_proxy_device(ws, device_name(port)); !st.ok())
      return failed(st.err());
  if (auto st = ctx.ports.release(host_port_owner(string_at(obj, "metadata.name"))); !st.ok())
    return failed(st.err());
  return converged("torn down");
}

// Why the workspace cannot take a route now, or "" when it can.
std::pair<std::string, std::string> workspace_unready(const specs::result<json::value>& ws,
                                                      const std::string& ws_name) {
  if (!ws.ok()) return {"WorkspaceNotFound", "workspace \"" + ws_name + "\" does not exist"};
  if (being_deleted(*ws))
    return {"WorkspaceTerminating", "workspace \"" + ws_name + "\" is being deleted"};
  auto phase = string_at(*ws, "status.phase");
  if (phase != "Running")
    return {"WorkspaceNotRunning", "workspace \"" + ws_name + "\" is not running (phase " +
                                       (phase.empty() ? std::string("Pending") : phase) + ")"};
  return {};
}

// Where Caddy sends the route: the instance's bridge address, or a host port
// forwarded by a proxy device. Returns a result only when the pass ends here.
std::optional<pass_result> ensure_upstream(reconcile_context& ctx, const json::value& obj,
                                           const json::value& ws,
                                           const runtime::instance_info& inst,
                                           status_builder& status, std::string& upstream) {
  auto ws_name = string_at(ws, "metadata.name");
  auto port = int_at(obj, "spec.port").value_or(0);
  if (string_at(ws, "status.network") == "bridge") {
    // The workspace's address on the bridge, chosen by the controller.
    auto address = string_at(ws, "status.address");
    if (address.empty())
      return requeue("waiting for the workspace's bridge address", std::chrono::seconds(1));
    if (auto st = ctx.ports.release(host_port_owner(string_at(obj, "metadata.name"))); !st.ok())
      return failed(st.err());
    upstream = address + ":" + std::to_string(port);
    return std::nullopt;
  }
  auto host_port = ctx.ports.acquire(host_port_owner(string_at(obj, "metadata.name")));
  if (!host_port.ok()) return failed(host_port.err());
  runtime::proxy_device dev{device_name(port), "tcp:127.0.0.1:" + std::to_string(*host_port),
                            "tcp:127.0.0.1:" + std::to_string(port)};
  if (std::find(inst.proxies.begin(), inst.proxies.end(), dev) == inst.proxies.end())
    if (auto st = ctx.incus.set_proxy_device(ws_name, dev); !st.ok()) {
      if (auto taken = runtime::host_port_in_use(st.err()))
        return workspace::move_off_taken_port(ctx, obj, ws_name, *taken);
      return failed(st.err());
    }
  upstream = "127.0.0.1:" + std::to_string(*host_port);
  status["hostPort"] = *host_port;
  return std::nullopt;
}

}  // namespace

std::vector<watch_rule> reconciler::watches() const {
  return {{"Workspace", [](const json::value& pr) {
             return std::vector<std::string>{string_at(pr, "spec.workspace")};
           }}};
}

pass_result reconciler::finalize(reconcile_context& ctx, const json::value& obj) const {
  return teardown(ctx, obj);
}

namespace {

// The route of a PortRoute to upstream (public when spec.public).
runtime::route route_of(const json::value& pr, const std::string& ws_name, std::int64_t port,
                        const std::string& upstream) {
  const auto* pub = specs::find_path(pr, "spec.public");
  return {route_id(ws_name, port), "/workspace/" + ws_name + "/port/" + std::to_string(port) + "/",
          upstream, pub != nullptr && pub->is_bool() && pub->as_bool()};
}

// The route stays while the workspace sleeps: a request through it reaches
// the gateway, which wakes the workspace.
pass_result while_sleeping(reconcile_context& ctx, const json::value& obj, status_builder& status,
                           const std::string& ws_name, std::int64_t port) {
  auto upstream = string_at(obj, "status.upstream");
  if (!upstream.empty())
    if (auto st = ctx.routes.upsert(route_of(obj, ws_name, port, upstream)); !st.ok())
      return failed(st.err());
  status.condition("UpstreamReady", !upstream.empty(), "WorkspaceSleeping",
                   "the route stays while workspace \"" + ws_name + "\" sleeps; a request wakes it");
  status.condition("Ready", false, "WorkspaceSleeping",
                   "workspace \"" + ws_name + "\" sleeps; a request wakes it");
  status["phase"] = "Pending";
  if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err());
  return converged("the workspace sleeps");
}

}  // namespace

pass_result reconciler::reconcile(reconcile_context& ctx, json::value obj) const {
  auto ws_name = string_at(obj, "spec.workspace");
  auto port = int_at(obj, "spec.port").value_or(0);
  auto ws = ctx.store.get("Workspace", ws_name);
  if (!ws.ok() && ws.err().why != specs::reason::not_found) return failed(ws.err());
  auto adopted = adopt(ctx, std::move(obj), ws.ok() ? &*ws : nullptr);
  if (auto* r = std::get_if<pass_result>(&adopted)) return *r;
  obj = std::move(std::get<json::value>(adopted));

  status_builder status(obj, ctx.clock, {"UpstreamReady", "Ready"});
  auto id = route_id(ws_name, port);
  auto not_ready = [&](const std::string& reason, const std::string& message) {
    if (auto st = ctx.routes.remove(id); !st.ok()) return failed(st.err());
    status.condition("UpstreamReady", false, reason, message);
    status.condition("Ready", false, reason, message);
    status["phase"] = "Pending";
    if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err());
    return converged(message);  // the workspace's own changes will poke us
  };
  if (ws.ok() && !being_deleted(*ws) && string_at(*ws, "status.phase") == "Sleeping")
    return while_sleeping(ctx, obj, status, ws_name, port);
  if (auto [reason, message] = workspace_unready(ws, ws_name); !reason.empty())
    return not_ready(reason, message);
  auto inst = ctx.incus.get_instance(ws_name);
  if (!inst.ok()) return failed(inst.err());
  if (!*inst) return not_ready("InstanceNotFound", "the workspace's instance does not exist");

  std::string upstream;
  if (auto stop = ensure_upstream(ctx, obj, *ws, **inst, status, upstream)) return *stop;
  auto r = route_of(obj, ws_name, port, upstream);
  if (auto st = ctx.routes.upsert(r); !st.ok()) return failed(st.err());
  auto answers = ctx.routes.answers(r);
  bool ok = answers.ok() && *answers;
  status.condition("UpstreamReady", true, "ProxyReady",
                   "forwarding " + upstream + " to port " + std::to_string(port));
  status.condition("Ready", ok, ok ? "Ready" : "RouteNotAnswering",
                   ok ? r.path_prefix + " answers" : "waiting for " + r.path_prefix + " to answer");
  status["phase"] = ok ? "Ready" : "Pending";
  status["upstream"] = upstream;
  status["url"] = r.path_prefix;
  status["public"] = r.open;
  if (auto st = status.write(ctx, obj); !st.ok()) return failed(st.err());
  if (!ok) return requeue("waiting for the route to answer", short_wait);
  return converged();
}

}  // namespace rockpool::actors::port_route
