#pragma once
// The RocksDB store's on-disk layout, shared by the backend, opening (with
// the format's migrations) and restoring a backup into a new directory.
//
// Column families: objects (key -> [mod revision:8][value]), events
// ([revision:8] -> [type:1][key length:4][key][value]), meta (the revisions,
// the compaction point, the format), allocations (as objects). Integers are
// big-endian.

#include "big_endian.hpp"
#include "rockpool/specs/kv_backend.hpp"

#include <rocksdb/db.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rockpool::specs::detail {

/// The store format this build writes. Older formats are migrated on open;
/// a newer one is refused. See docs/operations.md (Upgrade).
///   1: before the format was recorded; allocations may still sit among the
///      objects as "alloc/..." keys (stores from before their keyspace).
///   2: the format is recorded in meta; allocations only in their keyspace.
inline constexpr std::uint64_t store_format = 2;

inline constexpr const char* meta_revision = "revision";
inline constexpr const char* meta_compacted = "compacted";
inline constexpr const char* meta_allocation_revision = "allocation_revision";
inline constexpr const char* meta_format = "format";

/// Indexes of the column family handles.
enum family : std::size_t { objects_family = 1, events_family, meta_family, allocations_family };

error io_error(const rocksdb::Status& s);

/// An open database and its column family handles, which it destroys.
struct database {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  database() = default;
  database(database&&) = default;
  database& operator=(database&&) = default;
  ~database();
  /// Gives the handles up (to the backend, which destroys them itself).
  std::vector<rocksdb::ColumnFamilyHandle*> release() { return std::exchange(families, {}); }
};

/// Opens (creating if needed) the database in dir with the store's options.
/// A lock held by another process gives reason::unavailable, naming dir.
result<database> open_database(const std::string& dir);

/// What opening found and did: the revisions, and the format migrations run.
struct opened_state {
  std::uint64_t revision = 0, compacted = 0, allocation_revision = 0;
};

/// Reads the revisions and brings the store to store_format: each migration
/// runs in one synced batch that also records the new format, so a crash
/// leaves the old format or the new, never half of one. A store of a newer
/// format is refused (reason::invalid). `log` hears one line per migration.
result<opened_state> prepare_store(database& d, const std::string& dir,
                                   const std::function<void(const std::string&)>& log);

}  // namespace rockpool::specs::detail
