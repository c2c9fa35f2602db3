#pragma once

#include "rockpool/actors/reconciler.hpp"

namespace rockpool::actors::port_route {

/// PortRoute: the Caddy route /workspace/{ws}/port/{port}/ to a port inside a
/// workspace. For PortRoute, Watches Workspace (spec.workspace): a route
/// follows its workspace's lifecycle.
class reconciler final : public actors::reconciler {
 public:
  std::string_view kind() const override { return "PortRoute"; }
  bool cleans_up() const override { return true; }
  pass_result finalize(reconcile_context& ctx, const specs::json::value& obj) const override;
  std::vector<watch_rule> watches() const override;
  pass_result reconcile(reconcile_context& ctx, specs::json::value obj) const override;
};

}  // namespace rockpool::actors::port_route
