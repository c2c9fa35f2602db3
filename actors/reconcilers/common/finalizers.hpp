#pragma once

#include "rockpool/actors/reconciler.hpp"

namespace rockpool::actors::common {

/// Whether obj carries rockpool.dev/cleanup.
bool has_finalizer(const specs::json::value& obj);

/// Adds or removes rockpool.dev/cleanup with a merge patch; an object that is
/// already gone is fine.
[[nodiscard]] specs::status set_finalizer(reconcile_context& ctx, const specs::json::value& obj,
                                          bool present);

}  // namespace rockpool::actors::common
