#include "rockpool/specs/memory_backend.hpp"

#include "commit_plan.hpp"
#include "memory_event_log.hpp"
#include "pinned_views.hpp"

#include <map>
#include <mutex>

namespace rockpool::specs {

namespace {

class memory_backend final : public kv_backend {
 public:
  explicit memory_backend(std::uint64_t retention) : log_(retention) {}

  result<std::optional<kv_record>> get(std::string_view key, keyspace space) override {
    std::lock_guard lk(mu_);
    return find(space, std::string(key));
  }

  result<kv_snapshot> list(std::string_view prefix, keyspace space) override {
    std::lock_guard lk(mu_);
    kv_snapshot out;
    out.revision = space == keyspace::objects ? log_.revision() : allocation_revision_;
    const auto& data = space_of(space);
    for (auto it = data.lower_bound(std::string(prefix));
         it != data.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
      out.records.push_back({it->first, it->second.second, it->second.first});
    return out;
  }

  result<kv_dump> dump() override {
    std::lock_guard lk(mu_);
    kv_dump out;
    out.revision = log_.revision();
    out.allocation_revision = allocation_revision_;
    for (auto [from, to] : {std::pair{&objects_, &out.objects},
                            std::pair{&allocations_, &out.allocations}})
      for (const auto& [key, rec] : *from) to->push_back({key, rec.second, rec.first});
    return out;
  }

  result<kv_page> list_page(std::string_view prefix, std::string_view start_after,
                            std::size_t limit, std::uint64_t at) override {
    // A pinned view is a copy of the objects: this backend is for tests.
    std::shared_ptr<const records> view;
    kv_page out;
    if (at != 0) {
      view = views_.find(at);
      if (!view)
        return make_error(reason::gone, "no read view of revision " + std::to_string(at) +
                                            " is kept any more");
      out.revision = at;
    } else {
      std::lock_guard lk(mu_);
      view = std::make_shared<const records>(objects_);
      out.revision = log_.revision();
    }
    auto it = start_after.empty() ? view->lower_bound(std::string(prefix))
                                  : view->upper_bound(std::string(start_after));
    for (; it != view->end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      if (limit != 0 && out.records.size() == limit) {
        out.more = true;
        break;
      }
      out.records.push_back({it->first, it->second.second, it->second.first});
    }
    if (out.more && at == 0) views_.pin(out.revision, std::move(view));
    return out;
  }

  result<std::uint64_t> commit(const kv_write& w) override {
    std::lock_guard order(commit_mu_);  // listeners see commits in revision order
    detail::commit_plan plan;
    {
      std::lock_guard lk(mu_);
      plan = detail::plan_commits(
          {&w},
          [this](keyspace space, const std::string& key) -> result<std::optional<kv_record>> {
            return find(space, key);
          },
          log_.revision(), allocation_revision_);
      for (const auto& m : plan.mutations) {
        if (m.value)
          space_of(m.space)[m.key] = {m.revision, *m.value};
        else
          space_of(m.space).erase(m.key);
      }
      log_.append(plan.events);
      log_.advance(plan.revision);
      allocation_revision_ = plan.allocation_revision;
      if (!plan.mutations.empty()) {
        ++stats_.writes;
        ++stats_.batches;
      }
    }
    if (listener_ && !plan.events.empty()) listener_(std::move(plan.events));
    return *plan.outcomes.front();
  }

  result<std::vector<kv_event>> events_after(std::uint64_t after, std::size_t limit) override {
    return log_.after(after, limit);
  }
  bool reads_locally() const override { return true; }
  std::uint64_t revision() const override { return log_.revision(); }
  std::uint64_t compacted_revision() const override { return log_.compacted(); }
  bool wait_for_revision(std::uint64_t after, std::chrono::milliseconds timeout) override {
    return log_.wait_for(after, timeout);
  }
  kv_stats stats() const override {
    std::lock_guard lk(mu_);
    return stats_;
  }
  void set_commit_listener(std::function<void(std::vector<kv_event>)> listener) override {
    listener_ = std::move(listener);
  }
  void wake_all() override { log_.wake_all(); }

 private:
  using records = std::map<std::string, std::pair<std::uint64_t, std::string>>;

  records& space_of(keyspace space) { return space == keyspace::objects ? objects_ : allocations_; }
  // REQUIRES: mu_ held.
  std::optional<kv_record> find(keyspace space, const std::string& key) {
    const auto& data = space_of(space);
    auto it = data.find(key);
    if (it == data.end()) return std::nullopt;
    return kv_record{key, it->second.second, it->second.first};
  }

  detail::pinned_views<records> views_;
  detail::memory_event_log log_;  // the store revision too
  std::mutex commit_mu_;
  mutable std::mutex mu_;  // guards everything below
  records objects_, allocations_;
  std::uint64_t allocation_revision_ = 0;
  kv_stats stats_;
  std::function<void(std::vector<kv_event>)> listener_;
};

}  // namespace

std::unique_ptr<kv_backend> make_memory_backend(std::uint64_t event_retention) {
  return std::make_unique<memory_backend>(event_retention);
}

}  // namespace rockpool::specs
