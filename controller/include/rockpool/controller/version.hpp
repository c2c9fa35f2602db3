#pragma once

namespace rockpool::controller {
/// The release version of rockpoold and rpctl.
inline constexpr const char* version = "0.1.0";
}  // namespace rockpool::controller
