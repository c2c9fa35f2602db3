#pragma once

#include "rockpool/actors/reconciler.hpp"

namespace rockpool::actors::workspace_snapshot {

/// WorkspaceSnapshot: Incus snapshots of a workspace's instance and home
/// volume, taken together while its processes are frozen, once; owned by the
/// workspace (deleted with it); deleting one deletes its Incus snapshots.
class reconciler final : public actors::reconciler {
 public:
  std::string_view kind() const override { return "WorkspaceSnapshot"; }
  bool cleans_up() const override { return true; }
  pass_result finalize(reconcile_context& ctx, const specs::json::value& obj) const override;
  std::vector<watch_rule> watches() const override;
  pass_result reconcile(reconcile_context& ctx, specs::json::value obj) const override;
};

/// The Incus snapshot name a WorkspaceSnapshot takes, on the instance and on
/// the home volume alike.
std::string incus_snapshot_name(const std::string& snapshot);

}  // namespace rockpool::actors::workspace_snapshot
