// rpctl: thin entry point; the commands live in rockpool_cli and, for the
// ones that belong to a kind, in the kind's folder (rockpool_kind_cli).
#include "rockpool/actors/kind_commands.hpp"
#include "rockpool/cli/rpctl.hpp"

#include <iostream>

int main(int argc, char** argv) {
  return rockpool::cli::run_rpctl(argc, argv, std::cout, std::cerr,
                                  rockpool::actors::standard_commands());
}
