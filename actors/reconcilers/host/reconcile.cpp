#include "host/reconciler.hpp"

#include "common/pass.hpp"
#include "common/status.hpp"

#include "rockpool/specs/schema.hpp"

#include <filesystem>
#include <optional>

namespace rockpool::actors::host {

using namespace common;

std::vector<json::value> reconciler::bootstrap() const {
  return {{{"apiVersion", specs::api_version},
           {"kind", "Host"},
           {"metadata", {{"name", "local"}}},
           {"spec", json::object{}}}};
}

pass_result reconciler::reconcile(reconcile_context& ctx, json::value obj) const {
  auto checks = runtime::probe_host(settings_.sources);
  auto version = settings_.incus_version ? settings_.incus_version() : std::string();
  std::optional<bridge_network::state> bridge;
  if (ctx.bridge != nullptr && !version.empty()) {
    // Incus runs dnsmasq for a managed bridge's DHCP (and so for the addresses
    // the controller gives workspaces).
    bool dnsmasq = std::filesystem::exists(settings_.sources.root + "usr/sbin/dnsmasq");
    checks.push_back({"DnsmasqPresent", dnsmasq,
                      dnsmasq ? "dnsmasq is installed" : "dnsmasq is not installed",
                      "apt-get install dnsmasq-base (Incus needs it for a managed bridge)", false});
    bridge = ctx.bridge->ensure(ctx.incus);
    checks.push_back({"BridgeReady", bridge->ready, bridge->message,
                      "workspaces fall back to network: proxy until the bridge is usable; see "
                      "docs/operations.md#networking",
                      false});
    if (bridge->ready)
      checks.push_back({"BridgeNAT", bridge->nat,
                        bridge->nat ? "workspaces reach the outside through NAT"
                                    : "ipv4.nat is off on " + ctx.bridge->name(),
                        "incus network set " + ctx.bridge->name() + " ipv4.nat=true", false});
  }
  auto status = runtime::host_status(checks, version, specs::format_rfc3339(ctx.clock.now()),
                                     specs::int_at(obj, "metadata.generation").value_or(1));
  // An unchanged probe writes nothing.
  keep_transition_times(specs::find_path(obj, "status.conditions"),
                        status.as_object()["conditions"].as_array());
  if (bridge)
    status.as_object()["network"] = {{"name", ctx.bridge->name()},
                                     {"cidr", ctx.bridge->cidr()},
                                     {"gateway", ctx.bridge->gateway()},
                                     {"ready", bridge->ready},
                                     {"state", bridge->reason}};
  obj.as_object()["status"] = std::move(status);
  obj.as_object()["metadata"].as_object().erase("resourceVersion");
  auto r = ctx.store.replace_status(std::move(obj), controller_write);
  if (!r.ok() && r.err().why != specs::reason::not_found) return failed(r.err().message);
  return requeue("next probe", settings_.interval);
}

}  // namespace rockpool::actors::host
