#pragma once

#include "rockpool/specs/result.hpp"

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace rockpool::specs {

/// Deepest nesting a decoded document or request body may have.
inline constexpr int max_json_depth = 64;

namespace json = boost::json;

/// Returns the value at a dotted path such as "spec.resources.cpu", or nullptr.
const json::value* find_path(const json::value& root, std::string_view dotted);

/// Returns the string at a dotted path, or an empty string when absent or not a string.
std::string string_at(const json::value& root, std::string_view dotted);

/// Returns the integer at a dotted path, if present and integral.
std::optional<std::int64_t> int_at(const json::value& root, std::string_view dotted);

/// Returns the object at key, creating an empty one (replacing a non-object) when needed.
json::object& ensure_object(json::object& parent, std::string_view key);

/// Renders a value for an error message: strings quoted, others as JSON.
std::string describe_value(const json::value& v);

/// Serialises with two-space indentation.
std::string to_pretty_json(const json::value& v);

/// Parses a JSON request body (fast path, no positions), at most
/// max_json_depth levels deep.
[[nodiscard]] result<json::value> parse_json(std::string_view text);

/// The JSON object `text` with `"key":"value"` added last to its top-level
/// member `member` (an object), without parsing the rest: the text that
/// parsing, setting the key and serialising again gives, when text is as
/// Boost.JSON serialises. nullopt when text is not an object with such a
/// member, or the member has the key already. REQUIRES: text is valid JSON.
std::optional<std::string> append_to_member(std::string_view text, std::string_view member,
                                            std::string_view key, std::string_view value);

}  // namespace rockpool::specs
