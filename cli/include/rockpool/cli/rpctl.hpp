#pragma once

#include <iosfwd>
#include <vector>

namespace rockpool::cli {

struct kind_commands;

/// Runs rpctl with the given arguments, writing to out and err, with the
/// kinds' own commands (actors::standard_commands() in the rpctl binary).
/// Exit codes: 0 success; 1 an operation failed (invalid input, server error,
/// timeout); 2 usage error. `diff`: 0 no differences, 1 differences, 2 error.
int run_rpctl(int argc, char** argv, std::ostream& out, std::ostream& err,
              const std::vector<kind_commands>& kinds);

}  // namespace rockpool::cli
