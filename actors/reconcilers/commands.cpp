// The kinds' own rpctl commands, one line per kind that has any. Adding a
// kind's command: its folder's cli.cpp and one line below.
#include "rockpool/actors/kind_commands.hpp"
#include "rockpool/cli/cli.hpp"

namespace rockpool::actors {

namespace gitsync {
cli::kind_commands commands();
}
namespace host {
cli::kind_commands commands();
}
namespace nested_host {
cli::kind_commands commands();
}
namespace workspace_snapshot {
cli::kind_commands commands();
}

const std::vector<cli::kind_commands>& standard_commands() {
  static const std::vector<cli::kind_commands> commands = {
      gitsync::commands(),
      host::commands(),
      nested_host::commands(),
      workspace_snapshot::commands(),
  };
  return commands;
}

}  // namespace rockpool::actors
