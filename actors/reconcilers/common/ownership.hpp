#pragma once

#include "rockpool/actors/reconciler.hpp"
#include "rockpool/specs/json.hpp"

#include <string>
#include <variant>
#include <vector>

namespace rockpool::actors::common {

/// The uids in obj's metadata.ownerReferences.
std::vector<std::string> owner_uids(const specs::json::value& obj);

/// Whether obj lists an owner with this uid.
bool owned_by_uid(const specs::json::value& obj, const std::string& uid);

/// An ownerReferences list naming owner (its kind, name and uid).
specs::json::array owner_reference(const specs::json::value& owner, bool controller);

/// Adds the cleanup finalizer and, when owner is given and not yet listed,
/// owner (beside the owners of other kinds obj has), in one merge patch.
/// Returns the object as written, or the result that ends the pass.
std::variant<specs::json::value, pass_result> adopt(reconcile_context& ctx, specs::json::value obj,
                                                    const specs::json::value* owner);

}  // namespace rockpool::actors::common
