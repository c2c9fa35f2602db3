#pragma once

// The sync itself, shared by the reconciler's pass and the API's plan: read
// the source, decode and validate every document, then apply, take over,
// report conflicts and prune (for real or as a dry run).

#include "rockpool/actors/gitsync.hpp"
#include "rockpool/crds/typed.hpp"
#include "rockpool/crds/types.hpp"
#include "rockpool/specs/codec.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rockpool::actors::gitsync {

/// A GitSync's typed view, read once per pass (or plan): its metadata, spec
/// and status.
struct sync_view {
  crds::object_meta meta;
  crds::git_sync::spec spec;
  crds::git_sync::status status;

  /// Reads gs; an error names the field.
  static specs::result<sync_view> of(const specs::json::value& gs);
  const std::string& name() const { return meta.name; }
  bool prune() const { return spec.prune.value_or(true); }
  bool suspended() const { return spec.suspend.value_or(false); }
  bool forced() const { return spec.force.value_or(false); }
  /// status.inventory, as a set of Kind/name.
  std::set<std::string> inventory() const;
  /// The annotation's value, or "".
  std::string annotation(const std::string& key) const;
};

/// The desired state read from a sync's source at one revision.
struct desired_state {
  bool source_ok = false;
  std::string source_message;  // why the source is unavailable
  std::string revision;
  std::vector<specs::document> documents;   // defaulted, in apply order
  std::vector<specs::diagnostic> problems;  // nothing may be applied unless empty
};

/// "url@ref:path" or the directory, for status.source.
std::string describe_source(const crds::git_sync::spec& spec);

/// Reads gs's source: a directory is read as it is now; a Git source is
/// fetched when fetch, else read at pinned (fetched anyway when the clone
/// lacks it). Then every document is decoded and validated as one input.
desired_state read_source(const settings& s, specs::object_store& store, const sync_view& gs,
                          bool fetch, const std::string& pinned);

struct change {
  std::string object;  // Kind/name
  std::string action;  // create, update, unchanged, prune, orphan, conflict, error
  std::string message;
  specs::json::value live;     // null when absent
  specs::json::value desired;  // null for prunes
};

struct sync_outcome {
  std::vector<change> changes;
  std::set<std::string> inventory;
  int applied = 0, unchanged = 0, pruned = 0, failed = 0, conflicts = 0;
  std::string prune_blocked;           // why pruning stopped (more than maxPrune)
  std::vector<std::string> held_back;  // what it would have pruned, then
};

/// Applies the desired documents as gs's manager and prunes what left the
/// source; with dry_run, only computes it. REQUIRES: desired.problems empty
/// and desired.documents not empty.
sync_outcome execute(specs::object_store& store, const sync_view& gs,
                     const desired_state& desired, bool dry_run, bool allow_mass_prune);

/// Deletes every object of the inventory that gs still manages, PortRoutes
/// before Workspaces; returns how many are left (still terminating or failed).
std::size_t prune_all(specs::object_store& store, const sync_view& gs);

}  // namespace rockpool::actors::gitsync
