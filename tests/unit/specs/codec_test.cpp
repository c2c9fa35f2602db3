#include "rockpool/specs/codec.hpp"

#include <gtest/gtest.h>

using namespace rockpool::specs;

TEST(codec, decodes_multiple_documents_with_core_schema_types) {
  auto in = decode_documents(
      "a: 1\nb: \"1\"\nc: true\nd: ~\ne: 1.5\nf: hello\n---\n---\nx: [1, two]\n", "f.yaml");
  ASSERT_TRUE(in.problems.empty());
  ASSERT_EQ(in.documents.size(), 2u);
  const auto& v = in.documents[0].value;
  EXPECT_TRUE(find_path(v, "a")->is_int64());
  EXPECT_TRUE(find_path(v, "b")->is_string());
  EXPECT_TRUE(find_path(v, "c")->is_bool());
  EXPECT_TRUE(find_path(v, "d")->is_null());
  EXPECT_TRUE(find_path(v, "e")->is_double());
  EXPECT_EQ(string_at(v, "f"), "hello");
  EXPECT_EQ(in.documents[1].index, 3);  // empty documents keep their number
}

TEST(codec, plain_scalars_resolve_by_the_core_schema_integer_and_float_grammar) {
  struct want {
    const char* text;
    char type;  // i(nteger), d(ouble), s(tring)
  };
  for (auto [text, type] : {want{"0", 'i'},       want{"-7", 'i'},   want{"+12", 'i'},
                            want{"1.", 'd'},      want{".5", 'd'},   want{"-.5e3", 'd'},
                            want{"2E-4", 'd'},    want{"1e5", 'd'},  want{"+3.25", 'd'},
                            want{".", 's'},       want{"1e", 's'},   want{"e5", 's'},
                            want{"1.2.3", 's'},   want{"+", 's'},    want{"1_000", 's'},
                            want{"12a", 's'},     want{"1 2", 's'},  want{"1e+", 's'}}) {
    auto in = decode_documents(std::string("v: ") + text + "\n", "f.yaml");
    ASSERT_TRUE(in.problems.empty()) << text;
    const auto* v = find_path(in.documents[0].value, "v");
    ASSERT_NE(v, nullptr) << text;
    EXPECT_EQ(type == 'i', v->is_int64()) << text;
    EXPECT_EQ(type == 'd', v->is_double()) << text;
    EXPECT_EQ(type == 's', v->is_string()) << text;
  }
}

TEST(codec, records_one_based_line_and_column_of_every_field) {
  auto in = decode_documents("kind: Workspace\nspec:\n  resources:\n    cpu: lots\n", "f.yaml");
  ASSERT_EQ(in.documents.size(), 1u);
  auto p = in.documents[0].position_of("spec.resources.cpu");
  EXPECT_EQ(p.line, 4);
  EXPECT_EQ(p.column, 10);
  // A missing field falls back to its nearest ancestor.
  EXPECT_EQ(in.documents[0].position_of("spec.resources.memory").line, 4);
}

TEST(codec, syntax_error_names_source_document_and_position) {
  auto in = decode_documents("a: 1\n---\nb: [1, 2\n", "bad.yaml");
  ASSERT_EQ(in.problems.size(), 1u);
  auto text = in.problems[0].to_string();
  EXPECT_NE(text.find("bad.yaml: document 2"), std::string::npos) << text;
  EXPECT_NE(text.find("line"), std::string::npos) << text;
}

TEST(codec, rejects_nesting_deeper_than_64_levels) {
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += "[";
  for (int i = 0; i < 70; ++i) deep += "]";
  auto in = decode_documents("a: " + deep + "\n", "deep.yaml");
  ASSERT_FALSE(in.problems.empty());
  EXPECT_NE(in.problems[0].message.find("nesting deeper than 64"), std::string::npos);
}

TEST(codec, rejects_documents_over_one_mebibyte) {
  std::string big = "a: \"" + std::string(1100000, 'x') + "\"\n";
  auto in = decode_documents(big, "big.yaml");
  ASSERT_EQ(in.problems.size(), 1u);
  EXPECT_NE(in.problems[0].message.find("larger than 1 MiB"), std::string::npos);
}

TEST(codec, bounds_alias_expansion) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'k'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + prev;
    bomb += "]\n";
    prev = c;
  }
  auto in = decode_documents(bomb, "bomb.yaml");
  ASSERT_FALSE(in.problems.empty());
  EXPECT_NE(in.problems[0].message.find("too many nodes"), std::string::npos);
}

TEST(codec, rejects_duplicate_keys) {
  auto in = decode_documents("a: 1\na: 2\n", "dup.yaml");
  ASSERT_EQ(in.problems.size(), 1u);
  EXPECT_NE(in.problems[0].message.find("duplicate key"), std::string::npos);
}

TEST(codec, expands_a_list_document) {
  auto in = decode_documents("kind: List\nitems:\n- kind: A\n  metadata: {name: x}\n- kind: B\n",
                             "l.yaml");
  ASSERT_TRUE(in.problems.empty());
  ASSERT_EQ(in.documents.size(), 2u);
  EXPECT_EQ(string_at(in.documents[1].value, "kind"), "B");
  EXPECT_EQ(in.documents[1].position_of("kind").line, 5);
}

TEST(codec, list_items_must_be_objects) {
  auto in = decode_documents("{\"kind\":\"List\",\"items\":[ resou]}", "l.json");
  EXPECT_TRUE(in.documents.empty());
  ASSERT_EQ(in.problems.size(), 1u);
  EXPECT_EQ(in.problems[0].field, "items[0]");
}

// Found by the fuzzer: a List inside a List came out as one document that
// re-encoded to a List, so decode(to_yaml(doc)) was not doc.
TEST(codec, nested_lists_are_flattened_and_problems_name_the_full_path) {
  auto in = decode_documents(
      "{\"kind\":\"List\",\"items\":[{\"kind\":\"List\",\"items\":[3,metadata.l]}]}", "fuzz.json");
  EXPECT_TRUE(in.documents.empty());
  ASSERT_EQ(in.problems.size(), 2u);
  EXPECT_EQ(in.problems[0].field, "items[0].items[0]");
  EXPECT_EQ(in.problems[1].field, "items[0].items[1]");
  auto ok = decode_documents(
      "kind: List\nitems:\n- kind: List\n  items:\n  - kind: A\n    metadata: {name: x}\n",
      "n.yaml");
  ASSERT_TRUE(ok.problems.empty());
  ASSERT_EQ(ok.documents.size(), 1u);
  EXPECT_EQ(string_at(ok.documents[0].value, "kind"), "A");
  EXPECT_EQ(ok.documents[0].position_of("kind").line, 5);
}

TEST(codec, a_list_item_keeps_only_its_own_positions) {
  std::string yaml = "kind: List\nitems:\n";
  for (int i = 0; i < 11; ++i) yaml += "- kind: K" + std::to_string(i) + "\n";
  auto in = decode_documents(yaml, "l.yaml");
  ASSERT_EQ(in.documents.size(), 11u);
  EXPECT_EQ(in.documents[1].position_of("kind").line, 4);
  EXPECT_EQ(in.documents[10].position_of("kind").line, 13);
}

TEST(codec, json_input_is_accepted_with_positions) {
  auto in = decode_documents("{\"kind\": \"Workspace\",\n \"spec\": {\"port\": 80}}", "f.json");
  ASSERT_TRUE(in.problems.empty());
  EXPECT_EQ(*int_at(in.documents[0].value, "spec.port"), 80);
  EXPECT_EQ(in.documents[0].position_of("spec.port").line, 2);
}

TEST(codec, yaml_output_reads_back_to_the_same_value) {
  auto v = parse_json(
      R"({"a":"8080","b":8080,"c":"true","d":"","e":[{"x":1,"y":[]},"s"],"f":{},"g":"with: colon","h":null,"i":"multi\nline"})");
  ASSERT_TRUE(v.ok());
  auto yaml = to_yaml(*v);
  auto back = decode_documents(yaml, "out.yaml");
  ASSERT_TRUE(back.problems.empty()) << yaml;
  ASSERT_EQ(back.documents.size(), 1u);
  EXPECT_EQ(back.documents[0].value, *v) << yaml;
}

TEST(codec, empty_objects_emit_as_flow_braces) {
  EXPECT_EQ(to_yaml(json::object{}), "{}\n");
  EXPECT_EQ(to_yaml(json::value{{"a", json::object{}}, {"b", json::array{}}}), "a: {}\nb: []\n");
}

TEST(codec, parse_json_limits_depth) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(parse_json(deep).ok());
  EXPECT_TRUE(parse_json("[[1]]").ok());
}

TEST(codec, non_finite_numbers_stay_strings_because_json_has_none) {
  auto in = decode_documents("a: +.inf\nb: .nan\nc: 1e999\n", "f.yaml");
  ASSERT_EQ(in.documents.size(), 1u);
  for (const char* k : {"a", "b", "c"})
    EXPECT_TRUE(find_path(in.documents[0].value, k)->is_string()) << k;
  auto back = decode_documents(to_yaml(in.documents[0].value), "out.yaml");
  EXPECT_EQ(back.documents[0].value, in.documents[0].value);
}

TEST(codec, invalid_utf8_is_rejected_with_its_position) {
  auto in = decode_documents("a: 1\nb: \xff\xfe\n", "bin.yaml");
  ASSERT_EQ(in.problems.size(), 1u);
  EXPECT_EQ(in.problems[0].to_string(), "bin.yaml: input is not valid UTF-8 (line 2, column 4)");
  EXPECT_TRUE(decode_documents("name: caf\xc3\xa9\n", "ok.yaml").problems.empty());
  auto nul = decode_documents(std::string("a: x\0y\n", 8), "nul.yaml");
  ASSERT_EQ(nul.problems.size(), 1u);
  EXPECT_EQ(nul.problems[0].to_string(),
            "nul.yaml: input contains the control character U+0000, which YAML does not allow "
            "(line 1, column 5)");
}

TEST(codec, yaml_escapes_for_latin1_code_points_decode_to_utf8) {
  auto in = decode_documents("a: \"x\\Ny\\_z\\xe9\"\n", "esc.yaml");
  ASSERT_EQ(in.documents.size(), 1u);
  EXPECT_EQ(string_at(in.documents[0].value, "a"), "x\xc2\x85y\xc2\xa0z\xc3\xa9");
  auto back = decode_documents(to_yaml(in.documents[0].value), "out.yaml");
  ASSERT_TRUE(back.problems.empty());
  EXPECT_EQ(back.documents[0].value, in.documents[0].value);
}

// Fuzzer finding: YAML allows implicit keys of at most 1024 characters, so a
// longer key was emitted in a form the decoder refuses. Such keys are now
// written as explicit keys ("? key" / ": value"), also inside list items.
TEST(codec, keys_longer_than_1024_characters_round_trip) {
  std::string key(5000, 'k');
  std::string quoted_key = std::string(3000, 'q') + " \"x\"";
  json::value v = {{"spec", {{key, 1}, {"short", "s"}, {quoted_key, nullptr}}},
                   {"items", json::array{{{key, "in a list"}, {"b", 2}}}}};
  auto yaml = to_yaml(v);
  auto again = decode_documents(yaml, "roundtrip.yaml");
  ASSERT_TRUE(again.problems.empty()) << again.problems[0].to_string().substr(0, 300);
  ASSERT_EQ(again.documents.size(), 1u);
  EXPECT_EQ(again.documents[0].value, v);
}

// Issue 9, item 11: JSON syntax errors say where, as YAML errors do.
TEST(codec, json_syntax_errors_carry_line_and_column) {
  auto r = parse_json("{\n  \"a\": 1,\n  \"b\": ]\n}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("(line 3, column 8)"), std::string::npos) << r.err().message;
  auto truncated = parse_json("{\"a\": [1, 2");
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.err().message.find("line 1"), std::string::npos) << truncated.err().message;
  EXPECT_TRUE(parse_json("{\"a\": [1, 2]}").ok());
}
