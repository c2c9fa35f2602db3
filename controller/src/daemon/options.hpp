#pragma once

// Internal to rockpoold: its flags, shared by the daemon, `rockpoold restore`
// and `rockpoold gate` (which read the same --config).

#include "rockpool/controller/daemon.hpp"

#include <CLI/CLI.hpp>

namespace rockpool::controller {

/// Every flag of rockpoold (and --config) on app, writing into c.
void add_options(CLI::App& app, daemon_config& c);
/// The checks CLI11 cannot make, filling the parsed fields; throws with the
/// one line to print.
void check_options(daemon_config& c);

}  // namespace rockpool::controller
