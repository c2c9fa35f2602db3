// The kv_backend contract, run against RocksDB and the in-memory backend; the
// object store over the fault-injecting backend; RocksDB after a torn WAL
// tail. Store formats and backups: store_format_test.cpp.
#include "rockpool/specs/fault_backend.hpp"
#include "rockpool/specs/memory_backend.hpp"
#include "rockpool/specs/object_store.hpp"
#include "rockpool/specs/rocksdb_backend.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <filesystem>
#include <thread>

using namespace rockpool::specs;
using rockpool::test_support::fake_clock;
using rockpool::test_support::temp_dir;

namespace {

json::value workspace(const std::string& name) {
  return json::value{{"apiVersion", "rockpool.dev/v1alpha1"},
                     {"kind", "Workspace"},
                     {"metadata", {{"name", name}}},
                     {"spec", {{"image", "tiny"}}}};
}

class backend_contract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      backend_ = make_memory_backend(/*event_retention=*/4);
    } else {
      rocksdb_options o;
      o.event_retention = 4;
      auto b = open_rocksdb(dir_ / "db", o);
      ASSERT_TRUE(b.ok()) << b.err().message;
      backend_ = std::move(*b);
    }
  }
  temp_dir dir_;
  std::unique_ptr<kv_backend> backend_;
};

}  // namespace

TEST_P(backend_contract, compare_and_swap_revisions_and_events) {
  std::vector<kv_event> heard;
  backend_->set_commit_listener([&](std::vector<kv_event> e) {
    for (auto& x : e) heard.push_back(std::move(x));
  });
  auto r1 = backend_->commit({"Workspace/a", 0, "1"});
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(*r1, 1u);
  auto again = backend_->commit({"Workspace/a", 0, "x"});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.err().why, reason::conflict);
  auto r2 = backend_->commit({"Workspace/a", *r1, "2"});
  ASSERT_TRUE(r2.ok());
  auto gone_key = backend_->commit({"Workspace/none", 0, std::nullopt});
  EXPECT_EQ(gone_key.err().why, reason::not_found);
  ASSERT_TRUE(backend_->commit({"Workspace/a", *r2, std::nullopt}).ok());
  EXPECT_EQ(backend_->revision(), 3u);
  auto events = backend_->events_after(0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[2].kind, kv_event::type::deleted);
  EXPECT_EQ((*events)[2].value, "2") << "a deletion carries the last value";
  EXPECT_EQ(heard.size(), 3u);
  EXPECT_FALSE(backend_->get("Workspace/a")->has_value());
}

TEST_P(backend_contract, allocations_have_their_own_revisions_and_no_events) {
  ASSERT_TRUE(backend_->commit({"Workspace/a", 0, "1"}).ok());
  auto a = backend_->commit({"alloc/hostport/20000", 0, "{}", keyspace::allocations});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 1u);
  EXPECT_EQ(backend_->revision(), 1u) << "allocations do not move the store revision";
  EXPECT_EQ(backend_->events_after(0, 10)->size(), 1u);
  EXPECT_TRUE(backend_->list("alloc/")->records.empty()) << "not among the objects";
  auto allocs = backend_->list("alloc/", keyspace::allocations);
  ASSERT_EQ(allocs->records.size(), 1u);
  EXPECT_EQ(allocs->records[0].mod_revision, 1u);
  EXPECT_EQ(backend_->commit({"alloc/hostport/20000", 0, "{}", keyspace::allocations}).err().why,
            reason::conflict);
  EXPECT_TRUE(
      backend_->commit({"alloc/hostport/20000", 1, std::nullopt, keyspace::allocations}).ok());
}

TEST_P(backend_contract, count_matches_a_list_of_the_prefix_in_its_keyspace) {
  for (const char* key : {"Workspace/a", "Workspace/b", "WorkspaceTemplate/t", "PortRoute/a-80"})
    ASSERT_TRUE(backend_->commit({key, 0, "{}"}).ok());
  ASSERT_TRUE(backend_->commit({"Workspace/b", 2, std::nullopt}).ok());  // deleted
  ASSERT_TRUE(backend_->commit({"Workspace/x", 0, "{}", keyspace::allocations}).ok());
  for (const char* prefix : {"Workspace/", "WorkspaceTemplate/", "PortRoute/", "Host/"}) {
    auto n = backend_->count(prefix, keyspace::objects);
    ASSERT_TRUE(n.ok()) << prefix;
    EXPECT_EQ(*n, backend_->list(prefix)->records.size()) << prefix;
  }
  EXPECT_EQ(*backend_->count("Workspace/", keyspace::objects), 1u);
  EXPECT_EQ(*backend_->count("Workspace/", keyspace::allocations), 1u);
}

TEST_P(backend_contract, events_past_retention_are_gone) {
  for (int i = 0; i < 12; ++i)
    ASSERT_TRUE(backend_->commit({"Workspace/w" + std::to_string(i), 0, "v"}).ok());
  auto old = backend_->events_after(0, 100);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.err().why, reason::gone);
  auto recent = backend_->events_after(11, 100);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ(recent->front().revision, 12u);
}

TEST_P(backend_contract, pages_read_at_the_first_pages_revision_until_its_view_is_evicted) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(backend_->commit({"Workspace/w" + std::to_string(i), 0, "v1"}).ok());
  ASSERT_TRUE(backend_->commit({"Other/x", 0, "v"}).ok());
  auto first = backend_->list_page("Workspace/", "", 2, 0);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->records.size(), 2u);
  EXPECT_TRUE(first->more);
  EXPECT_EQ(first->revision, 6u);
  // Later writes are not seen by the next pages of the same read.
  auto w3 = backend_->get("Workspace/w3");
  ASSERT_TRUE(backend_->commit({"Workspace/w3", (*w3)->mod_revision, "v2"}).ok());
  ASSERT_TRUE(backend_->commit({"Workspace/w9", 0, "new"}).ok());
  auto second = backend_->list_page("Workspace/", first->records.back().key, 2, first->revision);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->records.size(), 2u);
  EXPECT_EQ(second->records[1].key, "Workspace/w3");
  EXPECT_EQ(second->records[1].value, "v1") << "the value at the first page's revision";
  auto last = backend_->list_page("Workspace/", second->records.back().key, 2, first->revision);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->records.size(), 1u) << "w9 came later";
  EXPECT_FALSE(last->more);
  EXPECT_FALSE(backend_->list_page("Workspace/", "", 0, 0)->more) << "no limit: all at once";
  // Other reads' views push the oldest out: its revision is then gone.
  for (std::size_t i = 0; i < max_pinned_views; ++i) {
    ASSERT_TRUE(backend_->commit({"Workspace/z" + std::to_string(i), 0, "v"}).ok());
    ASSERT_TRUE(backend_->list_page("Workspace/", "", 1, 0).ok());
  }
  auto evicted = backend_->list_page("Workspace/", "Workspace/w1", 2, first->revision);
  ASSERT_FALSE(evicted.ok());
  EXPECT_EQ(evicted.err().why, reason::gone);
}

INSTANTIATE_TEST_SUITE_P(backends, backend_contract, ::testing::Values("rocksdb", "memory"));

TEST(fault_backend, a_failed_sync_is_never_acknowledged_nor_visible) {
  auto inner = make_memory_backend();
  fault_backend faulty(*inner);
  fake_clock clock;
  object_store store(faulty, clock);
  std::vector<kv_event> heard;
  faulty.set_commit_listener(
      [&](std::vector<kv_event> e) { heard.insert(heard.end(), e.begin(), e.end()); });
  faulty.inject(fault_backend::fault::fail);
  auto r = store.create(workspace("demo"), {false, "test"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().why, reason::unavailable);
  EXPECT_EQ(store.get("Workspace", "demo").err().why, reason::not_found);
  EXPECT_TRUE(heard.empty());
  EXPECT_EQ(store.revision(), 0u);
  EXPECT_TRUE(store.create(workspace("demo"), {false, "test"}).ok())
      << "the next write goes through";
  EXPECT_EQ(faulty.faults(), 1u);
}

TEST(fault_backend, a_lost_acknowledgement_leaves_a_write_that_a_retried_apply_finds_unchanged) {
  auto inner = make_memory_backend();
  fault_backend faulty(*inner);
  fake_clock clock;
  object_store store(faulty, clock);
  faulty.inject(fault_backend::fault::lose_ack);
  auto r = store.apply(workspace("demo"), {false, "test"}, false);
  ASSERT_FALSE(r.ok()) << "the caller never heard of the write";
  auto retried = store.apply(workspace("demo"), {false, "test"}, false);
  ASSERT_TRUE(retried.ok()) << retried.err().message;
  EXPECT_EQ(retried->effect, write_effect::unchanged);
}

TEST(fault_backend, delays_hold_writers_but_keep_every_write) {
  auto inner = make_memory_backend();
  fault_backend faulty(*inner);
  faulty.set_delay(std::chrono::milliseconds(20));
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(faulty.commit({"Workspace/a", 0, "1"}).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(20));
  EXPECT_EQ(inner->revision(), 1u);
}

// Power lost in the middle of the last WAL record: RocksDB must open, and no
// half-written object may be visible (each write is one atomic batch).
TEST(rocksdb_backend, a_torn_write_is_never_visible_after_reopen) {
  temp_dir dir;
  fake_clock clock;
  {
    rocksdb_options crash;  // no flush at close: the writes stay in the WAL, as after kill -9
    crash.flush_on_close = false;
    auto b = open_rocksdb(dir / "db", crash);
    ASSERT_TRUE(b.ok());
    object_store store(**b, clock);
    for (int i = 0; i < 20; ++i)
      ASSERT_TRUE(store.create(workspace("w" + std::to_string(i)), {false, "test"}).ok());
  }
  std::filesystem::path wal;
  for (const auto& f : std::filesystem::directory_iterator(dir / "db"))
    if (f.path().extension() == ".log" && std::filesystem::file_size(f.path()) > 0) wal = f.path();
  ASSERT_FALSE(wal.empty()) << "no WAL with data";
  auto size = std::filesystem::file_size(wal);
  std::filesystem::resize_file(wal, size - 40);  // tear the last record
  auto b = open_rocksdb(dir / "db");
  ASSERT_TRUE(b.ok()) << b.err().message;
  object_store store(**b, clock);
  auto list = store.list("Workspace");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->items.size(), 19u) << "every write but the torn one";
  for (const auto& w : list->items) EXPECT_EQ(string_at(w, "spec.image"), "tiny");
  EXPECT_EQ(store.get("Workspace", "w19").err().why, reason::not_found);
  EXPECT_EQ(store.revision(), 19u);
  EXPECT_TRUE(store.create(workspace("w19"), {false, "test"}).ok()) << "writable again";
}

// Issue 9, item 10: /metrics reads per-kind counts the store keeps, instead
// of parsing every object on every scrape. They must match a full list.
TEST(object_store_counts, follow_creates_and_deletes_and_survive_reopening) {
  auto backend = make_memory_backend();
  fake_clock clock;
  auto listed = [](object_store& s, const std::string& kind) {
    return static_cast<std::uint64_t>(s.list(kind)->items.size());
  };
  {
    object_store store(*backend, clock);
    for (int i = 0; i < 20; ++i)
      ASSERT_TRUE(store.create(workspace("w" + std::to_string(i)), {false, "t"}).ok());
    ASSERT_TRUE(store.create(workspace("dry"), {true, "t"}).ok());
    auto with_finalizer = workspace("f");
    with_finalizer.as_object()["metadata"].as_object()["finalizers"] = json::array{"x/y"};
    ASSERT_TRUE(store.create(with_finalizer, {false, "t"}).ok());
    for (int i = 0; i < 5; ++i)
      ASSERT_TRUE(
          store.remove("Workspace", "w" + std::to_string(i), std::nullopt, {false, "t"}).ok());
    ASSERT_TRUE(store.remove("Workspace", "w5", std::nullopt, {true, "t"}).ok());  // dry run
    ASSERT_TRUE(store.remove("Workspace", "f", std::nullopt, {false, "t"}).ok());  // terminating
    EXPECT_EQ(store.counts()["Workspace"], listed(store, "Workspace"));
    EXPECT_EQ(store.counts()["Workspace"], 16u);
    ASSERT_TRUE(store
                    .merge_patch("Workspace", "f",
                                 *parse_json(R"({"metadata":{"finalizers":null}})"), {false, "t"})
                    .ok());  // the last finalizer goes: deleted
    EXPECT_EQ(store.counts()["Workspace"], 15u);
    EXPECT_EQ(store.counts()["Workspace"], listed(store, "Workspace"));
  }
  object_store reopened(*backend, clock);
  EXPECT_EQ(reopened.counts()["Workspace"], 15u);
  EXPECT_EQ(reopened.counts()["PortRoute"], 0u);
}

// Issue 9, item 10: a store emptied by deletes used to keep growing on disk
// (write-ahead logs pinned by small column families, tombstones never
// compacted). Now its files shrink back to a small fraction of the peak.
TEST(rocksdb_backend_disk, a_store_emptied_by_deletes_shrinks_on_disk) {
  temp_dir dir;
  rocksdb_options o;
  o.event_retention = 100;
  o.sync = false;  // speed; durability is not what this test is about
  auto opened = open_rocksdb(dir / "db", o);
  ASSERT_TRUE(opened.ok()) << opened.err().message;
  auto& b = **opened;
  // Bytes in table files (.sst) or in write-ahead logs (.log).
  // (RocksDB deletes obsolete files meanwhile: one that goes between the
  // listing and its size counts 0, it does not throw.)
  auto disk = [&](const std::string& ext) {
    std::uintmax_t bytes = 0;
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(dir / "db", ec))
      if (f.path().extension() == ext)
        if (auto size = std::filesystem::file_size(f.path(), ec); !ec) bytes += size;
    return bytes;
  };
  const std::string value(4096, 'v');
  constexpr int n = 8000;  // 32 MiB of values, twice the write-ahead log cap
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(b.commit({"Workspace/w" + std::to_string(i), 0, value}).ok());
  for (int i = 0; i < n; ++i) {
    auto rec = b.get("Workspace/w" + std::to_string(i));
    ASSERT_TRUE(rec.ok() && *rec);
    ASSERT_TRUE(
        b.commit({"Workspace/w" + std::to_string(i), (*rec)->mod_revision, std::nullopt}).ok());
  }
  auto tables = disk(".sst");
  auto logs = disk(".log");
  // The deletes are compacted in the background: wait for it (bounded).
  for (int i = 0; i < 200 && tables > (2u << 20); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    tables = disk(".sst");
    logs = disk(".log");
  }
  EXPECT_LT(tables, 2u << 20) << "table files after 32 MiB written and deleted";
  // The logs stay under the cap (16 MiB) plus what the memtables still hold.
  EXPECT_LT(logs, 26u << 20);
}
