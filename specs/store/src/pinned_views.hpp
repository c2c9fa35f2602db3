#pragma once

// The read views that paged lists keep pinned between their pages (a
// backend's snapshot, or a copy for the memory backend), by revision, for a
// while and a bounded number of them.

#include "rockpool/specs/kv_backend.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

namespace rockpool::specs::detail {

template <class View>
class pinned_views {
 public:
  using clock_fn = std::function<std::chrono::steady_clock::time_point()>;
  explicit pinned_views(std::size_t max = max_pinned_views,
                        std::chrono::steady_clock::duration ttl = pinned_view_ttl,
                        clock_fn now = &std::chrono::steady_clock::now)
      : max_(max), ttl_(ttl), now_(std::move(now)) {}

  /// The view pinned for revision, or null.
  std::shared_ptr<const View> find(std::uint64_t revision) {
    std::lock_guard lk(mu_);
    expire();
    auto it = views_.find(revision);
    return it == views_.end() ? nullptr : it->second.view;
  }
  /// Pins view for revision (kept if one is pinned already), evicting the
  /// oldest beyond the bound.
  void pin(std::uint64_t revision, std::shared_ptr<const View> view) {
    std::lock_guard lk(mu_);
    expire();
    views_.try_emplace(revision, entry{std::move(view), now_() + ttl_});
    while (views_.size() > max_) views_.erase(views_.begin());
  }
  /// Drops every view (a backend that closes its database first).
  void clear() {
    std::lock_guard lk(mu_);
    views_.clear();
  }
  std::size_t size() {
    std::lock_guard lk(mu_);
    return views_.size();
  }

 private:
  struct entry {
    std::shared_ptr<const View> view;
    std::chrono::steady_clock::time_point expires;
  };
  void expire() {
    auto now = now_();
    std::erase_if(views_, [&](const auto& e) { return e.second.expires <= now; });
  }
  std::mutex mu_;
  std::size_t max_;
  std::chrono::steady_clock::duration ttl_;
  clock_fn now_;
  std::map<std::uint64_t, entry> views_;  // by revision: the oldest first
};

}  // namespace rockpool::specs::detail
