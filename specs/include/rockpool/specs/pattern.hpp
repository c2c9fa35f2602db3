#pragma once

#include "rockpool/specs/result.hpp"

#include <bitset>
#include <string_view>
#include <vector>

namespace rockpool::specs {

/// A regular expression in the subset CRD `pattern`s use — literals, `.`,
/// classes `[a-z]` `[^...]`, escapes `\d \w \s \.`, groups, `|`, `* + ?`,
/// `{m}` `{m,}` `{m,n}` (m, n ≤ 255) and the anchors `^ $` — matched by a
/// Thompson NFA simulation: time O(text × pattern), no backtracking and no
/// recursion over the text, so no input can exhaust the stack or the CPU.
/// Thread safety: const methods may be called concurrently.
class pattern {
 public:
  /// Compiles source; unsupported or malformed syntax is an error naming it.
  [[nodiscard]] static result<pattern> compile(std::string_view source);
  /// Whether some substring of text matches, as ECMAScript's search does
  /// (`^` and `$` anchor at the ends of text).
  bool search(std::string_view text) const;

 private:
  struct instruction {
    enum class op { byte, split, jump, begin, end, match } what;
    std::bitset<256> bytes;  // op::byte: the bytes that advance
    int x = 0, y = 0;        // split: both targets; jump: x
  };
  std::vector<instruction> program_;
  friend class pattern_compiler;
};

}  // namespace rockpool::specs
