#pragma once

// An event log kept in memory, and the revision it has reached: the memory
// backend's log (fed by its commits) and the etcd backend's (fed by its
// watch). The last `retention` events are kept; older ones are compacted
// (reason::gone for a reader from before them). Thread-safe.

#include "rockpool/specs/kv_backend.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>

namespace rockpool::specs::detail {

class memory_event_log {
 public:
  explicit memory_event_log(std::uint64_t retention) : retention_(retention) {}

  /// Starts (or restarts) the log empty at revision: nothing before it is kept.
  void start_at(std::uint64_t revision) {
    {
      std::lock_guard lk(mu_);
      log_.clear();
      revision_ = std::max(revision_, revision);
      compacted_ = std::max(compacted_, revision);
    }
    cv_.notify_all();
  }

  /// Adds events (in revision order); the revision does not move yet.
  void append(const std::vector<kv_event>& events) {
    std::lock_guard lk(mu_);
    for (const auto& e : events) log_.push_back(e);
    while (log_.size() > retention_) {
      compacted_ = log_.front().revision;
      log_.pop_front();
    }
  }

  /// Moves the revision (never back) and wakes its waiters.
  void advance(std::uint64_t revision) {
    {
      std::lock_guard lk(mu_);
      revision_ = std::max(revision_, revision);
    }
    cv_.notify_all();
  }

  result<std::vector<kv_event>> after(std::uint64_t after, std::size_t limit) const {
    std::lock_guard lk(mu_);
    if (after < compacted_)
      return make_error(reason::gone, "too old resource version: " + std::to_string(after) +
                                          " (events start after " + std::to_string(compacted_) +
                                          ")");
    std::vector<kv_event> out;
    for (const auto& e : log_) {
      if (out.size() >= limit) break;
      if (e.revision > after) out.push_back(e);
    }
    return out;
  }

  std::uint64_t revision() const {
    std::lock_guard lk(mu_);
    return revision_;
  }
  std::uint64_t compacted() const {
    std::lock_guard lk(mu_);
    return compacted_;
  }
  bool wait_for(std::uint64_t after, std::chrono::milliseconds timeout) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return revision_ > after || woken_; }) &&
           revision_ > after;
  }
  void wake_all() {
    {
      std::lock_guard lk(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  }

 private:
  const std::uint64_t retention_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<kv_event> log_;
  std::uint64_t revision_ = 0, compacted_ = 0;
  bool woken_ = false;
};

}  // namespace rockpool::specs::detail
