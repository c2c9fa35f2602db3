#pragma once

#include "rockpool/specs/json.hpp"

#include <string>
#include <vector>

namespace rockpool::actors::common {

/// The uids in obj's metadata.ownerReferences.
std::vector<std::string> owner_uids(const specs::json::value& obj);

/// Whether obj lists an owner with this uid.
bool owned_by_uid(const specs::json::value& obj, const std::string& uid);

/// An ownerReferences list naming owner (its kind, name and uid).
specs::json::array owner_reference(const specs::json::value& owner, bool controller);

}  // namespace rockpool::actors::common
