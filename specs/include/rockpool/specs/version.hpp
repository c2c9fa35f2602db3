#pragma once

namespace rockpool {
/// The release version of rockpoold and rpctl.
inline constexpr const char* version = "0.1.0";
}  // namespace rockpool
