// A GET answers with the stored text and its resourceVersion spliced in
// (append_to_member), not parsed and serialised again: the same object
// as the long way, whatever the stored text holds.
#include "rockpool/specs/json.hpp"
#include "rockpool/specs/memory_backend.hpp"
#include "rockpool/specs/object_store.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

using namespace rockpool::specs;

namespace {

// What parsing, setting metadata.resourceVersion and serialising gives.
json::value the_long_way(std::string_view text, const std::string& rv) {
  auto v = json::parse(text);
  v.as_object()["metadata"].as_object()["resourceVersion"] = rv;
  return v;
}

TEST(append_to_member, is_the_text_parsing_and_serialising_would_give) {
  std::string text =
      R"({"apiVersion":"v1","kind":"K","metadata":{"name":"a","uid":"u"},"spec":{}})";
  auto out = append_to_member(text, "metadata", "resourceVersion", "42");
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, json::serialize(the_long_way(text, "42")));
  EXPECT_EQ(
      *out,
      R"({"apiVersion":"v1","kind":"K","metadata":{"name":"a","uid":"u","resourceVersion":"42"},"spec":{}})");
}

TEST(append_to_member, skips_nested_members_of_the_same_name_and_strings_that_look_like_one) {
  // spec.template.metadata comes first; strings hold quotes, braces and the key.
  std::string text =
      R"({"spec":{"template":{"metadata":{"name":"inner"}},"note":"\"metadata\":{ } ] [ \\"},)"
      R"("list":[{"metadata":{}},"}{"],"metadata":{"name":"outer"}})";
  auto out = append_to_member(text, "metadata", "resourceVersion", "7");
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, json::serialize(the_long_way(text, "7")));
  EXPECT_EQ(find_path(json::parse(*out), "spec.template.metadata.resourceVersion"), nullptr);
}

TEST(append_to_member, handles_an_empty_member_whitespace_and_scalars_before_it) {
  std::string text = " { \"n\" : 12.5e3 , \"t\" : true, \"z\": null ,\"metadata\" : { } } ";
  auto out = append_to_member(text, "metadata", "resourceVersion", "9");
  ASSERT_TRUE(out);
  EXPECT_EQ(json::parse(*out), the_long_way(text, "9"));
}

TEST(append_to_member, declines_what_it_cannot_splice_so_the_caller_takes_the_long_way) {
  EXPECT_FALSE(append_to_member(R"({"kind":"K"})", "metadata", "resourceVersion", "1"));
  EXPECT_FALSE(append_to_member(R"({"metadata":"x"})", "metadata", "resourceVersion", "1"));
  EXPECT_FALSE(append_to_member(R"([{"metadata":{}}])", "metadata", "resourceVersion", "1"));
  EXPECT_FALSE(append_to_member(R"({"metadata":{"name":"a","resourceVersion":"3"}})", "metadata",
                                "resourceVersion", "1"))
      << "already there: adding it again would repeat the key";
}

TEST(object_store_get_text, is_the_object_get_returns) {
  rockpool::test_support::fake_clock clock;
  auto backend = make_memory_backend();
  object_store store(*backend, clock);
  json::value ws{{"apiVersion", "rockpool.dev/v1alpha1"},
                 {"kind", "Workspace"},
                 {"metadata", {{"name", "a"}, {"labels", {{"team", "x"}}}}},
                 {"spec", {{"image", "tiny"}}}};
  ASSERT_TRUE(store.create(ws, {false, "rpctl"}).ok());
  auto text = store.get_text("Workspace", "a");
  auto obj = store.get("Workspace", "a");
  ASSERT_TRUE(text.ok() && obj.ok());
  EXPECT_EQ(*text, json::serialize(*obj)) << "byte for byte, as before";
  EXPECT_FALSE(string_at(*obj, "metadata.resourceVersion").empty());
  auto missing = store.get_text("Workspace", "b");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.err().why, reason::not_found);
  EXPECT_EQ(missing.err().message, store.get("Workspace", "b").err().message);
}

}  // namespace
