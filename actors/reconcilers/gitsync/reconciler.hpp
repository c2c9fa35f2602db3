#pragma once

#include "rockpool/actors/gitsync.hpp"
#include "rockpool/actors/reconciler.hpp"

namespace rockpool::actors::gitsync {

/// GitSync: each pass reads the source (fetching a Git source when the
/// interval has passed, the spec changed or a sync was requested; otherwise
/// reading the last applied commit from the local clone), validates every
/// document, then applies them as manager gitsync/NAME and prunes what left
/// the source. Watches the objects in its inventory (spec and deletion, not
/// status), so drift is reverted at once.
class reconciler final : public actors::reconciler {
 public:
  explicit reconciler(settings s) : settings_(std::move(s)) {}
  std::string_view kind() const override { return "GitSync"; }
  bool cleans_up() const override { return true; }
  pass_result finalize(reconcile_context& ctx, const specs::json::value& obj) const override;
  std::vector<watch_rule> watches() const override;
  pass_result reconcile(reconcile_context& ctx, specs::json::value obj) const override;
  std::vector<specs::subresource> subresources(
      const subresource_services& services) const override;  // subresources.cpp

 private:
  settings settings_;
};

}  // namespace rockpool::actors::gitsync
