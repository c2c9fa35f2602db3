// The shared load-and-validate path and the in-daemon object writer.
#include "rockpool/specs/manifests.hpp"
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/specs/memory_backend.hpp"
#include "rockpool/specs/store_writer.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace rockpool;
using specs::string_at;

namespace {
std::string object(const std::string& kind, const std::string& name, const std::string& spec) {
  return "apiVersion: rockpool.dev/v1alpha1\nkind: " + kind + "\nmetadata:\n  name: " + name +
         "\nspec:\n" + spec;
}
}  // namespace

TEST(manifests, directories_are_read_in_name_order_recursively_and_sorted_for_apply) {
  test_support::temp_dir dir;
  std::filesystem::create_directories(dir / "sub");
  std::ofstream(dir / "b.yaml") << object("PortRoute", "r", "  workspace: w\n  port: 9000\n");
  std::ofstream(dir / "a.yml") << object("Workspace", "w", "  template: t\n");
  std::ofstream(dir.path() / "sub" / "t.json")
      << R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"WorkspaceTemplate",)"
      << R"("metadata":{"name":"t"},"spec":{"image":"x"}})";
  std::ofstream(dir / "notes.txt") << "not a manifest";
  std::istringstream no_stdin;
  specs::validation_context ctx;
  ctx.rules = &actors::kind_rules();
  auto flat = specs::load_and_validate({dir.path().string()}, false, no_stdin, ctx);
  EXPECT_EQ(flat.documents.size(), 2u);
  auto deep = specs::load_and_validate({dir.path().string()}, true, no_stdin, ctx);
  ASSERT_TRUE(deep.problems.empty()) << deep.problems[0].to_string();
  std::vector<std::string> kinds;
  for (const auto& d : deep.documents) kinds.push_back(string_at(d.value, "kind"));
  EXPECT_EQ(kinds, (std::vector<std::string>{"WorkspaceTemplate", "Workspace", "PortRoute"}));
}

TEST(manifests, every_problem_is_collected_with_its_source) {
  std::istringstream in(object("Workspace", "Bad_Name", "  image: x\n") + "---\n" +
                        object("Workspace", "ok", "  resources:\n    cpu: 0\n"));
  specs::validation_context ctx;
  ctx.rules = &actors::kind_rules();
  auto set = specs::load_and_validate({"-", "/does/not/exist"}, false, in, ctx);
  // The missing path, the name, and cpu (the kind rules run once the schema passes).
  ASSERT_EQ(set.problems.size(), 3u);
  EXPECT_EQ(set.problems[0].source, "/does/not/exist");
  EXPECT_EQ(set.problems[1].source, "-");
}

TEST(store_writer, applies_lists_and_removes_straight_on_the_store) {
  auto backend = specs::make_memory_backend();
  test_support::fake_clock clock;
  specs::object_store store(*backend, clock, {}, &actors::kind_rules());
  specs::store_writer writer(store);
  std::istringstream in(object("Workspace", "w", "  image: x\n"));
  auto set = specs::load_manifests({"-"}, false, in);
  ASSERT_EQ(set.documents.size(), 1u);
  auto dry = writer.apply(set.documents[0].value, "gitsync/demo", false, true);
  ASSERT_TRUE(dry.ok()) << dry.err().message;
  EXPECT_EQ(writer.get("Workspace", "w").err().why, specs::reason::not_found);
  auto r = writer.apply(set.documents[0].value, "gitsync/demo", false, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->effect, specs::write_effect::created);
  EXPECT_EQ(writer.apply(set.documents[0].value, "rpctl", false, false).err().why,
            specs::reason::conflict);
  EXPECT_EQ(writer.list("Workspace", "")->size(), 1u);
  EXPECT_EQ(*writer.remove("Workspace", "w", false), specs::write_effect::deleted);
  EXPECT_TRUE(writer.list("Workspace", "")->empty());
}
