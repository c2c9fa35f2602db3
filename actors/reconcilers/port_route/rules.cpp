// PortRoute rules beyond its schema: not the workspace's IDE port, and one
// route per workspace port.
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/crds/typed.hpp"
#include "rockpool/crds/types.hpp"

#include <algorithm>

namespace rockpool::actors::port_route {

namespace typed = crds::port_route;

namespace {

// The workspace's IDE port (spec.ide.port, 8080 by default).
std::int64_t ide_port_of(const specs::json::value& ws) {
  auto spec = crds::workspace::spec_of(ws);
  return spec.ok() && spec->ide ? spec->ide->port.value_or(8080) : 8080;
}

}  // namespace

void validate(const specs::json::value& obj, const specs::validation_context& ctx,
              std::vector<specs::field_error>& out) {
  auto meta = crds::object_meta::of(obj);
  auto spec = typed::spec_of(obj);
  if (!meta.ok() || !spec.ok()) {  // the schema let it through: say why it still does not read
    out.push_back({"spec", (meta.ok() ? spec.err() : meta.err()).message});
    return;
  }
  const auto& ws = spec->workspace;
  auto port = spec->port;
  auto port_text = "port " + std::to_string(port);
  // A nested host routes its inner control plane (its workspace's port 8080)
  // at /workspace/NH/port/8080/ too, as the inner Rockpool's URLs expect.
  const auto& refs = meta->owner_references;
  bool nested_host_route =
      std::any_of(refs.begin(), refs.end(), [](const auto& r) { return r.kind == "NestedHost"; });
  if (ctx.lookup && !nested_host_route)
    if (auto w = ctx.lookup("Workspace", ws); w && ide_port_of(*w) == port)
      out.push_back({"spec.port", port_text + " is workspace \"" + ws +
                                      "\"'s IDE port, which is already routed at /workspace/" + ws +
                                      "/"});
  if (!ctx.list) return;
  for (const auto& other : ctx.list("PortRoute")) {
    auto other_meta = crds::object_meta::of(other);
    auto other_spec = typed::spec_of(other);
    if (!other_meta.ok() || !other_spec.ok() || other_meta->name == meta->name) continue;
    if (other_spec->workspace == ws && other_spec->port == port)
      out.push_back({"spec.port", port_text + " of workspace \"" + ws +
                                      "\" is already routed by portroute/" + other_meta->name});
  }
}

// One route per workspace port: creates and updates of routes to the same
// port are admitted one at a time.
std::vector<std::string> exclusive(const specs::json::value& obj) {
  auto spec = typed::spec_of(obj);
  if (!spec.ok()) return {"PortRoute workspace  port "};
  return {"PortRoute workspace " + spec->workspace + " port " + std::to_string(spec->port)};
}

}  // namespace rockpool::actors::port_route
