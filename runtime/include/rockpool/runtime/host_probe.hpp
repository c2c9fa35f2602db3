#pragma once

#include "rockpool/specs/json.hpp"
#include "rockpool/specs/result.hpp"

#include <functional>
#include <string>
#include <vector>

namespace rockpool::runtime {

/// One capability check of the host, with what to do when it fails.
struct host_check {
  std::string type;  // condition type, e.g. "NestedKVM"
  bool ok = false;
  std::string message;    // what was seen
  std::string remedy;     // what to do when !ok
  bool required = false;  // needed for container workspaces (else only for VMs)
};

/// Where the probe looks. Tests point root at a directory of fake files.
struct host_probe_sources {
  std::string root = "/";  // prefix of /dev and /sys paths
  /// GET /1.0 metadata from Incus; empty function = Incus not configured.
  std::function<specs::result<specs::json::value>()> incus_info;
  /// True iff Caddy's admin API answers; empty = not configured.
  std::function<bool()> caddy_reachable;
};

/// Runs every check: Incus reachable (and version), container and VM
/// instance types operational (Incus's drivers), /dev/kvm, nested KVM
/// (kvm_intel/kvm_amd `nested`), /dev/vhost-vsock, Caddy's admin API.
std::vector<host_check> probe_host(const host_probe_sources& sources);

/// The Host object's status for these checks: a condition per check, Ready
/// when every required check passes, and incusVersion.
specs::json::value host_status(const std::vector<host_check>& checks,
                               const std::string& incus_version, const std::string& now,
                               std::int64_t generation);

}  // namespace rockpool::runtime
