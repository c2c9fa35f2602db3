#pragma once

#include "rockpool/specs/kv_backend.hpp"
#include "rockpool/specs/result.hpp"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace rockpool::actors {

/// Hands out numbers from a range to named owners, durably: each allocation
/// is a compare-and-swap write of PREFIX + the number in the store's
/// allocations keyspace, so a number is never handed out twice, even across
/// restarts (kill -9 included) or to concurrent callers. Nothing is handed out
/// until the stored allocations have been read. The write is made outside the
/// allocator's lock, so concurrent allocations share the store's syncs. Host
/// ports and bridge addresses are both allocated this way.
/// Thread safety: thread-safe.
class durable_allocator {
 public:
  struct options {
    std::string prefix;                 // e.g. "alloc/hostport/"
    int key_digits = 5;                 // the number zero-padded to this many digits in the key
    std::string what;                   // "host port", for messages
    std::uint32_t first = 0, last = 0;  // REQUIRES: first <= last
    /// Whether something outside Rockpool already uses a number; skipped if so.
    std::function<bool(std::uint32_t)> in_use;
    /// How a number reads in messages (default: decimal).
    std::function<std::string(std::uint32_t)> show;
  };

  /// Loads existing allocations (retried on use if the store fails now).
  durable_allocator(specs::kv_backend& backend, options o);

  /// The number held by owner, allocating one if needed.
  [[nodiscard]] specs::result<std::uint32_t> acquire(const std::string& owner);
  /// Who holds n, if anyone.
  std::optional<std::string> owner_of(std::uint32_t n) const;
  /// The number owner holds, if any (no allocation).
  std::optional<std::uint32_t> held_by(const std::string& owner) const;
  /// Frees owner's number; absent is fine.
  [[nodiscard]] specs::status release(const std::string& owner);
  std::size_t allocated() const;

 private:
  specs::status load();
  specs::result<std::uint64_t> write_unlocked(std::unique_lock<std::mutex>& lk,
                                              const std::string& owner, const specs::kv_write& w);
  std::string key_of(std::uint32_t n) const;

  specs::kv_backend& backend_;
  options o_;
  mutable std::mutex mu_;
  std::map<std::string, std::pair<std::uint32_t, std::uint64_t>> by_owner_;  // number, revision
  std::map<std::uint32_t, std::string> by_number_;  // held or being written
  std::set<std::string> busy_;                      // owners with a write in flight
  std::condition_variable settled_;                 // a write of busy_ finished
  std::uint32_t next_;
  bool loaded_ = false;
};

}  // namespace rockpool::actors
