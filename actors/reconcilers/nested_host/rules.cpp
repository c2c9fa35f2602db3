// NestedHost rules beyond its schema: an inner network that overlaps no
// other network, exposed ports listed once and apart from the IDE's, an image
// or an existing template.
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/crds/typed.hpp"
#include "rockpool/crds/types.hpp"

#include <set>

namespace rockpool::actors::nested_host {

namespace typed = crds::nested_host;

namespace {

void check_inner_network(const std::string& name, const typed::spec& spec,
                         const specs::validation_context& ctx,
                         std::vector<specs::field_error>& out) {
  auto cidr = spec.inner_network.value_or("");
  if (cidr.empty()) return;
  const std::string field = "spec.innerNetwork";
  auto parsed = specs::parse_cidr(cidr);
  if (!parsed) {
    out.push_back({field, "must be an IPv4 CIDR such as 10.123.0.0/24, got \"" + cidr + "\""});
    return;
  }
  if (parsed->second < 8 || parsed->second > 30) {
    out.push_back({field, "prefix length must be between /8 and /30"});
    return;
  }
  if (specs::cidrs_overlap(cidr, "127.0.0.0/8"))
    out.push_back({field, "overlaps the loopback network 127.0.0.0/8"});
  for (const auto& outer : ctx.outer_networks)
    if (specs::cidrs_overlap(cidr, outer))
      out.push_back({field, "overlaps the outer host's network " + outer});
  if (!ctx.list) return;
  for (const auto& other : ctx.list("NestedHost")) {
    auto other_meta = crds::object_meta::of(other);
    auto other_spec = typed::spec_of(other);
    if (!other_meta.ok() || !other_spec.ok()) continue;
    const auto& on = other_meta->name;
    auto oc = other_spec->inner_network.value_or("");
    if (on != name && specs::cidrs_overlap(cidr, oc))
      out.push_back({field, "overlaps nestedhost/" + on + "'s inner network " + oc});
  }
}

}  // namespace

void validate(const specs::json::value& obj, const specs::validation_context& ctx,
              std::vector<specs::field_error>& out) {
  auto meta = crds::object_meta::of(obj);
  auto spec = typed::spec_of(obj);
  if (!meta.ok() || !spec.ok())  // the schema let it through: say why it still does not read
    return out.push_back({"spec", (meta.ok() ? spec.err() : meta.err()).message});
  check_inner_network(meta->name, *spec, ctx, out);
  std::int64_t ide = spec->ide ? spec->ide->port.value_or(-1) : -1;  // -1: unset
  std::set<std::int64_t> seen;
  for (std::size_t i = 0; i < spec->exposed_ports.size(); ++i) {
    auto p = spec->exposed_ports[i];
    auto field = "spec.exposedPorts[" + std::to_string(i) + "]";
    auto port = "port " + std::to_string(p);
    if (!seen.insert(p).second) out.push_back({field, port + " is listed twice"});
    if (ide == p)
      out.push_back(
          {field, port + " is spec.ide.port, which is routed at /workspace/" + meta->name + "/"});
  }
  // The built-in template may be absent: the controller creates it when needed.
  auto tmpl = spec->template_.value_or("");
  if (spec->image.value_or("").empty() && !tmpl.empty() && tmpl != "rockpool-nested-host" &&
      ctx.sees_store && ctx.lookup && !ctx.lookup("WorkspaceTemplate", tmpl))
    out.push_back({"spec.template",
                   "WorkspaceTemplate \"" + tmpl + "\" does not exist and spec.image is not set"});
}

// Inner networks must not overlap: any two nested hosts may conflict, so
// their writes are admitted one at a time (they are few).
std::vector<std::string> exclusive(const specs::json::value&) {
  return {"NestedHost inner networks"};
}

}  // namespace rockpool::actors::nested_host
