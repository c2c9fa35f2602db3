#include "rockpool/specs/schema.hpp"
#include "crd_json.hpp"
#include "rockpool/crds/embedded.hpp"
#include "rockpool/specs/codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace rockpool::specs;

TEST(schema, every_kind_is_loaded_from_its_embedded_crd) {
  std::vector<std::string> names;
  for (const auto& k : kinds()) names.push_back(k.kind);
  EXPECT_EQ(names.size(), 8u);
  for (const char* k : {"Workspace", "PortRoute", "NestedHost", "WorkspaceTemplate", "GitSync",
                        "Host", "Event", "WorkspaceSnapshot"})
    EXPECT_NE(find_kind(k), nullptr) << k;
}

TEST(schema, kinds_resolve_by_singular_plural_and_short_names) {
  EXPECT_EQ(find_kind("ws")->kind, "Workspace");
  EXPECT_EQ(find_kind("workspaces")->kind, "Workspace");
  EXPECT_EQ(find_kind("PR")->kind, "PortRoute");
  EXPECT_EQ(find_kind("nh")->kind, "NestedHost");
  EXPECT_EQ(find_kind("wst")->kind, "WorkspaceTemplate");
  EXPECT_EQ(find_kind("pods"), nullptr);
}

TEST(schema, explain_prints_fields_with_types_and_descriptions) {
  auto text = explain("workspace");
  ASSERT_TRUE(text.has_value());
  EXPECT_NE(text->find("KIND:     Workspace"), std::string::npos);
  EXPECT_NE(text->find("spec\t<Object> -required-"), std::string::npos) << *text;
  auto cpu = explain("ws.spec.resources.cpu");
  ASSERT_TRUE(cpu.has_value());
  EXPECT_NE(cpu->find("FIELD:    cpu <integer>"), std::string::npos) << *cpu;
  EXPECT_NE(cpu->find("Range: 1 to 64"), std::string::npos) << *cpu;
  auto conds = explain("workspace.status.conditions.type");
  ASSERT_TRUE(conds.has_value());
  EXPECT_FALSE(explain("workspace.spec.nope").has_value());
  EXPECT_FALSE(explain("nope").has_value());
}

TEST(schema, explain_recursive_lists_nested_fields) {
  auto text = explain("nestedhost.spec", true);
  ASSERT_TRUE(text.has_value());
  EXPECT_NE(text->find("innerNetwork"), std::string::npos);
  EXPECT_NE(text->find("   resources\t<Object>\n     cpu\t<integer>"), std::string::npos) << *text;
}

// The kinds are read from the JSON the build made of crds/*.yaml (a start
// parses JSON, not YAML), and hold exactly what the YAML decodes to.
TEST(schema, the_kinds_are_read_from_json_made_of_their_yaml_and_equal_it) {
  const auto& made = detail::embedded_crd_json();
  ASSERT_EQ(made.size(), rockpool::crds::embedded_files().size());
  std::size_t documents = 0;
  for (const auto& file : rockpool::crds::embedded_files()) {
    auto json_form = std::find_if(made.begin(), made.end(), [&](const auto& j) {
      return j.name == file.name && j.yaml_bytes == file.yaml.size();
    });
    ASSERT_NE(json_form, made.end()) << file.name << ": no JSON of this YAML";
    auto decoded = decode_documents(file.yaml, std::string(file.name));
    ASSERT_TRUE(decoded.problems.empty()) << file.name;
    for (const auto& doc : decoded.documents) {
      const auto* k = find_kind(string_at(doc.value, "spec.names.kind"));
      ASSERT_NE(k, nullptr) << file.name;
      EXPECT_EQ(k->crd, doc.value) << file.name;
      ++documents;
    }
  }
  EXPECT_EQ(documents, kinds().size());
}
