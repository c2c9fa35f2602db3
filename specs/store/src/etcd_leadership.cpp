// Leadership on the etcd store: a lease, the leader key held by a txn with
// it, renewal on a timer, and lead_etcd (decision 85).
#include "etcd_backend_impl.hpp"

#include <condition_variable>

namespace rockpool::specs {

namespace etcd_detail {

result<std::uint64_t> etcd_backend::grant_lease(std::chrono::seconds ttl) {
  auto r = call("/v3/lease/grant", {{"TTL", std::to_string(ttl.count())}});
  if (!r.ok()) return r.err();
  auto id = number_at(*r, "ID");
  if (id == 0) return make_error(reason::internal, "etcd granted no lease: " + json::serialize(*r));
  return id;
}

// Takes the leader key with the lease when no one holds it. Returns its
// create_revision, or 0 and the holder's identity.
result<std::pair<std::uint64_t, std::string>> etcd_backend::try_lead(std::uint64_t lease,
                                                                     const std::string& identity) {
  auto key = b64(leader_key());
  json::object txn{
      {"compare",
       json::array{json::object{
           {"target", "CREATE"}, {"key", key}, {"create_revision", "0"}, {"result", "EQUAL"}}}},
      {"success",
       json::array{json::object{{"request_put", json::object{{"key", key},
                                                             {"value", b64(identity)},
                                                             {"lease", std::to_string(lease)}}}}}},
      {"failure", json::array{json::object{{"request_range", json::object{{"key", key}}}}}}};
  auto r = call("/v3/kv/txn", std::move(txn));
  if (!r.ok()) return r.err();
  const auto* ok = r->as_object().if_contains("succeeded");
  if (ok && ok->is_bool() && ok->as_bool())
    return std::make_pair(header_revision(*r), std::string());
  std::string holder = "?";
  if (const auto* rs = r->as_object().if_contains("responses"); rs && rs->is_array())
    for (const auto& resp : rs->as_array())
      if (const auto* rr = resp.as_object().if_contains("response_range"))
        if (const auto* kvs = rr->as_object().if_contains("kvs");
            kvs && kvs->is_array() && !kvs->as_array().empty())
          holder = bytes_at(kvs->as_array()[0], "value");
  return std::make_pair(std::uint64_t{0}, holder);
}

// Renews the lease: its remaining TTL in seconds (0: it is gone).
result<std::uint64_t> etcd_backend::keep_alive(std::uint64_t lease) {
  auto r = call("/v3/lease/keepalive", {{"ID", std::to_string(lease)}}, true);
  if (!r.ok()) return r.err();
  const auto* renewed = r->as_object().if_contains("result");
  if (renewed == nullptr)
    return make_error(reason::unavailable,
                      "etcd did not renew the lease: " + json::serialize(*r).substr(0, 200));
  return number_at(*renewed, "TTL");
}

}  // namespace etcd_detail

namespace {

using etcd_detail::etcd_backend;

// Holds the leader key: renews the lease every third of its TTL; losing it
// (expired, revoked, or unrenewed for a whole TTL) is reported once.
class leadership final : public etcd_leadership {
 public:
  leadership(etcd_backend& b, std::uint64_t lease, std::chrono::seconds ttl,
             std::function<void(const std::string&)> on_lost)
      : b_(b), lease_(lease), ttl_(ttl), on_lost_(std::move(on_lost)) {
    renewer_ = std::thread([this] { renew(); });
  }
  ~leadership() override {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    renewer_.join();
    // A clean stop hands over at once: the key goes with the lease.
    b_.revoke(lease_);
    b_.set_fence(std::nullopt);
  }
  bool held() const override { return !lost_; }

 private:
  void renew() {
    auto renewed = std::chrono::steady_clock::now();
    std::unique_lock lk(mu_);
    while (!cv_.wait_for(lk, ttl_ / 3, [&] { return stopping_; })) {
      lk.unlock();
      auto left = b_.keep_alive(lease_);
      auto now = std::chrono::steady_clock::now();
      std::string why;
      if (left.ok() && *left > 0)
        renewed = now;
      else if (left.ok())
        why = "its etcd lease expired";
      else if (now - renewed >= ttl_)
        why = "its etcd lease could not be renewed for " + std::to_string(ttl_.count()) +
              " s: " + left.err().message;
      lk.lock();
      if (!why.empty()) {
        lost_ = true;
        lk.unlock();
        on_lost_(why);
        return;
      }
    }
  }

  etcd_backend& b_;
  const std::uint64_t lease_;
  const std::chrono::seconds ttl_;
  std::function<void(const std::string&)> on_lost_;
  std::atomic<bool> lost_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread renewer_;
};

}  // namespace

result<std::unique_ptr<etcd_leadership>> lead_etcd(kv_backend& backend, leadership_options o) {
  auto* b = dynamic_cast<etcd_backend*>(&backend);
  if (b == nullptr) return make_error(reason::bad_request, "leadership needs the etcd store");
  std::optional<std::uint64_t> lease;
  std::string seen;
  auto see = [&](const std::string& holder) {
    if (holder == seen) return;
    seen = holder;
    if (o.waiting) o.waiting(seen);
  };
  // Until it leads or gives up; etcd that does not answer (no majority) is
  // waited for like a holder.
  for (;;) {
    if (!lease) {
      auto granted = b->grant_lease(o.ttl);
      if (granted.ok())
        lease = *granted;
      else
        see("nobody known (" + granted.err().message + ")");
    }
    if (lease) {
      auto r = b->try_lead(*lease, o.identity);
      if (r.ok() && r->first != 0) {
        b->set_fence(r->first);
        return std::unique_ptr<etcd_leadership>(
            new leadership(*b, *lease, o.ttl, std::move(o.on_lost)));
      }
      see(r.ok() ? r->second : "nobody known (" + r.err().message + ")");
    }
    if (o.give_up && o.give_up()) {
      if (lease) b->revoke(*lease);
      return make_error(reason::unavailable, "stopped while waiting for the leadership");
    }
    // Our lease lives on while we wait, so that taking the key is one txn.
    if (lease)
      if (auto left = b->keep_alive(*lease); left.ok() && *left == 0) lease.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

}  // namespace rockpool::specs
