// PortRoute rules beyond its schema: not the workspace's IDE port, and one
// route per workspace port.
#include "rockpool/actors/kind_rules.hpp"

namespace rockpool::actors::port_route {

using specs::int_at;
using specs::string_at;

void validate(const specs::json::value& obj, const specs::validation_context& ctx,
              std::vector<specs::field_error>& out) {
  auto name = string_at(obj, "metadata.name");
  auto ws = string_at(obj, "spec.workspace");
  auto port = int_at(obj, "spec.port");
  if (ws.empty() || !port) return;
  auto port_text = "port " + std::to_string(*port);
  // A nested host routes its inner control plane (its workspace's port 8080)
  // at /workspace/NH/port/8080/ too, as the inner Rockpool's URLs expect.
  bool nested_host_route = false;
  if (const auto* refs = specs::find_path(obj, "metadata.ownerReferences");
      refs && refs->is_array())
    for (const auto& r : refs->get_array())
      nested_host_route = nested_host_route || string_at(r, "kind") == "NestedHost";
  if (ctx.lookup && !nested_host_route)
    if (auto w = ctx.lookup("Workspace", ws))
      if (int_at(*w, "spec.ide.port").value_or(8080) == *port)
        out.push_back({"spec.port", port_text + " is workspace \"" + ws +
                                        "\"'s IDE port, which is already routed at /workspace/" +
                                        ws + "/"});
  if (!ctx.list) return;
  for (const auto& other : ctx.list("PortRoute")) {
    if (string_at(other, "metadata.name") == name) continue;
    if (string_at(other, "spec.workspace") == ws && int_at(other, "spec.port") == port)
      out.push_back({"spec.port", port_text + " of workspace \"" + ws +
                                      "\" is already routed by portroute/" +
                                      string_at(other, "metadata.name")});
  }
}

// One route per workspace port: creates and updates of routes to the same
// port are admitted one at a time.
std::vector<std::string> exclusive(const specs::json::value& obj) {
  auto port = int_at(obj, "spec.port");
  return {"PortRoute workspace " + string_at(obj, "spec.workspace") + " port " +
          (port ? std::to_string(*port) : "")};
}

}  // namespace rockpool::actors::port_route
