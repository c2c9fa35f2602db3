#pragma once

// The `log` subresource of kinds whose instance runs a Rockpool image init
// that writes /var/log/rockpool/COMPONENT.log (workspaces, nested hosts):
// read through Incus's file API, so nobody has to exec into the instance.

#include "rockpool/actors/reconciler.hpp"

#include <string>
#include <vector>

namespace rockpool::actors::common {

/// Whether services can read files inside instances; the error to answer when not.
specs::status can_read_instance_files(const subresource_services& services);

/// GET KIND-PLURAL/NAME/log[?component=C][&limitBytes=N]: the last N bytes
/// (default 64 KiB, at most 8 MiB) of component C's log (default the first
/// of components) in instance NAME. REQUIRES: components is not empty.
specs::subresource instance_log(std::string kind, std::vector<std::string> components,
                                const subresource_services& services);

}  // namespace rockpool::actors::common
