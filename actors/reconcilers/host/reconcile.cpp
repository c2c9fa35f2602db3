#include "host/reconciler.hpp"

#include "common/pass.hpp"
#include "common/status.hpp"

#include "rockpool/actors/orphans.hpp"
#include "rockpool/crds/typed.hpp"
#include "rockpool/crds/types.hpp"

#include "rockpool/specs/schema.hpp"

#include <filesystem>
#include <optional>

namespace rockpool::actors::host {

using namespace common;
namespace typed = crds::host;

namespace {

// Orphans (rockpool/actors/orphans.hpp), as status.orphans. Rockpool never
// deletes them by itself: `rockpoold restore --delete-orphans` does, when asked.
std::vector<typed::status_orphans_item> orphans(reconcile_context& ctx, std::string& error) {
  std::vector<typed::status_orphans_item> out;
  auto found = find_orphans(
      ctx.incus,
      [&](const std::string& kind, const std::string& name) -> std::optional<std::string> {
        auto owner = ctx.store.get(kind, name);
        if (owner.ok()) return specs::string_at(*owner, "metadata.uid");
        if (owner.err().why == specs::reason::not_found) return std::string();
        return std::nullopt;
      });
  if (!found.ok()) {
    error = found.err().message;
    return out;
  }
  for (const auto& o : *found) out.push_back({o.instance, o.kind, o.name, o.uid});
  return out;
}

runtime::host_check orphan_check(const std::vector<typed::status_orphans_item>& found,
                                 const std::string& error) {
  if (!error.empty())
    return {"NoOrphans", false, "cannot list Incus instances: " + error, "", false};
  std::string names;
  for (std::size_t i = 0; i < found.size() && i < 5; ++i)
    names += (i ? ", " : "") + found[i].instance.value_or("");
  if (found.size() > 5) names += ", ...";
  return {"NoOrphans", found.empty(),
          found.empty() ? "every Rockpool instance has its object"
                        : std::to_string(found.size()) +
                              " instance(s) carry Rockpool's keys but no object owns them: " +
                              names + " (status.orphans)",
          "left running on purpose (a restore deletes them only with --delete-orphans): keep "
          "them, delete them with incus delete --project PROJECT NAME --force, or adopt them "
          "as they run: a "
          "Workspace of the same name annotated rockpool.dev/adopt-instance=true, with "
          "spec.home.fromVolume naming its home volume",
          false};
}

}  // namespace

std::vector<json::value> reconciler::bootstrap() const {
  return {{{"apiVersion", specs::api_version},
           {"kind", "Host"},
           {"metadata", {{"name", "local"}}},
           {"spec", json::object{}}}};
}

pass_result reconciler::reconcile(reconcile_context& ctx, json::value obj) const {
  auto meta = crds::object_meta::of(obj);
  if (!meta.ok()) return failed(meta.err());
  auto old = typed::status_of(obj);
  if (!old.ok()) return failed(old.err());
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
  std::string orphan_error;
  auto found = orphans(ctx, orphan_error);
  checks.push_back(orphan_check(found, orphan_error));
  auto probed = runtime::host_status(checks, version, specs::format_rfc3339(ctx.clock.now()),
                                     meta->generation ? meta->generation : 1);
  typed::status next;
  if (auto st = read_value(probed, next, "status"); !st.ok()) return failed(st.err());
  // An unchanged probe writes nothing.
  keep_transition_times(old->conditions, next.conditions);
  if (bridge)
    next.network = typed::status_network{ctx.bridge->name(), ctx.bridge->cidr(),
                                         ctx.bridge->gateway(), bridge->ready, bridge->reason};
  next.orphans = std::move(found);
  obj.as_object()["status"] = write_value(next);
  obj.as_object()["metadata"].as_object().erase("resourceVersion");
  auto r = ctx.store.replace_status(std::move(obj), controller_write);
  if (!r.ok() && r.err().why != specs::reason::not_found) return failed(r.err());
  return requeue("next probe", settings_.interval);
}

}  // namespace rockpool::actors::host
