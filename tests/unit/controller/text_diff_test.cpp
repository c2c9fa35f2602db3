#include "rockpool/cli/text_diff.hpp"

#include <gtest/gtest.h>

using rockpool::cli::unified_diff;

TEST(text_diff, equal_texts_have_no_diff) {
  EXPECT_EQ(unified_diff("a\nb\n", "a\nb\n", "x", "y"), "");
}

TEST(text_diff, shows_removed_before_added_with_context) {
  auto d = unified_diff("a\nb\nc\nd\n", "a\nB\nc\nd\n", "live", "merged");
  EXPECT_EQ(d, "--- live\n+++ merged\n@@ -1,4 +1,4 @@\n a\n-b\n+B\n c\n d\n");
}

TEST(text_diff, distant_changes_get_separate_hunks) {
  std::string a, b;
  for (int i = 0; i < 20; ++i) {
    a += std::to_string(i) + "\n";
    b += (i == 1 || i == 18 ? "x" : std::to_string(i)) + "\n";
  }
  auto d = unified_diff(a, b, "l", "m");
  EXPECT_NE(d.find("@@ -1,5 +1,5 @@"), std::string::npos) << d;
  EXPECT_NE(d.find("@@ -16,5 +16,5 @@"), std::string::npos) << d;
}

TEST(text_diff, everything_added_to_an_empty_text) {
  EXPECT_EQ(unified_diff("", "a\n", "l", "m"), "--- l\n+++ m\n@@ -0,0 +1,1 @@\n+a\n");
}
