#include "rockpool/specs/object_store.hpp"
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/fault_backend.hpp"
#include "rockpool/specs/rocksdb_backend.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <atomic>
#include <thread>

using namespace rockpool::specs;
using rockpool::test_support::fake_clock;
using rockpool::test_support::temp_dir;

namespace {

json::value workspace(const std::string& name, int cpu = 1) {
  return json::value{{"apiVersion", "rockpool.dev/v1alpha1"},
                     {"kind", "Workspace"},
                     {"metadata", {{"name", name}}},
                     {"spec", {{"image", "tiny"}, {"resources", {{"cpu", cpu}}}}}};
}

std::uint64_t rv_of(const json::value& v) {
  return std::stoull(string_at(v, "metadata.resourceVersion"));
}

class object_store_test : public ::testing::Test {
 protected:
  void SetUp() override { open({}); }
  void open(rocksdb_options o) {
    store_.reset();
    backend_.reset();
    auto b = open_rocksdb(dir_ / "db", o);
    ASSERT_TRUE(b.ok()) << b.err().message;
    backend_ = std::move(*b);
    store_ = std::make_unique<object_store>(*backend_, clock_);
  }
  write_request as(const std::string& manager = "rpctl") { return write_request{false, manager}; }

  temp_dir dir_;
  fake_clock clock_;
  std::unique_ptr<kv_backend> backend_;
  std::unique_ptr<object_store> store_;
};

}  // namespace

TEST_F(object_store_test, create_sets_server_fields_and_global_revision) {
  auto a = store_->create(workspace("a"), as());
  ASSERT_TRUE(a.ok()) << a.err().message;
  EXPECT_EQ(a->effect, write_effect::created);
  EXPECT_EQ(*int_at(a->object, "metadata.generation"), 1);
  EXPECT_EQ(string_at(a->object, "metadata.uid").size(), 36u);
  EXPECT_EQ(string_at(a->object, "metadata.creationTimestamp"), format_rfc3339(clock_.now()));
  EXPECT_EQ(rv_of(a->object), 1u);
  auto b = store_->create(workspace("b"), as());
  EXPECT_EQ(rv_of(b->object), 2u);
  EXPECT_EQ(store_->revision(), 2u);
  auto again = store_->create(workspace("a"), as());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.err().why, reason::already_exists);
}

// A create is one commit, no read (a round trip to etcd saved); an existing
// object still makes it AlreadyExists, a dry run too.
TEST_F(object_store_test, a_create_commits_without_reading_first_and_still_finds_an_existing_object) {
  fault_backend counted(*backend_);
  object_store store(counted, clock_);
  ASSERT_TRUE(store.create(workspace("a"), as()).ok());
  EXPECT_EQ(counted.reads(), 0u);
  EXPECT_EQ(counted.commits_begun(), 1u);
  auto again = store.create(workspace("a"), as());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.err().why, reason::already_exists);
  auto dry = store.create(workspace("a"), write_request{true, "rpctl"});
  ASSERT_FALSE(dry.ok());
  EXPECT_EQ(dry.err().why, reason::already_exists);
  auto dry_new = store.create(workspace("b"), write_request{true, "rpctl"});
  ASSERT_TRUE(dry_new.ok());
  EXPECT_FALSE(store.get("Workspace", "b").ok());
  EXPECT_EQ(counted.commits_begun(), 2u) << "the second create tried; dry runs commit nothing";
}

TEST_F(object_store_test, admission_adds_a_kinds_finalizer_on_create_only) {
  EXPECT_EQ(find_path(store_->create(workspace("plain"), as())->object, "metadata.finalizers"),
            nullptr);
  store_->add_finalizers_on_create({{"Workspace", "rockpool.dev/cleanup"}});
  auto finalizers = [](const json::value& obj) {
    std::vector<std::string> out;
    if (const auto* f = find_path(obj, "metadata.finalizers"))
      for (const auto& e : f->as_array()) out.emplace_back(e.as_string());
    return out;
  };
  auto created = store_->create(workspace("a"), as());
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(finalizers(created->object), std::vector<std::string>{"rockpool.dev/cleanup"});
  auto dry = store_->create(workspace("dry"), write_request{true, "rpctl"});
  EXPECT_EQ(finalizers(dry->object), std::vector<std::string>{"rockpool.dev/cleanup"});
  // Server-side apply creates the same way; the user's own finalizers stay.
  auto mine = workspace("b");
  mine.as_object()["metadata"].as_object()["finalizers"] =
      json::array{"example.com/keep", "rockpool.dev/cleanup"};
  auto applied = store_->apply(mine, as(), false);
  ASSERT_TRUE(applied.ok()) << applied.err().message;
  EXPECT_EQ(finalizers(applied->object),
            (std::vector<std::string>{"example.com/keep", "rockpool.dev/cleanup"}));
  // Not added again by later writes, once the controller has removed it.
  auto patched = store_->merge_patch("Workspace", "a",
                                     json::value{{"metadata", {{"finalizers", nullptr}}}}, as());
  ASSERT_TRUE(patched.ok());
  EXPECT_TRUE(finalizers(patched->object).empty());
  auto replaced = store_->replace(patched->object, as());
  ASSERT_TRUE(replaced.ok());
  EXPECT_TRUE(finalizers(replaced->object).empty());
  // Other kinds are left alone.
  json::value tmpl = {{"apiVersion", "rockpool.dev/v1alpha1"},
                      {"kind", "WorkspaceTemplate"},
                      {"metadata", {{"name", "t"}}},
                      {"spec", {{"image", "tiny"}}}};
  auto t = store_->create(tmpl, as());
  ASSERT_TRUE(t.ok()) << t.err().message;
  EXPECT_TRUE(finalizers(t->object).empty());
}

TEST_F(object_store_test, create_applies_defaults_and_rejects_invalid_objects_with_causes) {
  auto ok = store_->create(workspace("a"), as());
  EXPECT_EQ(*int_at(ok->object, "spec.ide.port"), 8080);
  auto bad = store_->create(workspace("b", 99), as());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.err().why, reason::invalid);
  ASSERT_EQ(bad.err().causes.size(), 1u);
  EXPECT_EQ(bad.err().causes[0].field, "spec.resources.cpu");
  EXPECT_FALSE(store_->get("Workspace", "b").ok());
}

TEST_F(object_store_test, generation_bumps_only_when_spec_changes) {
  auto a = store_->create(workspace("a"), as());
  auto labelled = a->object;
  labelled.as_object()["metadata"].as_object()["labels"] = {{"team", "x"}};
  auto r1 = store_->replace(labelled, as());
  ASSERT_TRUE(r1.ok()) << r1.err().message;
  EXPECT_EQ(*int_at(r1->object, "metadata.generation"), 1);
  EXPECT_GT(rv_of(r1->object), rv_of(a->object));
  auto changed = workspace("a", 2);
  auto r2 = store_->replace(changed, as());
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(*int_at(r2->object, "metadata.generation"), 2);
}

TEST_F(object_store_test, status_writes_never_bump_generation_and_noops_write_nothing) {
  auto a = store_->create(workspace("a"), as());
  auto with_status = a->object;
  with_status.as_object()["status"] = {{"phase", "Running"}, {"observedGeneration", 1}};
  auto s1 = store_->replace_status(with_status, as());
  ASSERT_TRUE(s1.ok()) << s1.err().message;
  EXPECT_EQ(s1->effect, write_effect::configured);
  EXPECT_EQ(*int_at(s1->object, "metadata.generation"), 1);
  auto rev = store_->revision();
  auto s2 = store_->replace_status(s1->object, as());
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->effect, write_effect::unchanged);
  EXPECT_EQ(store_->revision(), rev);
  // Status in a spec write is ignored, and the stored status survives it.
  auto spec_write = workspace("a", 3);
  spec_write.as_object()["status"] = {{"phase", "Failed"}};
  auto r = store_->replace(spec_write, as());
  EXPECT_EQ(string_at(r->object, "status.phase"), "Running");
}

TEST_F(object_store_test, status_is_validated_against_the_schema) {
  auto a = store_->create(workspace("a"), as());
  auto bad = a->object;
  bad.as_object()["status"] = {{"phase", "Exploded"}};
  auto r = store_->replace_status(bad, as());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().why, reason::invalid);
}

TEST_F(object_store_test, stale_resource_version_is_a_conflict) {
  auto a = store_->create(workspace("a"), as());
  auto stale = workspace("a", 2);
  stale.as_object()["metadata"].as_object()["resourceVersion"] = std::to_string(rv_of(a->object));
  ASSERT_TRUE(store_->replace(workspace("a", 3), as()).ok());
  auto r = store_->replace(stale, as());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().why, reason::conflict);
  EXPECT_EQ(*int_at(*store_->get("Workspace", "a"), "spec.resources.cpu"), 3);
  auto d = store_->remove("Workspace", "a", rv_of(a->object), as());
  EXPECT_EQ(d.err().why, reason::conflict);
}

TEST_F(object_store_test, finalizers_hold_deletion_until_removed) {
  auto obj = workspace("a");
  obj.as_object()["metadata"].as_object()["finalizers"] = json::array{"rockpool.dev/cleanup"};
  ASSERT_TRUE(store_->create(obj, as()).ok());
  clock_.advance(std::chrono::seconds(5));
  auto d = store_->remove("Workspace", "a", std::nullopt, as());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->effect, write_effect::terminating);
  auto live = store_->get("Workspace", "a");
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(string_at(*live, "metadata.deletionTimestamp"), format_rfc3339(clock_.now()));
  // Deleting again changes nothing.
  auto rev = store_->revision();
  EXPECT_EQ(store_->remove("Workspace", "a", std::nullopt, as())->effect,
            write_effect::terminating);
  EXPECT_EQ(store_->revision(), rev);
  auto released = *live;
  released.as_object()["metadata"].as_object().erase("finalizers");
  auto r = store_->replace(released, as());
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->effect, write_effect::deleted);
  EXPECT_EQ(store_->get("Workspace", "a").err().why, reason::not_found);
  auto events = store_->events_after(0, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[2].type, "DELETED");
}

TEST_F(object_store_test, watch_from_a_revision_sees_exactly_the_later_events_in_order) {
  ASSERT_TRUE(store_->create(workspace("a"), as()).ok());
  auto from = store_->revision();
  ASSERT_TRUE(store_->create(workspace("b"), as()).ok());
  ASSERT_TRUE(store_->replace(workspace("a", 4), as()).ok());
  ASSERT_TRUE(store_->remove("Workspace", "b", std::nullopt, as()).ok());
  auto events = store_->events_after(from, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].type, "ADDED");
  EXPECT_EQ(string_at((*events)[0].object, "metadata.name"), "b");
  EXPECT_EQ((*events)[1].type, "MODIFIED");
  EXPECT_EQ(*int_at((*events)[1].object, "spec.resources.cpu"), 4);
  EXPECT_EQ((*events)[2].type, "DELETED");
  for (std::size_t i = 0; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].revision, from + 1 + i);
    EXPECT_EQ(rv_of((*events)[i].object), from + 1 + i);
  }
  EXPECT_TRUE(store_->events_after(store_->revision(), 10)->empty());
}

TEST_F(object_store_test, compaction_keeps_the_retention_window_and_older_watches_get_gone) {
  open([] { rocksdb_options o; o.event_retention = 10; return o; }());
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(store_->create(workspace("w" + std::to_string(i)), as()).ok());
  EXPECT_GT(backend_->compacted_revision(), 0u);
  auto old = store_->events_after(1, 10);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.err().why, reason::gone);
  auto recent = store_->events_after(25, 10);
  ASSERT_TRUE(recent.ok());
  EXPECT_EQ(recent->size(), 5u);
  // The compaction point survives a restart.
  auto compacted = backend_->compacted_revision();
  open([] { rocksdb_options o; o.event_retention = 10; return o; }());
  EXPECT_EQ(backend_->compacted_revision(), compacted);
  EXPECT_EQ(store_->events_after(1, 10).err().why, reason::gone);
}

TEST_F(object_store_test, apply_records_ownership_and_conflicts_with_another_manager) {
  auto a = store_->apply(workspace("a"), as("rpctl"), false);
  ASSERT_TRUE(a.ok()) << a.err().message;
  EXPECT_EQ(a->effect, write_effect::created);
  EXPECT_EQ(annotation(a->object, managed_by_annotation), "rpctl");
  EXPECT_EQ(store_->apply(workspace("a"), as("rpctl"), false)->effect, write_effect::unchanged);
  auto theirs = store_->apply(workspace("a", 2), as("gitops:repo/"), false);
  ASSERT_FALSE(theirs.ok());
  EXPECT_EQ(theirs.err().why, reason::conflict);
  EXPECT_NE(theirs.err().message.find("managed by \"rpctl\""), std::string::npos);
  auto forced = store_->apply(workspace("a", 2), as("gitops:repo/"), true);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced->effect, write_effect::configured);
  EXPECT_EQ(annotation(forced->object, managed_by_annotation), "gitops:repo/");
  // An object a GitSync owns: the message says where to change it instead.
  auto synced = workspace("s");
  synced.as_object()["metadata"].as_object()["labels"] = {{gitsync_label, "team"}};
  ASSERT_TRUE(store_->apply(synced, as("gitsync/team"), false).ok());
  auto mine = store_->apply(workspace("s", 2), as("rpctl"), false);
  ASSERT_FALSE(mine.ok());
  EXPECT_NE(mine.err().message.find("GitSync team puts back any change made elsewhere"),
            std::string::npos)
      << mine.err().message;
  EXPECT_EQ(mine.err().message.find("--force-conflicts"), std::string::npos);
}

// Issue 14: kubectl's `kubectl-last-applied` manager applies metadata only;
// that merges labels and annotations and leaves spec and owner alone.
TEST_F(object_store_test, a_metadata_only_apply_merges_metadata_and_keeps_spec_and_owner) {
  ASSERT_TRUE(store_->apply(workspace("a", 3), as("rpctl"), false).ok());
  auto body = *parse_json(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"a",)"
      R"("labels":{"team":"x"},"annotations":{"note":"hi","rockpool.dev/managed-by":"me"}}})");
  auto r = store_->apply(body, as("kubectl-last-applied"), false);
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->effect, write_effect::configured);
  EXPECT_EQ(int_at(r->object, "spec.resources.cpu"), 3);
  EXPECT_EQ(annotation(r->object, managed_by_annotation), "rpctl");
  EXPECT_EQ(annotation(r->object, "note"), "hi");
  EXPECT_EQ(string_at(r->object, "metadata.labels.team"), "x");
  EXPECT_EQ(store_->apply(body, as("kubectl-last-applied"), false)->effect,
            write_effect::unchanged);
  // Of an object that does not exist it is an ordinary apply: spec is required.
  body.as_object()["metadata"].as_object()["name"] = "b";
  auto missing = store_->apply(body, as("kubectl-last-applied"), false);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.err().why, reason::invalid);
}

TEST_F(object_store_test, apply_removes_only_the_labels_it_applied_before) {
  auto v1 = workspace("a");
  v1.as_object()["metadata"].as_object()["labels"] = {{"a", "1"}, {"b", "2"}};
  ASSERT_TRUE(store_->apply(v1, as(), false).ok());
  auto live = *store_->get("Workspace", "a");
  live.as_object()["metadata"].as_object()["labels"].as_object()["added-by-hand"] = "x";
  ASSERT_TRUE(store_->replace(live, as()).ok());
  auto v2 = workspace("a");
  v2.as_object()["metadata"].as_object()["labels"] = {{"a", "1"}};
  auto r = store_->apply(v2, as(), false);
  ASSERT_TRUE(r.ok());
  const auto& labels = find_path(r->object, "metadata.labels")->get_object();
  EXPECT_TRUE(labels.contains("a"));
  EXPECT_FALSE(labels.contains("b"));
  EXPECT_TRUE(labels.contains("added-by-hand"));
}

TEST_F(object_store_test, dry_run_writes_nothing) {
  write_request dry{true, "rpctl"};
  auto r = store_->apply(workspace("a"), dry, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->effect, write_effect::created);
  EXPECT_EQ(store_->revision(), 0u);
  EXPECT_EQ(store_->get("Workspace", "a").err().why, reason::not_found);
}

TEST_F(object_store_test, merge_patch_changes_only_named_fields) {
  ASSERT_TRUE(store_->create(workspace("a"), as()).ok());
  auto patch = parse_json(R"({"spec":{"state":"Stopped","resources":{"cpu":null}}})");
  auto r = store_->merge_patch("Workspace", "a", *patch, as());
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(string_at(r->object, "spec.state"), "Stopped");
  EXPECT_EQ(find_path(r->object, "spec.resources.cpu"), nullptr);
  EXPECT_EQ(string_at(r->object, "spec.image"), "tiny");
}

TEST_F(object_store_test, list_filters_by_label_selector_from_one_snapshot) {
  auto a = workspace("a");
  a.as_object()["metadata"].as_object()["labels"] = {{"tier", "web"}};
  ASSERT_TRUE(store_->create(a, as()).ok());
  ASSERT_TRUE(store_->create(workspace("b"), as()).ok());
  auto sel = label_selector::parse("tier in (web, db)");
  ASSERT_TRUE(sel.ok());
  auto l = store_->list("Workspace", *sel);
  ASSERT_EQ(l->items.size(), 1u);
  EXPECT_EQ(l->revision, 2u);
  EXPECT_EQ(store_->list("Workspace", *label_selector::parse("!tier"))->items.size(), 1u);
  EXPECT_EQ(store_->list("Workspace")->items.size(), 2u);
  EXPECT_FALSE(label_selector::parse("a in b").ok());
}

TEST_F(object_store_test, concurrent_writers_share_syncs) {
  constexpr int threads = 16, per_thread = 20;
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i)
        if (!store_->create(workspace("w" + std::to_string(t) + "-" + std::to_string(i)), as())
                 .ok())
          ++failures;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures, 0);
  auto st = backend_->stats();
  EXPECT_EQ(st.writes, static_cast<std::uint64_t>(threads * per_thread));
  EXPECT_LT(st.batches, st.writes) << "no write was group-committed";
  EXPECT_EQ(store_->revision(), static_cast<std::uint64_t>(threads * per_thread));
}

TEST_F(object_store_test, data_survives_reopening) {
  ASSERT_TRUE(store_->create(workspace("a"), as()).ok());
  ASSERT_TRUE(store_->replace(workspace("a", 5), as()).ok());
  open({});
  auto a = store_->get("Workspace", "a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*int_at(*a, "spec.resources.cpu"), 5);
  EXPECT_EQ(store_->revision(), 2u);
  ASSERT_TRUE(store_->create(workspace("b"), as()).ok());
  EXPECT_EQ(store_->revision(), 3u);
}

TEST_F(object_store_test, a_second_open_of_the_same_directory_fails_clearly) {
  auto second = open_rocksdb(dir_ / "db", {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.err().why, reason::unavailable);
  EXPECT_NE(second.err().message.find("in use by another rockpoold"), std::string::npos)
      << second.err().message;
}

// ---- issue 9, item 6: a cross-object check and its write are one step ----

namespace {
// Creates `objects` concurrently (released together) and counts the successes.
int concurrent_creates(object_store& store, const std::vector<json::value>& objects) {
  std::atomic<int> ready{0}, created{0};
  std::vector<std::thread> threads;
  for (const auto& o : objects)
    threads.emplace_back([&, o] {
      ++ready;
      while (ready < static_cast<int>(objects.size())) std::this_thread::yield();
      if (store.create(o, {false, "rpctl"}).ok()) ++created;
    });
  for (auto& t : threads) t.join();
  return created;
}
}  // namespace

TEST(object_store_admission, concurrent_routes_to_one_port_and_overlapping_networks_admit_one) {
  temp_dir dir;
  fake_clock clock;
  auto backend = open_rocksdb(dir / "db", {});
  ASSERT_TRUE(backend.ok());
  object_store store(**backend, clock, {}, &rockpool::actors::kind_rules());
  for (int round = 0; round < 20; ++round) {
    std::vector<json::value> routes, hosts;
    auto n = std::to_string(round);
    for (int t = 0; t < 4; ++t) {
      auto i = std::to_string(t);
      routes.push_back(json::value{{"apiVersion", "rockpool.dev/v1alpha1"},
                                   {"kind", "PortRoute"},
                                   {"metadata", {{"name", "r" + n + "-" + i}}},
                                   {"spec", {{"workspace", "w" + n}, {"port", 9000}}}});
      hosts.push_back(
          json::value{{"apiVersion", "rockpool.dev/v1alpha1"},
                      {"kind", "NestedHost"},
                      {"metadata", {{"name", "h" + n + "-" + i}}},
                      {"spec", {{"image", "x"}, {"innerNetwork", "10." + n + "." + i + ".0/16"}}}});
    }
    EXPECT_EQ(concurrent_creates(store, routes), 1) << "round " << round;
    EXPECT_EQ(concurrent_creates(store, hosts), 1) << "round " << round;
  }
}

// RFC 6902, the operations and their failures (the examples of its appendix,
// in spirit).
TEST(json_patch, every_operation_and_every_failure) {
  auto doc =
      *rockpool::specs::parse_json(R"({"a":{"b":1,"c/d":2,"e~f":3},"list":["x","y"],"n":null})");
  auto patch = [&](const char* ops) {
    return rockpool::specs::apply_json_patch(doc, *rockpool::specs::parse_json(ops));
  };
  auto ok = patch(R"([{"op":"add","path":"/a/z","value":9},
                      {"op":"replace","path":"/a/c~1d","value":20},
                      {"op":"remove","path":"/a/e~0f"},
                      {"op":"add","path":"/list/-","value":"z"},
                      {"op":"add","path":"/list/0","value":"w"},
                      {"op":"move","from":"/a/b","path":"/moved"},
                      {"op":"copy","from":"/list/1","path":"/copied"},
                      {"op":"test","path":"/n","value":null}])");
  ASSERT_TRUE(ok.ok()) << ok.err().message;
  EXPECT_EQ(
      *ok,
      *rockpool::specs::parse_json(
          R"({"a":{"c/d":20,"z":9},"list":["w","x","y","z"],"n":null,"moved":1,"copied":"x"})"))
      << boost::json::serialize(*ok);
  using rockpool::specs::reason;
  EXPECT_EQ(patch(R"({"op":"add"})").err().why, reason::bad_request) << "not an array";
  EXPECT_EQ(patch(R"([{"op":"remove","path":"/nope"}])").err().why, reason::bad_request);
  EXPECT_EQ(patch(R"([{"op":"replace","path":"/a/nope","value":1}])").err().why,
            reason::bad_request);
  EXPECT_EQ(patch(R"([{"op":"add","path":"/list/7","value":1}])").err().why, reason::bad_request);
  EXPECT_EQ(patch(R"([{"op":"add","path":"/list/01","value":1}])").err().why, reason::bad_request);
  EXPECT_EQ(patch(R"([{"op":"add","path":"a","value":1}])").err().why, reason::bad_request);
  EXPECT_EQ(patch(R"([{"op":"add","path":"/x"}])").err().why, reason::bad_request) << "no value";
  EXPECT_EQ(patch(R"([{"op":"frobnicate","path":"/x"}])").err().why, reason::bad_request);
  auto failed =
      patch(R"([{"op":"add","path":"/t","value":1},{"op":"test","path":"/a/b","value":2}])");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.err().why, reason::invalid);
  EXPECT_NE(failed.err().message.find("operation 1: test failed: /a/b is 1, not 2"),
            std::string::npos)
      << failed.err().message;
}
