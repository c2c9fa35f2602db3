#pragma once

#include "rockpool/specs/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rockpool::specs {

/// Where a key lives. Objects are revisioned by the global store revision and
/// every write to them is an event in the log (watch). Allocations (host
/// ports, addresses) are durable compare-and-swap records with revisions of
/// their own: they never appear in the event log or move the store revision.
enum class keyspace : std::uint8_t { objects, allocations };

/// A stored value and the revision of its last write.
struct kv_record {
  std::string key;
  std::string value;
  std::uint64_t mod_revision = 0;
};

/// A consistent read of many keys and the store revision it reflects.
struct kv_snapshot {
  std::vector<kv_record> records;
  std::uint64_t revision = 0;
};

/// One page of a paged read: records in key order, the revision they were
/// read at, and whether records after the last one remain.
struct kv_page {
  std::vector<kv_record> records;
  std::uint64_t revision = 0;
  bool more = false;
};

/// One compare-and-swap write. The store applies it only if the key's current
/// mod_revision equals expected_revision (0 means "must not exist").
struct kv_write {
  std::string key;
  std::uint64_t expected_revision = 0;
  std::optional<std::string> value;  // nullopt deletes the key
  keyspace space = keyspace::objects;
};

/// One entry of the revision-ordered event log.
struct kv_event {
  enum class type : std::uint8_t { added = 1, modified = 2, deleted = 3 };
  std::uint64_t revision = 0;
  type kind = type::added;
  std::string key;
  std::string value;  // the new value; for deleted, the last value
};

/// Everything a backup holds, read from one consistent view: every object
/// and allocation with its revision, and the revisions the view reflects.
struct kv_dump {
  std::vector<kv_record> objects;
  std::vector<kv_record> allocations;
  std::uint64_t revision = 0;
  std::uint64_t allocation_revision = 0;
};

/// Counters of a backend's write path.
struct kv_stats {
  std::uint64_t writes = 0;   // acknowledged writes
  std::uint64_t batches = 0;  // synced batches; writes / batches is the group-commit factor
};

/// How long a paged read's view stays pinned, and how many are kept.
inline constexpr std::chrono::seconds pinned_view_ttl{300};
inline constexpr std::size_t max_pinned_views = 64;

/// The durable key-value seam under the object store. Implementations:
/// RocksDB (embedded default), in memory (tests, `memory_backend.hpp`), and a
/// fault-injecting wrapper of either (`fault_backend.hpp`). An etcd v3 backend maps one-to-one:
/// commit is a Txn comparing mod_revision, events_after is a watch from a revision.
///
/// Thread safety: every method may be called from any thread concurrently.
class kv_backend {
 public:
  virtual ~kv_backend() = default;

  /// The latest value of key. (On etcd, when a majority of its members does
  /// not answer, the value that one member holds: a read answers while
  /// writes cannot, as a Kubernetes read from the watch cache does.)
  [[nodiscard]] virtual result<std::optional<kv_record>> get(std::string_view key,
                                                             keyspace space) = 0;
  /// Whether a read is answered from this process's memory or local disk,
  /// never across the network (RocksDB, memory: true; etcd: false). A server
  /// may then answer a read on the thread that received it.
  virtual bool reads_locally() const { return false; }
  /// Whether the store answers reads of the latest state now (a /readyz
  /// probe): by default a read of one key.
  [[nodiscard]] virtual status ready() {
    auto probe = get("meta/readyz", keyspace::objects);
    if (!probe.ok()) return probe.err();
    return done{};
  }
  /// Every key with the prefix, from one consistent snapshot; its revision is
  /// the store revision (objects) or the allocations' revision.
  [[nodiscard]] virtual result<kv_snapshot> list(std::string_view prefix, keyspace space) = 0;
  /// How many keys have the prefix (a gauge at start): by default, a list.
  [[nodiscard]] virtual result<std::uint64_t> count(std::string_view prefix, keyspace space) {
    auto l = list(prefix, space);
    if (!l.ok()) return l.err();
    return static_cast<std::uint64_t>(l->records.size());
  }
  /// One page of the objects with the prefix: the keys after start_after
  /// ("" from the first), at most limit records (0: all), read at revision
  /// `at` (0: the latest). A page that leaves records unread pins a read view
  /// of its revision, so that the next pages read that same revision (a
  /// Kubernetes continue token); views are kept for a while (pinned_view_ttl)
  /// and a bounded number of them (max_pinned_views, the oldest goes first).
  /// A revision with no pinned view (expired, evicted, or from before a
  /// restart) gives reason::gone.
  [[nodiscard]] virtual result<kv_page> list_page(std::string_view prefix,
                                                  std::string_view start_after, std::size_t limit,
                                                  std::uint64_t at) = 0;
  /// Every object and allocation from one consistent view (a backup), in
  /// key order; writes go on meanwhile.
  [[nodiscard]] virtual result<kv_dump> dump() = 0;
  [[nodiscard]] result<std::optional<kv_record>> get(std::string_view key) {
    return get(key, keyspace::objects);
  }
  [[nodiscard]] result<kv_snapshot> list(std::string_view prefix) {
    return list(prefix, keyspace::objects);
  }
  /// Durably applies w and returns its revision. Returns reason::conflict when the
  /// precondition fails. Returns only after the write is synced to stable storage;
  /// concurrent callers share one sync (group commit).
  [[nodiscard]] virtual result<std::uint64_t> commit(const kv_write& w) = 0;
  /// Events with revision > after, oldest first, at most limit. Returns
  /// reason::gone when events after `after` have been compacted away.
  [[nodiscard]] virtual result<std::vector<kv_event>> events_after(std::uint64_t after,
                                                                   std::size_t limit) = 0;
  /// Revision of the latest acknowledged write (0 for an empty store).
  virtual std::uint64_t revision() const = 0;
  /// Events with revision <= this have been discarded.
  virtual std::uint64_t compacted_revision() const = 0;
  /// Blocks until revision() > after or the timeout passes. Returns true iff it advanced.
  virtual bool wait_for_revision(std::uint64_t after, std::chrono::milliseconds timeout) = 0;
  virtual kv_stats stats() const = 0;
  /// Called after every durable commit with its events, in revision order,
  /// from the committing thread. Must not block and must not call back into
  /// the backend. REQUIRES: set before concurrent use.
  virtual void set_commit_listener(std::function<void(std::vector<kv_event>)> listener) = 0;
  /// Wakes every waiter (used at shutdown).
  virtual void wake_all() = 0;
};

}  // namespace rockpool::specs
