// Opening the RocksDB store: its options, the format check and migrations,
// and writing a restored backup into a new directory.
#include "rocksdb_format.hpp"

#include "rockpool/specs/rocksdb_backend.hpp"

#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>

namespace rockpool::specs::detail {

error io_error(const rocksdb::Status& s) {
  return make_error(reason::internal, "store I/O error: " + s.ToString());
}

database::~database() {
  if (db)
    for (auto* h : families) db->DestroyColumnFamilyHandle(h);
}

result<database> open_database(const std::string& dir) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;
  // A write-ahead log file is deleted only once every column family with data
  // in it has flushed; the small ones (meta, allocations) rarely fill a
  // memtable, so without a cap the logs piled up (139 files, 100+ MB, in a
  // store emptied by deletes). Past the cap, the oldest column families flush.
  db_options.max_total_wal_size = 16 << 20;
  // Small memtables: objects are small and the working set fits a few MiB, so
  // memory stays proportional to what is stored, not to write volume.
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = 4 << 20;
  cf_options.max_write_buffer_number = 2;
  // No compression: a store of specs is tens of MiB, and compressing every
  // flushed and compacted block (and decompressing every block read) was
  // 5 % of a 10,000-workspace convergence (docs/benchmarks.md).
  cf_options.compression = rocksdb::kNoCompression;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {"objects", cf_options},
      {"events", cf_options},
      {"meta", cf_options},
      {"allocations", cf_options}};
  database out;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, dir, descriptors, &out.families, &raw);
  if (!s.ok()) {
    auto text = s.ToString();
    if (text.find("lock") != std::string::npos ||
        text.find("Resource temporarily") != std::string::npos)
      return make_error(
          reason::unavailable,
          "data directory " + dir + " is in use by another rockpoold (RocksDB lock held): " + text);
    return make_error(reason::internal, "cannot open store in " + dir + ": " + text);
  }
  out.db.reset(raw);
  return out;
}

namespace {

rocksdb::Status sync_write(rocksdb::DB& db, rocksdb::WriteBatch& batch) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return db.Write(wo, &batch);
}

// Format 1 -> 2. Stores written before allocations had a keyspace kept them
// as "alloc/..." objects: move them over, keeping their revisions.
rocksdb::Status move_allocations(database& d, rocksdb::WriteBatch& batch, opened_state& state,
                                 std::string& done) {
  constexpr std::string_view prefix = "alloc/";
  auto& db = *d.db;
  std::uint64_t highest = state.allocation_revision, moved = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db.NewIterator(rocksdb::ReadOptions(), d.families[objects_family]));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    auto k = it->key().ToStringView();
    if (k.substr(0, prefix.size()) != prefix) break;
    batch.Put(d.families[allocations_family], it->key(), it->value());
    batch.Delete(d.families[objects_family], it->key());
    highest = std::max(highest, decode_u64(it->value().ToStringView()));
    ++moved;
  }
  if (!it->status().ok()) return it->status();
  state.allocation_revision = highest;
  batch.Put(d.families[meta_family], meta_allocation_revision, encode_u64(highest));
  done = "moved " + std::to_string(moved) + " allocations to their keyspace";
  return rocksdb::Status::OK();
}

struct migration {
  std::uint64_t from;  // migrates a store of this format to from + 1
  rocksdb::Status (*run)(database&, rocksdb::WriteBatch&, opened_state&, std::string& done);
};
constexpr migration migrations[] = {{1, move_allocations}};
static_assert(std::size(migrations) == store_format - 1, "one migration per older format");

}  // namespace

result<opened_state> prepare_store(database& d, const std::string& dir,
                                   const std::function<void(const std::string&)>& log) {
  opened_state state;
  std::uint64_t format = 0;
  bool has_format = false, has_revision = false, unused = false;
  using field = std::tuple<const char*, std::uint64_t*, bool*>;
  for (auto [key, out, seen] :
       {field{meta_revision, &state.revision, &has_revision},
        field{meta_compacted, &state.compacted, &unused},
        field{meta_allocation_revision, &state.allocation_revision, &unused},
        field{meta_format, &format, &has_format}}) {
    std::string v;
    auto st = d.db->Get(rocksdb::ReadOptions(), d.families[meta_family], key, &v);
    if (st.ok()) {
      *out = decode_u64(v);
      *seen = true;
    } else if (!st.IsNotFound()) {
      // Never restart revisions at 0 over existing data.
      return make_error(reason::internal,
                        "cannot read the store's " + std::string(key) + ": " + st.ToString());
    }
  }
  // No format recorded: a new store (nothing written yet) or format 1.
  if (!has_format) format = has_revision ? 1 : store_format;
  if (format > store_format)
    return make_error(reason::invalid,
                      "data directory " + dir + " holds store format " + std::to_string(format) +
                          ", written by a newer rockpoold; this one reads formats up to " +
                          std::to_string(store_format) +
                          ". Run the newer rockpoold, or restore a backup into a new directory");
  if (format == 0)
    return make_error(reason::invalid, "data directory " + dir + " records store format 0");
  for (; format < store_format; ++format) {
    rocksdb::WriteBatch batch;
    std::string done;
    auto st = migrations[format - 1].run(d, batch, state, done);
    batch.Put(d.families[meta_family], meta_format, encode_u64(format + 1));
    if (st.ok()) st = sync_write(*d.db, batch);
    if (!st.ok())
      return make_error(reason::internal, "cannot migrate the store in " + dir + " from format " +
                                              std::to_string(format) + ": " + st.ToString());
    if (log)
      log("store format " + std::to_string(format) + " -> " + std::to_string(format + 1) + ": " +
          done);
  }
  if (!has_format) {
    rocksdb::WriteBatch batch;
    batch.Put(d.families[meta_family], meta_format, encode_u64(store_format));
    if (auto st = sync_write(*d.db, batch); !st.ok()) return io_error(st);
  }
  return state;
}

}  // namespace rockpool::specs::detail

namespace rockpool::specs {

status restore_rocksdb(const std::string& dir, const kv_dump& dump) {
  using namespace detail;
  if (std::filesystem::exists(dir + "/CURRENT"))
    return make_error(reason::already_exists, "data directory " + dir + " already holds a store");
  auto opened = open_database(dir);
  if (!opened.ok()) return opened.err();
  auto& d = *opened;
  // Batches of about 4 MiB; the revisions and the format go in the last one,
  // so a directory without them was never finished.
  rocksdb::WriteBatch batch;
  auto flush = [&]() -> rocksdb::Status {
    auto st = sync_write(*d.db, batch);
    batch.Clear();
    return st;
  };
  for (auto [records, fam] : {std::pair{&dump.objects, objects_family},
                              std::pair{&dump.allocations, allocations_family}})
    for (const auto& r : *records) {
      batch.Put(d.families[fam], r.key, encode_u64(r.mod_revision) + r.value);
      if (batch.GetDataSize() > (4u << 20))
        if (auto st = flush(); !st.ok()) return io_error(st);
    }
  batch.Put(d.families[meta_family], meta_revision, encode_u64(dump.revision));
  // The event log starts empty: a watch from before the backup gets 410 Gone
  // and lists again, as after an etcd restore.
  batch.Put(d.families[meta_family], meta_compacted, encode_u64(dump.revision));
  batch.Put(d.families[meta_family], meta_allocation_revision,
            encode_u64(dump.allocation_revision));
  batch.Put(d.families[meta_family], meta_format, encode_u64(store_format));
  if (auto st = flush(); !st.ok()) return io_error(st);
  return done{};
}

}  // namespace rockpool::specs
