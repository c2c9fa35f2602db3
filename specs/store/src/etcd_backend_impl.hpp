#pragma once

// Internal to the etcd store: the backend's class, shared by its three files
// (etcd_backend.cpp: reads and writes; etcd_stream.cpp: requests to the
// members and the watch; etcd_leadership.cpp: the lease, the leader key and
// lead_etcd), and the JSON gateway's encodings (grpc-gateway: keys and values
// in base64, 64-bit numbers as strings, snake_case fields).

#include "rockpool/specs/etcd_backend.hpp"

#include "memory_event_log.hpp"

#include "rockpool/runtime/http.hpp"
#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace rockpool::specs::etcd_detail {

/// The first key after every key with prefix p (etcd's range_end for a prefix).
std::string prefix_end(std::string p);
/// A 64-bit field: grpc-gateway writes them as strings; absent is 0.
std::uint64_t number_at(const json::value& v, std::string_view key);
/// A bytes field (base64); "" when absent or malformed.
std::string bytes_at(const json::value& v, std::string_view key);
std::string b64(std::string_view s);
std::uint64_t header_revision(const json::value& reply);

/// A watch stream that sends nothing this long starts again on the next member.
constexpr std::chrono::seconds idle_reconnect{10};

class etcd_backend final : public kv_backend {
 public:
  explicit etcd_backend(etcd_options o)
      : o_(std::move(o)),
        objects_(o_.prefix + "objects/"),
        allocations_(o_.prefix + "alloc/"),
        log_(o_.event_retention) {}

  ~etcd_backend() override {
    stopping_ = true;
    wake_all();
    if (watcher_.joinable()) watcher_.join();
  }

  // Reads the revision to start from and starts the watch.
  status start();

  result<std::optional<kv_record>> get(std::string_view key, keyspace space) override;

  // Ready while a majority answers a (linearizable) read.
  status ready() override {
    auto r = call("/v3/kv/range", {{"key", b64(objects_ + "meta/readyz")}});
    if (!r.ok()) return r.err();
    return done{};
  }

  // Objects are read at the revision the watch has delivered, so a list and
  // a watch from its revision fit together exactly (etcd's revision also
  // moves with allocation writes, which have no events).
  result<kv_snapshot> list(std::string_view prefix, keyspace space) override;

  result<kv_page> list_page(std::string_view prefix, std::string_view start_after,
                            std::size_t limit, std::uint64_t at) override {
    return range(objects_ + std::string(prefix),
                 start_after.empty() ? std::string() : objects_ + std::string(start_after), limit,
                 at != 0 ? at : revision(), keyspace::objects);
  }

  result<kv_dump> dump() override;

  result<std::uint64_t> commit(const kv_write& w) override;

  result<std::vector<kv_event>> events_after(std::uint64_t after, std::size_t limit) override {
    return log_.after(after, limit);
  }
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
    std::lock_guard lk(listener_mu_);
    listener_ = std::move(listener);
  }
  void wake_all() override { log_.wake_all(); }

  // The leadership (etcd_leadership.cpp).
  result<std::uint64_t> grant_lease(std::chrono::seconds ttl);

  // Takes the leader key with the lease when no one holds it. Returns its
  // create_revision, or 0 and the holder's identity.
  result<std::pair<std::uint64_t, std::string>> try_lead(std::uint64_t lease,
                                                         const std::string& identity);

  // Renews the lease: its remaining TTL in seconds (0: it is gone).
  result<std::uint64_t> keep_alive(std::uint64_t lease);

  void revoke(std::uint64_t lease) {
    (void)call("/v3/lease/revoke", {{"ID", std::to_string(lease)}});
  }

  void set_fence(std::optional<std::uint64_t> f) {
    std::lock_guard lk(mu_);
    fence_ = f;
  }

  std::string leader_key() const { return o_.prefix + "leader"; }

 private:
  std::optional<std::uint64_t> fence() const {
    std::lock_guard lk(mu_);
    return fence_;
  }

  const std::string& prefix_of(keyspace space) const {
    return space == keyspace::objects ? objects_ : allocations_;
  }

  json::object txn_of(const kv_write& w, std::optional<std::uint64_t> fenced) const;
  error refused(const json::value& reply, const kv_write& w,
                std::optional<std::uint64_t> fenced) const;

  kv_record record(const json::value& kv, keyspace space) const {
    auto key = bytes_at(kv, "key");
    return {key.substr(prefix_of(space).size()), bytes_at(kv, "value"),
            number_at(kv, "mod_revision")};
  }

  // Keys with prefix (after start_after when given), at most limit (0: all),
  // at revision at (0: the latest).
  result<kv_page> range(const std::string& prefix, const std::string& start_after,
                        std::size_t limit, std::uint64_t at, keyspace space);

  runtime::http_call request(const std::string& endpoint, const std::string& path,
                             std::string body) const;

  // One request to the first member that answers, starting with the last
  // one that did; etcd's errors become ours. A member that cannot answer for
  // want of a majority ("no leader", "request timed out") passes the request
  // on, as one that does not answer at all does: writes are compare-and-swap,
  // so one retried elsewhere is never made twice. A stream (the lease
  // keepalive) answers with its first message.
  result<json::value> call(const std::string& path, json::object body, bool stream = false);

  std::unique_ptr<runtime::http_session> take_session();
  void give_back(std::unique_ptr<runtime::http_session> s) {
    if (!s) return;
    std::lock_guard lk(pool_mu_);
    if (pool_.size() < 64) pool_.push_back(std::move(s));
  }

  // The watch on the objects' prefix, from revision `from`, for as long as
  // the backend lives: reconnects (to the next member) when a stream ends.
  void watch_from(std::uint64_t from);

  // One watch response; returns the revision to resume from (0: unchanged).
  std::uint64_t on_watch_message(const std::string& line);

  const etcd_options o_;
  const std::string objects_, allocations_;
  std::atomic<std::size_t> preferred_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> reconnect_{false};  // the watch is to start again on the next member
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<runtime::http_session>> pool_;
  std::mutex listener_mu_;
  std::function<void(std::vector<kv_event>)> listener_;
  detail::memory_event_log log_;        // from the watch; the store revision too
  mutable std::mutex mu_;               // guards everything below
  std::optional<std::uint64_t> fence_;  // the leader key's create_revision, when leading
  kv_stats stats_;
  std::thread watcher_;
};

}  // namespace rockpool::specs::etcd_detail
