#pragma once

#include "rockpool/specs/kv_backend.hpp"

#include <functional>
#include <memory>
#include <string>

namespace rockpool::specs {

struct rocksdb_options {
  /// How many events the log keeps; older ones are compacted and a watch from
  /// before them gets Gone.
  std::uint64_t event_retention = 10000;
  /// Sync the WAL before acknowledging (always on in the daemon; tests may not turn it off).
  bool sync = true;
  /// Flush the memtables when the backend is closed, so the next open has no
  /// write-ahead log to replay (a restart after many writes: 0.12 s -> 0.05 s
  /// with 10,000 objects). Tests that model a crash turn it off.
  bool flush_on_close = true;
  /// Hears one line per format migration that opening runs (for the log).
  std::function<void(const std::string&)> log;
};

/// Opens (creating if needed) the RocksDB database in dir. Holds RocksDB's
/// exclusive lock: a second open of the same dir fails with reason::unavailable
/// and a message saying another process holds it. A store of an older format
/// is migrated first; one of a newer format is refused with reason::invalid.
[[nodiscard]] result<std::unique_ptr<kv_backend>> open_rocksdb(const std::string& dir,
                                                               rocksdb_options options = {});

/// Writes a dump (a backup's contents) as a new store in dir, which must not
/// hold one (reason::already_exists): every object and allocation with its
/// revision, the store's revisions, and an empty event log compacted up to
/// the dump's revision, so a watch from before it gets 410 Gone. The
/// revisions go in the last synced batch; callers write into a fresh
/// directory and rename it, so a crash never leaves half a store in place.
[[nodiscard]] status restore_rocksdb(const std::string& dir, const kv_dump& dump);

}  // namespace rockpool::specs
