#pragma once

// Internal to rockpoold: its flags, shared by the daemon, `rockpoold restore`
// and `rockpoold gate` (which read the same --config).

#include "rockpool/controller/daemon.hpp"

#include <CLI/CLI.hpp>

#include <variant>

namespace rockpool::controller {

/// Every flag of rockpoold (and --config) on app, writing into c.
void add_options(CLI::App& app, daemon_config& c);
/// The checks CLI11 cannot make, filling the parsed fields; throws with the
/// one line to print.
void check_options(daemon_config& c);
/// app (a command's own description) with every flag, parsed and checked:
/// the configuration, or the exit code (0 after --help, bad_flags after a
/// bad flag or a failed check, its one line printed).
std::variant<daemon_config, int> parse_options(CLI::App& app, int argc, char** argv,
                                               int bad_flags);

}  // namespace rockpool::controller
