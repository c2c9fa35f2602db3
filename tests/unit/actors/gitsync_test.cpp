// GitSync's engine on an in-memory store, and its sources on temporary
// directories and Git repositories made by the test (git init, commits).
#include "gitsync/sync.hpp"

#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/runtime/source.hpp"
#include "rockpool/specs/memory_backend.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace rockpool;
using specs::string_at;
namespace json = boost::json;
namespace gitsync = actors::gitsync;

namespace {

std::string ws(const std::string& name, int cpu = 1) {
  return "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata: {name: " + name +
         "}\nspec: {image: tiny, resources: {cpu: " + std::to_string(cpu) + "}}\n";
}
std::string route(const std::string& name, const std::string& workspace, int port) {
  return "apiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\nmetadata: {name: " + name +
         "}\nspec: {workspace: " + workspace + ", port: " + std::to_string(port) + "}\n";
}

class gitsync_engine : public ::testing::Test {
 protected:
  void write(const std::string& rel, const std::string& text) {
    auto p = dir_.path() / "src" / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  json::value sync(const std::string& extra_spec = "") {
    auto text = R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"GitSync","metadata":{"name":"s"},)"
                R"("spec":{"path":")" +
                (dir_ / "src") + "\"" + extra_spec + "}}";
    auto v = specs::parse_json(text);
    EXPECT_TRUE(v.ok());
    return *v;
  }
  // One sync as the reconciler runs it, the inventory carried over in status.
  static gitsync::sync_view view(const json::value& gs) {
    auto v = gitsync::sync_view::of(gs);
    EXPECT_TRUE(v.ok()) << v.err().message;
    return v.ok() ? *v : gitsync::sync_view{};
  }
  gitsync::sync_outcome run(json::value& gs, bool dry_run = false, bool allow = false) {
    auto desired = gitsync::read_source({}, store_, view(gs), true, {});
    EXPECT_TRUE(desired.source_ok) << desired.source_message;
    EXPECT_TRUE(desired.problems.empty())
        << (desired.problems.empty() ? "" : desired.problems[0].to_string());
    auto out = gitsync::execute(store_, view(gs), desired, dry_run, allow);
    json::array inv;
    for (const auto& k : out.inventory) inv.push_back(json::value(k));
    gs.as_object()["status"] = {{"inventory", inv}};
    return out;
  }

  test_support::temp_dir dir_;
  test_support::fake_clock clock_;
  std::unique_ptr<specs::kv_backend> backend_ = specs::make_memory_backend();
  specs::object_store store_{*backend_, clock_, {}, &actors::kind_rules()};
};

}  // namespace

TEST_F(gitsync_engine, applies_as_its_own_manager_with_its_label_then_changes_nothing) {
  write("a.yaml", ws("a") + "---\n" + route("a-80", "a", 80));
  write("nested/b.yml", ws("b"));
  write(".hidden/c.yaml", ws("c"));
  write("notes.txt", "not a manifest");
  auto gs = sync();
  auto first = run(gs);
  EXPECT_EQ(first.applied, 3);
  EXPECT_EQ(first.inventory,
            (std::set<std::string>{"PortRoute/a-80", "Workspace/a", "Workspace/b"}));
  auto a = store_.get("Workspace", "a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(specs::annotation(*a, specs::managed_by_annotation), "gitsync/s");
  const auto* labels = specs::find_path(*a, "metadata.labels");
  ASSERT_TRUE(labels && labels->is_object());
  EXPECT_EQ(labels->at(specs::gitsync_label), "s");
  EXPECT_FALSE(store_.get("Workspace", "c").ok());  // hidden directories are skipped
  auto second = run(gs);
  EXPECT_EQ(second.applied, 0);
  EXPECT_EQ(second.unchanged, 3);
}

TEST_F(gitsync_engine, prunes_what_left_the_source_port_routes_before_workspaces) {
  write("a.yaml", ws("a") + "---\n" + route("a-80", "a", 80) + "---\n" + ws("b") + "---\n" +
                      ws("c") + "---\n" + ws("d"));
  auto gs = sync();
  run(gs);
  write("a.yaml", ws("b") + "---\n" + ws("c") + "---\n" + ws("d"));
  auto out = run(gs);
  std::vector<std::string> pruned;
  for (const auto& c : out.changes)
    if (c.action == "prune") pruned.push_back(c.object);
  EXPECT_EQ(pruned, (std::vector<std::string>{"PortRoute/a-80", "Workspace/a"}));
  EXPECT_EQ(out.inventory.count("Workspace/a"), 0u);
  EXPECT_FALSE(store_.get("PortRoute", "a-80").ok());
}

TEST_F(gitsync_engine, stops_before_pruning_more_than_max_prune_unless_allowed) {
  write("a.yaml", ws("a") + "---\n" + ws("b") + "---\n" + ws("c") + "---\n" + ws("d"));
  auto gs = sync(R"(,"maxPrune":"1")");
  run(gs);
  write("a.yaml", ws("a") + "---\n" + ws("b"));
  auto blocked = run(gs);
  EXPECT_EQ(blocked.pruned, 0);
  EXPECT_NE(blocked.prune_blocked.find("would prune 2 of 4"), std::string::npos)
      << blocked.prune_blocked;
  EXPECT_TRUE(store_.get("Workspace", "d").ok());
  EXPECT_EQ(blocked.inventory.size(), 4u);  // still ours, still to prune
  auto allowed = run(gs, false, /*allow=*/true);
  EXPECT_EQ(allowed.pruned, 2);
  EXPECT_FALSE(store_.get("Workspace", "d").ok());
}

TEST_F(gitsync_engine, an_object_of_another_manager_is_a_conflict_until_force) {
  auto mine = specs::parse_json(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"a"},)"
      R"("spec":{"image":"mine"}})");
  ASSERT_TRUE(store_.apply(*mine, {false, "rpctl"}, false).ok());
  write("a.yaml", ws("a") + "---\n" + ws("b"));
  auto gs = sync();
  auto out = run(gs);
  EXPECT_EQ(out.conflicts, 1);
  EXPECT_EQ(out.inventory, (std::set<std::string>{"Workspace/b"}));
  EXPECT_EQ(string_at(*store_.get("Workspace", "a"), "spec.image"), "mine");
  auto forced = sync(R"(,"force":true)");
  forced.as_object()["status"] = gs.at("status");
  auto taken = run(forced);
  EXPECT_EQ(taken.conflicts, 0);
  EXPECT_EQ(string_at(*store_.get("Workspace", "a"), "spec.image"), "tiny");
  EXPECT_EQ(specs::annotation(*store_.get("Workspace", "a"), specs::managed_by_annotation),
            "gitsync/s");
}

TEST_F(gitsync_engine, drift_by_a_forced_apply_is_taken_back_but_another_sync_is_not) {
  write("a.yaml", ws("a"));
  auto gs = sync();
  run(gs);
  auto drift = specs::parse_json(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"a"},)"
      R"("spec":{"image":"drifted"}})");
  ASSERT_TRUE(store_.apply(*drift, {false, "rpctl"}, true).ok());
  auto back = run(gs);
  EXPECT_EQ(back.applied, 1);
  EXPECT_EQ(string_at(*store_.get("Workspace", "a"), "spec.image"), "tiny");
  ASSERT_TRUE(store_.apply(*drift, {false, "gitsync/other"}, true).ok());
  auto refused = run(gs);
  EXPECT_EQ(refused.conflicts, 1);  // two syncs never fight over an object
  EXPECT_EQ(string_at(*store_.get("Workspace", "a"), "spec.image"), "drifted");
}

TEST_F(gitsync_engine, force_does_not_take_an_object_from_another_sync_that_forces) {
  write("a.yaml", ws("a"));
  auto other = specs::parse_json(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"GitSync","metadata":{"name":"other"},)"
      R"("spec":{"path":"/nonexistent","force":true}})");
  ASSERT_TRUE(store_.create(*other, {false, "rpctl"}).ok());
  auto theirs = specs::parse_json(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"a"},)"
      R"("spec":{"image":"theirs"}})");
  ASSERT_TRUE(store_.apply(*theirs, {false, "gitsync/other"}, false).ok());
  auto gs = sync(R"(,"force":true)");
  auto refused = run(gs);
  EXPECT_EQ(refused.conflicts, 1);
  ASSERT_EQ(refused.changes.size(), 1u);
  EXPECT_NE(refused.changes[0].message.find("managed by GitSync other"), std::string::npos)
      << refused.changes[0].message;
  EXPECT_EQ(string_at(*store_.get("Workspace", "a"), "spec.image"), "theirs");
  // From a sync that does not force, force takes it (that sync then reports
  // a conflict instead of taking it back).
  auto calm = specs::parse_json(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"GitSync","metadata":{"name":"other"},)"
      R"("spec":{"path":"/nonexistent","force":false}})");
  ASSERT_TRUE(store_.apply(*calm, {false, "rpctl"}, true).ok());
  auto taken = run(gs);
  EXPECT_EQ(taken.conflicts, 0);
  EXPECT_EQ(string_at(*store_.get("Workspace", "a"), "spec.image"), "tiny");
  // And from a sync that is gone (deleted without pruning).
  ASSERT_TRUE(store_.apply(*theirs, {false, "gitsync/gone"}, true).ok());
  auto again = run(gs);
  EXPECT_EQ(again.conflicts, 0);
  EXPECT_EQ(string_at(*store_.get("Workspace", "a"), "spec.image"), "tiny");
}

TEST_F(gitsync_engine, a_dry_run_reports_every_change_and_writes_nothing) {
  write("a.yaml", ws("a") + "---\n" + ws("b"));
  auto gs = sync();
  run(gs);
  write("a.yaml", ws("a", 2));
  auto before = store_.revision();
  auto out = run(gs, /*dry_run=*/true);
  EXPECT_EQ(store_.revision(), before);
  std::map<std::string, std::string> actions;
  for (const auto& c : out.changes) actions[c.object] = c.action;
  EXPECT_EQ(actions["Workspace/a"], "update");
  EXPECT_EQ(actions["Workspace/b"], "prune");
}

TEST_F(gitsync_engine, one_bad_document_is_located_and_fails_the_whole_source) {
  write("a.yaml", ws("a"));
  write("dir/b.yaml", ws("b") + "---\n" + ws("c", 1000));
  auto desired = gitsync::read_source({}, store_, view(sync()), true, {});
  ASSERT_TRUE(desired.source_ok);
  ASSERT_EQ(desired.problems.size(), 1u);
  const auto& p = desired.problems[0];
  EXPECT_EQ(p.source, "dir/b.yaml");  // relative to the source
  EXPECT_EQ(p.index, 2);
  EXPECT_EQ(p.field, "spec.resources.cpu");
  EXPECT_EQ(p.at.line, 9);  // in the file: its second document's spec
}

TEST(gitsync_source, rockpoolignore_skips_files_and_directories) {
  runtime::manifest_filter f("# comment\ndrafts/\n*.local.yaml\nexact/path.yaml\n");
  EXPECT_TRUE(f.wanted_file("a.yaml"));
  EXPECT_TRUE(f.wanted_file("x/b.json"));
  EXPECT_FALSE(f.wanted_file("README.md"));
  EXPECT_FALSE(f.wanted_file(".secret.yaml"));
  EXPECT_FALSE(f.wanted_directory("drafts"));
  EXPECT_FALSE(f.wanted_directory("x/drafts"));
  EXPECT_FALSE(f.wanted_directory(".git"));
  EXPECT_FALSE(f.wanted_file("x/y.local.yaml"));
  EXPECT_FALSE(f.wanted_file("exact/path.yaml"));
  EXPECT_TRUE(f.wanted_file("other/exact/path.yaml"));
}

TEST(gitsync_source, a_directory_revision_follows_its_contents_only) {
  test_support::temp_dir d;
  std::ofstream(d / "a.yaml") << "x: 1\n";
  auto one = runtime::read_directory(d.path().string());
  ASSERT_TRUE(one.ok()) << one.err().message;
  EXPECT_EQ(one->revision.rfind("sha1:", 0), 0u);
  std::ofstream(d / "notes.txt") << "ignored";
  EXPECT_EQ(runtime::read_directory(d.path().string())->revision, one->revision);
  std::ofstream(d / "a.yaml") << "x: 2\n";
  EXPECT_NE(runtime::read_directory(d.path().string())->revision, one->revision);
  EXPECT_FALSE(runtime::read_directory((d / "missing")).ok());
  runtime::source_limits tiny;
  tiny.max_file_bytes = 3;
  auto over = runtime::read_directory(d.path().string(), tiny);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.err().message.find("a.yaml"), std::string::npos) << over.err().message;
}

TEST(gitsync_source, git_reads_a_path_at_a_branch_a_tag_and_a_commit) {
  test_support::temp_dir d;
  auto git = [&](const std::string& args) {
    auto r = test_support::run_command("cd " + (d / "repo") +
                                       " && git -c user.email=t@t -c user.name=t " + args);
    EXPECT_EQ(r.exit_code, 0) << args << ": " << r.err;
    return r.out;
  };
  std::filesystem::create_directories(d.path() / "repo" / "specs");
  git("init -q -b main");
  std::ofstream(d / "repo/specs/a.yaml") << "x: 1\n";
  std::ofstream(d / "repo/specs/.rockpoolignore") << "skip.yaml\n";
  std::ofstream(d / "repo/specs/skip.yaml") << "x: 0\n";
  std::ofstream(d / "repo/top.yaml") << "x: top\n";
  git("add -A && git -c user.email=t@t -c user.name=t commit -qm one && git tag v1");
  auto first = git("rev-parse HEAD");
  first.pop_back();
  std::ofstream(d / "repo/specs/a.yaml") << "x: 2\n";
  git("commit -qam two");
  runtime::git_source src{"file://" + (d / "repo"), "main", "specs", d / "clone"};
  auto head = runtime::git_fetch(src, std::chrono::seconds(30));
  ASSERT_TRUE(head.ok()) << head.err().message;
  EXPECT_NE(*head, first);
  auto snap = runtime::git_read(src, *head);
  ASSERT_TRUE(snap.ok()) << snap.err().message;
  ASSERT_EQ(snap->files.size(), 1u);
  EXPECT_EQ(snap->files[0].path, "a.yaml");
  EXPECT_EQ(snap->files[0].content, "x: 2\n");
  EXPECT_EQ(snap->revision, *head);
  src.ref = "v1";
  EXPECT_EQ(*runtime::git_fetch(src, std::chrono::seconds(30)), first);
  src.ref = first.substr(0, 12);
  EXPECT_EQ(*runtime::git_fetch(src, std::chrono::seconds(30)), first);
  src.ref = "no-such-branch";
  EXPECT_FALSE(runtime::git_fetch(src, std::chrono::seconds(30)).ok());
  src.path = "missing";
  EXPECT_FALSE(runtime::git_read(src, *head).ok());
}
