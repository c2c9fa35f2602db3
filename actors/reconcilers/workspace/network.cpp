// How the workspace is reached (docs/operations.md#networking):
//   bridge: a NIC on the controller's managed bridge with a static address
//           from its IPAM; Caddy goes straight to ADDRESS:PORT.
//   proxy:  an Incus proxy device from a host loopback port (upstream.cpp).
// spec.network unset means bridge when the Host found the bridge usable when
// the workspace was first reconciled, else proxy; the choice is kept in
// status.network so a bridge outage never flips a workspace's mode.
#include "workspace/workspace.hpp"

namespace rockpool::actors::workspace {

using namespace common;

std::string address_owner(const std::string& workspace) {
  return "Workspace/" + workspace;
}

pass::step pass::choose_network() {
  if (s_.network.empty()) {
    auto kept = old_.network ? std::string(to_string(*old_.network)) : std::string();
    // A workspace from before bridge networking (a host port, no recorded
    // mode) stays on its proxy device: an upgrade does not move it.
    if (kept.empty() && old_.host_port) kept = "proxy";
    s_.network = !kept.empty()                                    ? kept
                 : ctx_.bridge != nullptr && ctx_.bridge->ready() ? "bridge"
                                                                  : "proxy";
  }
  next_.network = s_.network == "bridge" ? typed::status_network::bridge
                                         : typed::status_network::proxy;
  if (s_.network != "bridge") {
    next_.address.reset();
    return std::nullopt;
  }
  if (ctx_.bridge == nullptr) {
    auto m = "network: bridge, but bridge networking is off on this controller (--bridge none)";
    return fail("BridgeUnavailable", m, terminal(m));
  }
  if (!ctx_.bridge->ready()) {
    // Recreates a bridge deleted behind the controller's back.
    auto state = ctx_.bridge->ensure(ctx_.incus);
    if (!state.ready)
      return fail("BridgeUnavailable", state.message,
                  requeue(state.message, std::chrono::seconds(10)));
  }
  auto address = ctx_.bridge->acquire(address_owner(s_.name));
  if (!address.ok()) return fail("NoAddress", address.err().message, failed(address.err()));
  address_ = *address;
  next_.address = address_;
  return std::nullopt;
}

std::optional<runtime::nic_device> pass::wanted_nic() const {
  if (s_.network != "bridge" || address_.empty()) return std::nullopt;
  return runtime::nic_device{"eth0", ctx_.bridge->name(), address_, true};
}

pass::step pass::ensure_nic() {
  auto want = wanted_nic();
  if (!want || inst_->nic == want) return std::nullopt;
  bool repair = inst_->nic.has_value() || !created_now_;
  if (auto st = ctx_.incus.set_nic_device(s_.name, *want); !st.ok()) {
    ctx_.bridge->ensure(ctx_.incus);  // the bridge may be what is missing
    return fail("NetworkFailed", st.err().message, failed(st.err()));
  }
  inst_->nic = want;
  if (!repair) return std::nullopt;
  auto m =
      "put the instance's NIC back on " + want->network + " with address " + want->ipv4_address;
  // A running instance configured its network at boot; restart it so it takes
  // the repaired NIC's address (a hot-plugged NIC stays unconfigured).
  if (inst_->status == "Running") {
    m += "; restarted the instance to bring its network up";
    if (auto st = ctx_.incus.stop_instance(s_.name); !st.ok())
      return fail("StopFailed", st.err().message, failed(st.err()));
    if (auto st = ctx_.incus.start_instance(s_.name); !st.ok())
      return fail("StartFailed", st.err().message, failed(st.err()));
  }
  ctx_.events.record(obj_, "Warning", "NetworkRepaired", m);
  return std::nullopt;
}

}  // namespace rockpool::actors::workspace
