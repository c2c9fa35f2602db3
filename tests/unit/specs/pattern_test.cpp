// The linear-time matcher that checks CRD patterns.
#include "rockpool/specs/pattern.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

using rockpool::specs::pattern;

namespace {
bool matches(const std::string& re, const std::string& text) {
  auto p = pattern::compile(re);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.err().message);
  return p.ok() && p->search(text);
}
}  // namespace

TEST(pattern, dns_label_pattern_accepts_labels_and_refuses_the_rest) {
  const std::string label = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
  for (const char* ok : {"a", "demo", "demo-9000", "a1-b2", "0"})
    EXPECT_TRUE(matches(label, ok)) << ok;
  for (const char* bad : {"", "-a", "a-", "Demo", "a_b", "a.b", "a b"})
    EXPECT_FALSE(matches(label, bad)) << bad;
}

TEST(pattern, quantity_pattern_accepts_sizes_and_refuses_the_rest) {
  const std::string size = "^[1-9][0-9]*(Mi|Gi|Ti)$";
  for (const char* ok : {"1Mi", "512Mi", "2Gi", "10Ti"}) EXPECT_TRUE(matches(size, ok)) << ok;
  for (const char* bad : {"0Gi", "2G", "Gi", "2Gi ", "2gi", "1.5Gi"})
    EXPECT_FALSE(matches(size, bad)) << bad;
}

TEST(pattern, search_without_anchors_finds_a_match_anywhere) {
  EXPECT_TRUE(matches("b+c", "aaabbbcdd"));
  EXPECT_FALSE(matches("b+c", "aaabbbdd"));
  EXPECT_TRUE(matches("x{2,3}$", "axxx"));
  EXPECT_FALSE(matches("^x{2,3}$", "xxxx"));
  EXPECT_TRUE(matches("^\\d{3}\\.\\w+$", "123.ab_c"));
  EXPECT_TRUE(matches("^[^/]+$", "no-slash"));
  EXPECT_FALSE(matches("^[^/]+$", "a/b"));
  EXPECT_TRUE(matches("^(ab|cd)*$", "abcdab"));
  EXPECT_TRUE(matches("^(ab|cd)*$", ""));
}

TEST(pattern, malformed_patterns_are_errors_that_name_them) {
  for (const char* bad : {"(a", "a)", "[a-", "*a", "a{3,2}", "a{999}", "\\q"}) {
    auto p = pattern::compile(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_NE(p.err().message.find(bad), std::string::npos) << p.err().message;
  }
}

// std::regex recursed once per character here and overflowed the stack at
// ~33 KB; the NFA simulation keeps no per-character stack and stays linear.
TEST(pattern, megabyte_inputs_are_matched_without_recursion_in_linear_time) {
  auto p = pattern::compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  ASSERT_TRUE(p.ok());
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(p->search(std::string(1 << 20, 'a')));
  EXPECT_FALSE(p->search(std::string(1 << 20, 'a') + "-"));
  auto q = pattern::compile("^[1-9][0-9]*(Mi|Gi)$");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->search("1" + std::string(1 << 20, '0') + "Mi"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}
