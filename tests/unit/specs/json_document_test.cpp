// decode_json_object: the JSON parser's way to what decode_documents gives,
// taken only when the two agree.
#include "rockpool/specs/codec.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace rockpool::specs;

namespace {

// What decode_documents gives for a text of one document.
json::value the_yaml_way(const std::string& text) {
  auto d = decode_documents(text, "body");
  EXPECT_TRUE(d.problems.empty()) << text;
  EXPECT_EQ(d.documents.size(), 1u) << text;
  return d.documents.empty() ? json::value() : d.documents[0].value;
}

}  // namespace

TEST(decode_json_object, gives_what_decode_documents_gives_for_a_json_object) {
  const std::string texts[] = {
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"a",)"
      R"("labels":{"team":"x"}},"spec":{"image":"tiny","ports":[8080,-3],"on":true,"n":null}})",
      " {\n  \"a\" : [ {}, [], \"b\\\"c\\\\d\\n\" ],\t\"e\": \"true\" }\n",
      R"({"k:":"v","":"empty key","x":"a:b"})",
  };
  for (const auto& t : texts) {
    auto fast = decode_json_object(t);
    ASSERT_TRUE(fast.has_value()) << t;
    EXPECT_EQ(*fast, the_yaml_way(t)) << t;
  }
}

TEST(decode_json_object, leaves_to_the_yaml_decoder_what_it_would_read_otherwise) {
  const std::string texts[] = {
      R"({"a":1,"a":2})",               // YAML refuses the duplicate key
      R"({"a":{"b":1,"b":1}})",         // ... at any depth
      R"({"a":18446744073709551615})",  // YAML keeps an integer beyond int64 as text
      R"({"a":1.5})",                   // doubles: YAML rounds by its own parser
      R"({"kind":"List","items":[]})",  // a List is expanded into its items
      "{\"a\":\"caf\xc3\xa9\"}",        // non-ASCII
      R"({"a":"\ud83d\ude00"})",        // \u escapes (surrogate pairs)
      "a: 1\n",                         // YAML, not JSON
      R"([1,2])",                       // not an object
      R"({"a":1} {"b":2})",             // not one JSON text
      R"({"a":)",                       // malformed
  };
  for (const auto& t : texts) EXPECT_FALSE(decode_json_object(t).has_value()) << t;
  // A key of over 1,024 characters is no key to YAML.
  EXPECT_FALSE(decode_json_object("{\"" + std::string(2000, 'k') + "\":1}").has_value());
  auto dup = decode_documents(R"({"a":1,"a":2})", "body");
  ASSERT_FALSE(dup.problems.empty()) << "the YAML way still names the duplicate";
  EXPECT_NE(dup.problems[0].message.find("duplicate key"), std::string::npos);
}

TEST(decode_json_object, stops_at_the_limits_decode_documents_has) {
  std::string deep(max_nesting_depth + 1, '[');
  deep = "{\"a\":" + deep + std::string(max_nesting_depth + 1, ']') + "}";
  EXPECT_FALSE(decode_json_object(deep).has_value());
  std::string many = "{\"a\":[0";
  for (std::size_t i = 0; i < max_nodes_per_document; ++i) many += ",0";
  many += "]}";
  EXPECT_FALSE(decode_json_object(many).has_value());
  std::string big = "{\"a\":\"" + std::string(max_document_bytes, 'x') + "\"}";
  EXPECT_FALSE(decode_json_object(big).has_value());
}
