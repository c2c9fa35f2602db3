#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rockpool::specs {

/// RFC 4648 base64 with padding (kubeconfig's certificate data).
std::string base64_encode(std::string_view in);
/// RFC 4648 base64; padding optional. nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view in);
/// Lower-case hexadecimal, two digits a byte (digests, random codes).
std::string hex_encode(std::string_view in);

}  // namespace rockpool::specs
