#pragma once

#include "rockpool/actors/gitsync.hpp"
#include "rockpool/actors/reconciler.hpp"
#include "rockpool/runtime/host_probe.hpp"

#include <chrono>
#include <functional>
#include <optional>

namespace rockpool::actors {

/// What the standard kinds need from the daemon beyond reconcile_context.
struct kind_dependencies {
  struct host_probe {
    runtime::host_probe_sources sources;
    /// Incus's version string, or "" when unknown; empty function: no Incus.
    std::function<std::string()> incus_version;
    std::chrono::milliseconds interval{60000};
  };
  /// The Host kind and its probe; none: Host objects are not reconciled.
  std::optional<host_probe> host;
  /// Where GitSync clones its repositories and how long a fetch may take.
  gitsync::settings gitsync;
};

/// Every kind Rockpool reconciles: Workspace, PortRoute, NestedHost, GitSync, Host.
kind_registry standard_kinds(const kind_dependencies& deps);

}  // namespace rockpool::actors
