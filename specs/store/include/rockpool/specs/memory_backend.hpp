#pragma once

#include "rockpool/specs/kv_backend.hpp"

#include <memory>

namespace rockpool::specs {

/// A kv_backend in memory with the RocksDB backend's semantics (compare-and-
/// swap, revisions, keyspaces, an event log compacted past `event_retention`,
/// ordered commit listener) and no durability: for tests and benchmarks.
std::unique_ptr<kv_backend> make_memory_backend(std::uint64_t event_retention = 10000);

}  // namespace rockpool::specs
