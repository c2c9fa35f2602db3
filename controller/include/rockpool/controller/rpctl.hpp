#pragma once

#include <iosfwd>

namespace rockpool::controller {

/// Runs rpctl with the given arguments, writing to out and err.
/// Exit codes: 0 success; 1 an operation failed (invalid input, server error,
/// timeout); 2 usage error. `diff`: 0 no differences, 1 differences, 2 error.
int run_rpctl(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace rockpool::controller
