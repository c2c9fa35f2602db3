#pragma once

#include "rockpool/specs/kv_backend.hpp"

#include <memory>
#include <string>

namespace rockpool::specs {

struct rocksdb_options {
  /// How many events the log keeps; older ones are compacted and a watch from
  /// before them gets Gone.
  std::uint64_t event_retention = 10000;
  /// Sync the WAL before acknowledging (always on in the daemon; tests may not turn it off).
  bool sync = true;
};

/// Opens (creating if needed) the RocksDB database in dir. Holds RocksDB's
/// exclusive lock: a second open of the same dir fails with reason::unavailable
/// and a message saying another process holds it.
[[nodiscard]] result<std::unique_ptr<kv_backend>> open_rocksdb(const std::string& dir,
                                                               rocksdb_options options = {});

}  // namespace rockpool::specs
