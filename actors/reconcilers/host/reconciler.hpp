#pragma once

#include "rockpool/actors/kinds.hpp"

namespace rockpool::actors::host {

/// Host: status only. Each pass probes the machine (Incus, instance types,
/// KVM, nested KVM, vhost_vsock, Caddy) and writes the conditions; the pass
/// is requeued every `interval`. The manager creates Host/local at start.
class reconciler final : public actors::reconciler {
 public:
  explicit reconciler(kind_dependencies::host_probe settings) : settings_(std::move(settings)) {}
  std::string_view kind() const override { return "Host"; }
  std::vector<specs::json::value> bootstrap() const override;
  pass_result reconcile(reconcile_context& ctx, specs::json::value obj) const override;

 private:
  kind_dependencies::host_probe settings_;
};

}  // namespace rockpool::actors::host
