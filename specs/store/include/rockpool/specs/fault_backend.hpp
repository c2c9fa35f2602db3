#pragma once

#include "rockpool/specs/kv_backend.hpp"

#include <atomic>
#include <chrono>
#include <mutex>

namespace rockpool::specs {

/// Wraps a kv_backend and injects faults into its commits on command, in the
/// manner of RocksDB's FaultInjectionTestFS. Reads pass through.
/// Thread safety: as the wrapped backend; the controls are thread-safe.
class fault_backend final : public kv_backend {
 public:
  enum class fault {
    /// The commit fails before reaching the wrapped backend (a failed sync):
    /// nothing is written and the caller sees reason::unavailable.
    fail,
    /// The commit reaches the wrapped backend but its acknowledgement is lost
    /// (a torn reply): the write happened, the caller sees reason::unavailable.
    lose_ack,
  };

  /// REQUIRES: inner outlives this object.
  explicit fault_backend(kv_backend& inner) : inner_(inner) {}

  /// The next n commits suffer f.
  void inject(fault f, int n = 1);
  /// Every commit first sleeps this long.
  void set_delay(std::chrono::milliseconds d) { delay_ms_ = d.count(); }
  /// Commits that suffered a fault so far.
  std::uint64_t faults() const { return faults_; }
  /// Commits begun so far (counted before the delay).
  std::uint64_t commits_begun() const { return begun_; }

  /// Single-key reads (get) so far.
  std::uint64_t reads() const { return reads_; }

  result<std::optional<kv_record>> get(std::string_view key, keyspace space) override {
    ++reads_;
    return inner_.get(key, space);
  }
  result<kv_snapshot> list(std::string_view prefix, keyspace space) override {
    return inner_.list(prefix, space);
  }
  result<kv_page> list_page(std::string_view prefix, std::string_view start_after,
                            std::size_t limit, std::uint64_t at) override {
    return inner_.list_page(prefix, start_after, limit, at);
  }
  result<kv_dump> dump() override { return inner_.dump(); }
  result<std::uint64_t> commit(const kv_write& w) override;
  result<std::vector<kv_event>> events_after(std::uint64_t after, std::size_t limit) override {
    return inner_.events_after(after, limit);
  }
  bool reads_locally() const override { return inner_.reads_locally(); }
  std::uint64_t revision() const override { return inner_.revision(); }
  std::uint64_t compacted_revision() const override { return inner_.compacted_revision(); }
  bool wait_for_revision(std::uint64_t after, std::chrono::milliseconds timeout) override {
    return inner_.wait_for_revision(after, timeout);
  }
  kv_stats stats() const override { return inner_.stats(); }
  void set_commit_listener(std::function<void(std::vector<kv_event>)> listener) override {
    inner_.set_commit_listener(std::move(listener));
  }
  void wake_all() override { inner_.wake_all(); }

 private:
  kv_backend& inner_;
  std::mutex mu_;
  fault next_ = fault::fail;
  int remaining_ = 0;
  std::atomic<long long> delay_ms_{0};
  std::atomic<std::uint64_t> faults_{0};
  std::atomic<std::uint64_t> begun_{0};
  std::atomic<std::uint64_t> reads_{0};
};

}  // namespace rockpool::specs
