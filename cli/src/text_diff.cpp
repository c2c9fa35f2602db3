#include "rockpool/cli/text_diff.hpp"

#include <sstream>
#include <vector>

namespace rockpool::cli {
namespace {

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

}  // namespace

namespace {

// One line of an edit script: ' ' kept, '-' removed, '+' added, with where
// it stands in each text.
struct edit {
  char tag;
  std::string text;
  std::size_t ai, bi;
};

// The shortest edit script from a to b, from the longest common subsequence;
// objects are small, so O(n*m) is fine.
std::vector<edit> edit_script(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<unsigned>> lcs(n + 1, std::vector<unsigned>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;)
    for (std::size_t j = m; j-- > 0;)
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  std::vector<edit> ops;
  std::size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      ops.push_back({' ', a[i], i, j});
      ++i;
      ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push_back({'-', a[i], i, j});
      ++i;
    } else {
      ops.push_back({'+', b[j], i, j});
      ++j;
    }
  }
  return ops;
}

}  // namespace

std::string unified_diff(const std::string& before, const std::string& after,
                         const std::string& before_label, const std::string& after_label) {
  if (before == after) return {};
  auto ops = edit_script(split_lines(before), split_lines(after));
  std::string out = "--- " + before_label + "\n+++ " + after_label + "\n";
  constexpr std::size_t context = 3;
  std::size_t k = 0;
  while (k < ops.size()) {
    if (ops[k].tag == ' ') {
      ++k;
      continue;
    }
    std::size_t start = k >= context ? k - context : 0;
    std::size_t end = k;
    // Extend the hunk while changes are within 2*context of each other.
    std::size_t last_change = k;
    while (end < ops.size()) {
      if (ops[end].tag != ' ')
        last_change = end;
      else if (end - last_change > 2 * context)
        break;
      ++end;
    }
    end = std::min(ops.size(), last_change + context + 1);
    std::size_t a_start = ops[start].ai, b_start = ops[start].bi, a_len = 0, b_len = 0;
    std::string body;
    for (std::size_t x = start; x < end; ++x) {
      body += ops[x].tag + ops[x].text + "\n";
      if (ops[x].tag != '+') ++a_len;
      if (ops[x].tag != '-') ++b_len;
    }
    out += "@@ -" + std::to_string(a_len ? a_start + 1 : a_start) + "," + std::to_string(a_len) +
           " +" + std::to_string(b_len ? b_start + 1 : b_start) + "," + std::to_string(b_len) +
           " @@\n" + body;
    k = end;
  }
  return out;
}

}  // namespace rockpool::cli
