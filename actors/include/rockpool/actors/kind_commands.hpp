#pragma once

// The kinds' own rpctl commands, from their folders (reconcilers/KIND/cli.cpp),
// one line per kind in reconcilers/commands.cpp. Library rockpool_kind_cli:
// linked by rpctl only, and depends on the CLI's framework (rockpool_cli), not
// on the reconcilers.

#include <vector>

namespace rockpool::cli {
struct kind_commands;
}

namespace rockpool::actors {

const std::vector<cli::kind_commands>& standard_commands();

}  // namespace rockpool::actors
