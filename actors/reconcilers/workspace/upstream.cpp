// Where Caddy sends /workspace/{name}/: a host loopback port forwarded into
// the instance by an Incus proxy device (network: proxy), or the address the
// controller gave the instance on its bridge (network: bridge).
#include "workspace/workspace.hpp"

#include <algorithm>

namespace rockpool::actors::workspace {

using namespace common;

pass_result move_off_taken_port(reconcile_context& ctx, const json::value& obj,
                                const std::string& instance, unsigned short port) {
  auto listen = "tcp:127.0.0.1:" + std::to_string(port);
  auto inst = ctx.incus.get_instance(instance);
  if (!inst.ok()) return failed(inst.err());
  if (*inst)
    for (const auto& d : (*inst)->proxies)
      if (d.listen == listen)
        if (auto st = ctx.incus.remove_proxy_device(instance, d.name); !st.ok())
          return failed(st.err());
  auto owner = ctx.ports.owner_of(port);
  if (owner)
    if (auto st = ctx.ports.release(*owner); !st.ok()) return failed(st.err());
  auto m = "host port " + std::to_string(port) + (owner ? " (held for " + *owner + ")" : "") +
           " is in use by another process; moving to another port";
  ctx.events.record(obj, "Warning", "HostPortInUse", m);
  return requeue(m, std::chrono::milliseconds(0));
}

// Incus refused a proxy device's host port: move to another one.
pass::step pass::on_port_taken(const specs::error& e) {
  auto port = runtime::host_port_in_use(e);
  if (!port) return std::nullopt;
  auto moved = move_off_taken_port(ctx_, obj_, s_.name, *port);
  return fail("HostPortInUse", moved.message, moved);
}

pass::step pass::ensure_upstream(std::string& upstream) {
  if (s_.network == "proxy") {
    auto port = ctx_.ports.acquire(ide_port_owner(s_.name));
    if (!port.ok()) return fail("NoHostPort", port.err().message, failed(port.err()));
    runtime::proxy_device dev{ide_device, "tcp:127.0.0.1:" + std::to_string(*port),
                              "tcp:127.0.0.1:" + std::to_string(s_.ide_port)};
    const auto& proxies = inst_->proxies;
    if (std::find(proxies.begin(), proxies.end(), dev) == proxies.end())
      if (auto st = ctx_.incus.set_proxy_device(s_.name, dev); !st.ok()) {
        if (auto moved = on_port_taken(st.err())) return moved;
        return fail("ProxyDeviceFailed", st.err().message, failed(st.err()));
      }
    upstream = "127.0.0.1:" + std::to_string(*port);
    next_.host_port = *port;
    return std::nullopt;
  }
  // A workspace moved from proxy to bridge gives its proxy device and host port up.
  const auto& proxies = inst_->proxies;
  if (std::any_of(proxies.begin(), proxies.end(),
                  [](const runtime::proxy_device& d) { return d.name == ide_device; }))
    if (auto st = ctx_.incus.remove_proxy_device(s_.name, ide_device); !st.ok())
      return fail("ProxyDeviceFailed", st.err().message, failed(st.err()));
  if (auto st = ctx_.ports.release(ide_port_owner(s_.name)); !st.ok())
    return failed(st.err());
  next_.host_port.reset();
  // The address is the one the controller chose: known before the instance answers.
  upstream = address_ + ":" + std::to_string(s_.ide_port);
  return std::nullopt;
}

}  // namespace rockpool::actors::workspace
