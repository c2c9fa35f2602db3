// The store's format version (migrated up, refused when newer) and backups:
// the file's checks, and a restored store equal to its source.
#include "rockpool/specs/backup.hpp"
#include "rockpool/specs/memory_backend.hpp"
#include "rockpool/specs/rocksdb_backend.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>

using namespace rockpool::specs;
using rockpool::test_support::temp_dir;

namespace {

// Sets (or, with nothing, deletes) a key of the store's meta column family,
// as another version of rockpoold would have left it.
void set_meta(const std::string& dir, const std::string& key, std::optional<std::uint64_t> v) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const char* n : {"default", "objects", "events", "meta", "allocations"})
    cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir, cfs, &handles, &db).ok());
  if (v) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[7 - i] = static_cast<char>((*v >> (8 * i)) & 0xff);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[3], key, bytes).ok());
  } else {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), handles[3], key).ok());
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

// A store with objects (created, updated, deleted) and allocations.
void fill(kv_backend& b) {
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(b.commit({"Workspace/w" + std::to_string(i), 0, "{\"n\":" + std::to_string(i) + "}"})
                    .ok());
  ASSERT_TRUE(b.commit({"Workspace/w3", 4, "{\"n\":\"updated\"}"}).ok());
  ASSERT_TRUE(b.commit({"Workspace/w5", 6, std::nullopt}).ok());
  ASSERT_TRUE(b.commit({"alloc/hostport/20000", 0, R"({"owner":"a"})", keyspace::allocations}).ok());
  ASSERT_TRUE(b.commit({"alloc/hostport/20001", 0, R"({"owner":"b"})", keyspace::allocations}).ok());
}

void expect_same_records(const std::vector<kv_record>& a, const std::vector<kv_record>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].key, b[i].key);
    EXPECT_EQ(a[i].value, b[i].value) << a[i].key;
    EXPECT_EQ(a[i].mod_revision, b[i].mod_revision) << a[i].key;
  }
}

}  // namespace

TEST(store_format, a_store_of_a_newer_format_is_refused_and_left_as_it_was) {
  temp_dir dir;
  auto path = dir / "db";
  { ASSERT_TRUE(open_rocksdb(path).ok()); }
  set_meta(path, "format", 3);
  auto b = open_rocksdb(path);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.err().why, reason::invalid);
  EXPECT_NE(b.err().message.find("holds store format 3, written by a newer rockpoold"),
            std::string::npos)
      << b.err().message;
  EXPECT_NE(b.err().message.find(path), std::string::npos) << "names the directory";
  set_meta(path, "format", 2);
  EXPECT_TRUE(open_rocksdb(path).ok()) << "nothing was changed by the refusal";
}

TEST(store_format, allocations_stored_by_format_1_move_to_their_keyspace_once) {
  temp_dir dir;
  auto path = dir / "db";
  {
    auto b = open_rocksdb(path);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE((*b)->commit({"Workspace/a", 0, "{}"}).ok());
    // What format 1 wrote: an allocation among the objects, and no format.
    ASSERT_TRUE((*b)->commit({"alloc/hostport/20000", 0, R"({"owner":"x"})"}).ok());
  }
  set_meta(path, "format", std::nullopt);
  std::vector<std::string> log;
  rocksdb_options o;
  o.log = [&](const std::string& line) { log.push_back(line); };
  {
    auto b = open_rocksdb(path, o);
    ASSERT_TRUE(b.ok()) << b.err().message;
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0], "store format 1 -> 2: moved 1 allocations to their keyspace");
    EXPECT_TRUE((*b)->list("alloc/")->records.empty());
    auto allocs = (*b)->list("alloc/", keyspace::allocations);
    ASSERT_EQ(allocs->records.size(), 1u);
    EXPECT_EQ(allocs->records[0].mod_revision, 2u);
    auto next = (*b)->commit({"alloc/hostport/20001", 0, "{}", keyspace::allocations});
    ASSERT_TRUE(next.ok());
    EXPECT_GT(*next, 2u) << "allocation revisions continue past the migrated ones";
    ASSERT_TRUE((*b)->get("Workspace/a")->has_value()) << "objects stay";
  }
  ASSERT_TRUE(open_rocksdb(path, o).ok());
  EXPECT_EQ(log.size(), 1u) << "a migrated store is not migrated again";
}

TEST(backup, a_restored_store_equals_its_source_at_the_backups_revision) {
  temp_dir dir;
  auto source = open_rocksdb(dir / "source");
  ASSERT_TRUE(source.ok());
  fill(**source);
  auto dump = (*source)->dump();
  ASSERT_TRUE(dump.ok());
  EXPECT_EQ(dump->revision, 22u);
  EXPECT_EQ(dump->objects.size(), 19u);
  EXPECT_EQ(dump->allocations.size(), 2u);
  // Later writes are not in it.
  ASSERT_TRUE((*source)->commit({"Workspace/later", 0, "{}"}).ok());

  auto decoded = decode_backup(encode_backup(*dump));
  ASSERT_TRUE(decoded.ok()) << decoded.err().message;
  auto target = dir / "target";
  ASSERT_TRUE(restore_rocksdb(target, *decoded).ok());
  auto restored = open_rocksdb(target);
  ASSERT_TRUE(restored.ok()) << restored.err().message;
  auto again = (*restored)->dump();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->revision, dump->revision);
  EXPECT_EQ(again->allocation_revision, dump->allocation_revision);
  expect_same_records(again->objects, dump->objects);
  expect_same_records(again->allocations, dump->allocations);
  EXPECT_EQ((*restored)->revision(), 22u);
  EXPECT_EQ((*restored)->events_after(21, 10).err().why, reason::gone)
      << "a watch from before the backup lists again";
  auto next = (*restored)->commit({"Workspace/w0", 1, "{}"});
  ASSERT_TRUE(next.ok()) << "compare-and-swap on the restored revision";
  EXPECT_EQ(*next, 23u);
  auto events = (*restored)->events_after(22, 10);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 1u) << "watches go on from the restored revision";
}

TEST(backup, the_memory_backend_dumps_what_rocksdb_dumps) {
  temp_dir dir;
  auto disk = open_rocksdb(dir / "db");
  ASSERT_TRUE(disk.ok());
  auto memory = make_memory_backend();
  fill(**disk);
  fill(*memory);
  auto a = (*disk)->dump();
  auto b = memory->dump();
  EXPECT_EQ(encode_backup(*a), encode_backup(*b));
}

TEST(backup, restoring_over_an_existing_store_is_refused) {
  temp_dir dir;
  auto path = dir / "db";
  { ASSERT_TRUE(open_rocksdb(path).ok()); }
  auto st = restore_rocksdb(path, kv_dump{});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.err().why, reason::already_exists);
}

TEST(backup, every_flipped_byte_and_every_truncation_is_refused) {
  auto memory = make_memory_backend();
  fill(*memory);
  auto file = encode_backup(*memory->dump());
  ASSERT_TRUE(decode_backup(file).ok());
  for (std::size_t i = 0; i < file.size(); ++i) {
    auto damaged = file;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x10);
    auto r = decode_backup(damaged);
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.err().why, reason::invalid);
    ASSERT_FALSE(decode_backup(std::string_view(file).substr(0, i)).ok()) << "cut at " << i;
  }
  auto r = decode_backup(file.substr(0, file.size() / 2));
  EXPECT_NE(r.err().message.find("checksum does not match"), std::string::npos)
      << r.err().message;
  EXPECT_NE(decode_backup("{\"not\":\"a backup\"}").err().message.find("does not start with"),
            std::string::npos);
  EXPECT_NE(r.err().message.find("nothing was changed"), std::string::npos);
}

TEST(backup, a_well_formed_file_with_records_that_do_not_add_up_is_refused) {
  // Checksums are right here: the structure itself is wrong.
  kv_dump unordered;
  unordered.revision = 5;
  unordered.objects = {{"b", "{}", 1}, {"a", "{}", 2}};
  EXPECT_NE(decode_backup(encode_backup(unordered)).err().message.find("out of order"),
            std::string::npos);
  kv_dump future;
  future.revision = 5;
  future.objects = {{"a", "{}", 9}};
  EXPECT_NE(decode_backup(encode_backup(future)).err().message.find("outside 1..5"),
            std::string::npos);
  kv_dump fine;
  fine.revision = 5;
  fine.objects = {{"a", "{}", 5}};
  EXPECT_TRUE(decode_backup(encode_backup(fine)).ok());
}
