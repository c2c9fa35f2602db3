#pragma once

// Internal to rockpoold: its flags, shared by the daemon and `rockpoold
// restore` (which reads the same --config for the data directory and Incus).

#include "rockpool/controller/daemon.hpp"

#include <CLI/CLI.hpp>

namespace rockpool::controller {

/// Every flag of rockpoold (and --config) on app, writing into c.
void add_options(CLI::App& app, daemon_config& c);

}  // namespace rockpool::controller
