#pragma once

// GitSync: keeps the objects described by a directory or a Git repository of
// manifests applied (docs/user-guide.md#gitops). The reconciler lives in
// actors/reconcilers/gitsync/; this is what the daemon and the API see.

#include "rockpool/specs/object_store.hpp"

#include <chrono>
#include <string>

namespace rockpool::actors::gitsync {

struct settings {
  /// Where Git sources are cloned (one bare clone per GitSync); "" : Git
  /// sources are unavailable (a directory source still works).
  std::string clone_root;
  /// A fetch that transfers for longer than this is cancelled.
  std::chrono::seconds fetch_timeout{120};
};

/// The field manager a sync applies with: "gitsync/NAME".
std::string manager_of(const std::string& sync_name);

/// What the next sync of gs would change, computed with dry runs after a
/// fresh read of its source: {"revision", "sourceReady", "message",
/// "problems": [...], "changes": [{"object", "action", "message", "live",
/// "desired"}]}. Actions: create, update, unchanged, prune, conflict, error.
specs::json::value plan(const settings& s, specs::object_store& store,
                        const specs::json::value& gs);

}  // namespace rockpool::actors::gitsync
