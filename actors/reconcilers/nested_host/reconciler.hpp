#pragma once

#include "rockpool/actors/reconciler.hpp"

namespace rockpool::actors::nested_host {

/// NestedHost: a workspace with nesting on that runs an inner Rockpool, and a
/// PortRoute per exposed port. For NestedHost, Owns Workspace and PortRoute.
class reconciler final : public actors::reconciler {
 public:
  std::string_view kind() const override { return "NestedHost"; }
  bool cleans_up() const override { return true; }
  pass_result finalize(reconcile_context& ctx, const specs::json::value& obj) const override;
  std::vector<std::string> owns() const override { return {"Workspace", "PortRoute"}; }
  pass_result reconcile(reconcile_context& ctx, specs::json::value obj) const override;
  std::vector<specs::subresource> subresources(
      const subresource_services& services) const override;  // subresources.cpp
};

}  // namespace rockpool::actors::nested_host
