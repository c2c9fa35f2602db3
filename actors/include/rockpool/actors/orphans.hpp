#pragma once

// Orphans: Incus instances that carry Rockpool's owner keys
// (user.rockpool.kind/name/uid) while no object of that kind, name and uid is
// in the store. After a restore from a backup they are the workspaces made
// since. The Host reports them; `rockpoold restore --delete-orphans` deletes
// them (docs/operations.md, "Backup and restore").

#include "rockpool/runtime/incus.hpp"
#include "rockpool/specs/result.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rockpool::actors {

struct orphan {
  std::string instance, kind, name, uid;
  std::string home_volume;  // its disk device "home", if any
};

/// The uid of the object kind/name in the store, "" when there is none, or
/// nullopt when the store cannot tell (that instance is then not an orphan).
using owner_lookup =
    std::function<std::optional<std::string>(const std::string& kind, const std::string& name)>;

/// Every orphan in the controller's Incus project.
[[nodiscard]] specs::result<std::vector<orphan>> find_orphans(runtime::incus_client& incus,
                                                              const owner_lookup& owner_uid);

/// Deletes an orphan's instance, then its home volume when the volume is the
/// orphan's own (made for that uid; a retained or adopted one is left).
[[nodiscard]] specs::status delete_orphan(runtime::incus_client& incus, const orphan& o);

}  // namespace rockpool::actors
