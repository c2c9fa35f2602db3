#pragma once

#include "rockpool/actors/reconciler.hpp"

namespace rockpool::actors::workspace {

/// Workspace: For Workspace, Owns PortRoute (foreground deletion), Watches
/// WorkspaceTemplate (spec.template), follows Incus instance events.
class reconciler final : public actors::reconciler {
 public:
  std::string_view kind() const override { return "Workspace"; }
  bool cleans_up() const override { return true; }
  pass_result finalize(reconcile_context& ctx, const specs::json::value& obj) const override;
  std::vector<std::string> owns() const override;
  std::vector<watch_rule> watches() const override;
  bool follows_instances() const override { return true; }
  pass_result reconcile(reconcile_context& ctx, specs::json::value obj) const override;
  std::vector<specs::subresource> subresources(
      const subresource_services& services) const override;  // subresources.cpp
};

}  // namespace rockpool::actors::workspace
