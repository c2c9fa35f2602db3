#pragma once

#include <string>

namespace rockpool::cli {

/// A unified diff (3 lines of context) of two texts, with the given labels in
/// the --- / +++ header. Returns "" when the texts are equal.
std::string unified_diff(const std::string& before, const std::string& after,
                         const std::string& before_label, const std::string& after_label);

}  // namespace rockpool::cli
