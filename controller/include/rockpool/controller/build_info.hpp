#pragma once

namespace rockpool::controller {

/// What this build is, for /version (Kubernetes' version.Info): filled at
/// build time by cmake/BuildInfo.cmake.
struct build_info {
  const char* git_commit;      // full hash, "" outside a Git checkout
  const char* git_tree_state;  // "clean", "dirty", or "" outside a Git checkout
  const char* build_date;      // RFC 3339, UTC
  const char* compiler;        // e.g. "GNU 12.2.0"
};
const build_info& build();

}  // namespace rockpool::controller
