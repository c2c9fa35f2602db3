// NestedHost rules beyond its schema: an inner network that overlaps no
// other network, exposed ports listed once and apart from the IDE's, an image
// or an existing template.
#include "rockpool/actors/kind_rules.hpp"

#include <set>

namespace rockpool::actors::nested_host {

using specs::string_at;

namespace {

void check_inner_network(const specs::json::value& obj, const specs::validation_context& ctx,
                         std::vector<specs::field_error>& out) {
  auto cidr = string_at(obj, "spec.innerNetwork");
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
  auto name = string_at(obj, "metadata.name");
  for (const auto& other : ctx.list("NestedHost")) {
    auto on = string_at(other, "metadata.name");
    auto oc = string_at(other, "spec.innerNetwork");
    if (on != name && specs::cidrs_overlap(cidr, oc))
      out.push_back({field, "overlaps nestedhost/" + on + "'s inner network " + oc});
  }
}

}  // namespace

void validate(const specs::json::value& obj, const specs::validation_context& ctx,
              std::vector<specs::field_error>& out) {
  check_inner_network(obj, ctx, out);
  auto ide = specs::int_at(obj, "spec.ide.port");
  if (const auto* ports = specs::find_path(obj, "spec.exposedPorts"); ports && ports->is_array()) {
    std::set<std::int64_t> seen;
    for (std::size_t i = 0; i < ports->get_array().size(); ++i) {
      const auto& p = ports->get_array()[i];
      if (!p.is_int64()) continue;
      auto field = "spec.exposedPorts[" + std::to_string(i) + "]";
      auto port = "port " + std::to_string(p.get_int64());
      if (!seen.insert(p.get_int64()).second) out.push_back({field, port + " is listed twice"});
      if (ide == p.get_int64())
        out.push_back({field, port + " is spec.ide.port, which is routed at /workspace/" +
                                  string_at(obj, "metadata.name") + "/"});
    }
  }
  // The built-in template may be absent: the controller creates it when needed.
  auto tmpl = string_at(obj, "spec.template");
  if (string_at(obj, "spec.image").empty() && !tmpl.empty() && tmpl != "rockpool-nested-host" &&
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
