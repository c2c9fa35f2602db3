// The kv_backend on etcd v3, through its JSON gateway (grpc-gateway: keys
// and values in base64, 64-bit numbers as strings, snake_case fields).
#include "rockpool/specs/etcd_backend.hpp"

#include "memory_event_log.hpp"

#include "rockpool/runtime/http.hpp"
#include "rockpool/specs/base64.hpp"
#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace rockpool::specs {

namespace {

// The first key after every key with prefix p (etcd's range_end for a prefix).
std::string prefix_end(std::string p) {
  while (!p.empty()) {
    auto c = static_cast<unsigned char>(p.back());
    if (c < 0xff) {
      p.back() = static_cast<char>(c + 1);
      return p;
    }
    p.pop_back();
  }
  return std::string(1, '\0');
}

// A 64-bit field: grpc-gateway writes them as strings; absent is 0.
std::uint64_t number_at(const json::value& v, std::string_view key) {
  if (!v.is_object()) return 0;
  const auto* f = v.as_object().if_contains(key);
  if (f == nullptr) return 0;
  if (f->is_string()) {
    try {
      return std::stoull(std::string(f->as_string()));
    } catch (const std::exception&) {
      return 0;
    }
  }
  if (f->is_int64()) return static_cast<std::uint64_t>(f->as_int64());
  if (f->is_uint64()) return f->as_uint64();
  return 0;
}

std::string bytes_at(const json::value& v, std::string_view key) {
  if (!v.is_object()) return {};
  const auto* f = v.as_object().if_contains(key);
  if (f == nullptr || !f->is_string()) return {};
  return base64_decode(f->as_string()).value_or("");
}

std::string b64(std::string_view s) {
  return base64_encode(s);
}

std::uint64_t header_revision(const json::value& reply) {
  const auto* h = reply.is_object() ? reply.as_object().if_contains("header") : nullptr;
  return h == nullptr ? 0 : number_at(*h, "revision");
}

// A watch stream that sends nothing this long starts again on the next member.
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
  status start() {
    auto r = call("/v3/kv/range", {{"key", b64(objects_)},
                                   {"range_end", b64(prefix_end(objects_))},
                                   {"count_only", true}});
    if (!r.ok())
      return make_error(r.err().why, "cannot open the etcd store: " + r.err().message);
    auto rev = header_revision(*r);
    log_.start_at(rev);
    watcher_ = std::thread([this, rev] { watch_from(rev + 1); });
    return done{};
  }

  result<std::optional<kv_record>> get(std::string_view key, keyspace space) override {
    auto full = b64(prefix_of(space) + std::string(key));
    auto r = call("/v3/kv/range", {{"key", full}});
    // No majority answers: the state one member holds (kv_backend::get).
    if (!r.ok() && r.err().why == reason::unavailable)
      r = call("/v3/kv/range", {{"key", full}, {"serializable", true}});
    if (!r.ok()) return r.err();
    const auto* kvs = r->as_object().if_contains("kvs");
    if (kvs == nullptr || !kvs->is_array() || kvs->as_array().empty())
      return std::optional<kv_record>();
    return std::optional<kv_record>(record(kvs->as_array()[0], space));
  }

  // Ready while a majority answers a (linearizable) read.
  status ready() override {
    auto r = call("/v3/kv/range", {{"key", b64(objects_ + "meta/readyz")}});
    if (!r.ok()) return r.err();
    return done{};
  }

  // Objects are read at the revision the watch has delivered, so a list and
  // a watch from its revision fit together exactly (etcd's revision also
  // moves with allocation writes, which have no events).
  result<kv_snapshot> list(std::string_view prefix, keyspace space) override {
    auto at = space == keyspace::objects ? revision() : 0;
    auto r = range(prefix_of(space) + std::string(prefix), "", 0, at, space);
    // etcd compacted past the last revision the watch delivered (an idle
    // store, before a progress notification): the latest state will do.
    if (!r.ok() && r.err().why == reason::gone && at != 0)
      r = range(prefix_of(space) + std::string(prefix), "", 0, 0, space);
    if (!r.ok()) return r.err();
    return kv_snapshot{std::move(r->records), r->revision};
  }

  result<kv_page> list_page(std::string_view prefix, std::string_view start_after,
                            std::size_t limit, std::uint64_t at) override {
    return range(objects_ + std::string(prefix),
                 start_after.empty() ? std::string() : objects_ + std::string(start_after), limit,
                 at != 0 ? at : revision(), keyspace::objects);
  }

  result<kv_dump> dump() override {
    auto objects = range(objects_, "", 0, revision(), keyspace::objects);
    if (!objects.ok()) return objects.err();
    auto allocations = range(allocations_, "", 0, 0, keyspace::allocations);
    if (!allocations.ok()) return allocations.err();
    kv_dump out;
    out.objects = std::move(objects->records);
    out.allocations = std::move(allocations->records);
    out.revision = objects->revision;
    out.allocation_revision = allocations->revision;
    return out;
  }

  result<std::uint64_t> commit(const kv_write& w) override {
    auto key = b64(prefix_of(w.space) + w.key);
    json::object op;
    if (w.value)
      op["request_put"] = json::object{{"key", key}, {"value", b64(*w.value)}};
    else
      op["request_delete_range"] = json::object{{"key", key}};
    json::array compare{json::object{{"target", "MOD"},
                                     {"key", key},
                                     {"mod_revision", std::to_string(w.expected_revision)},
                                     {"result", "EQUAL"}}};
    json::array failure{json::object{{"request_range", json::object{{"key", key}}}}};
    // Fenced (a leader's writes): only while the leader key is still the one
    // this process created; a pass begun before the lease expired writes nothing.
    auto fenced = fence();
    if (fenced) {
      compare.push_back(json::object{{"target", "CREATE"},
                                     {"key", b64(leader_key())},
                                     {"create_revision", std::to_string(*fenced)},
                                     {"result", "EQUAL"}});
      failure.push_back(json::object{{"request_range", json::object{{"key", b64(leader_key())}}}});
    }
    json::object txn{{"compare", std::move(compare)},
                     {"success", json::array{std::move(op)}},
                     {"failure", std::move(failure)}};
    auto r = call("/v3/kv/txn", std::move(txn));
    if (!r.ok()) return r.err();
    const auto* succeeded = r->as_object().if_contains("succeeded");
    if (succeeded == nullptr || !succeeded->is_bool() || !succeeded->as_bool()) {
      // The failure branch read the key, then (fenced) the leader key.
      std::vector<std::pair<std::uint64_t, std::uint64_t>> found;  // (mod, create) per range
      if (const auto* rs = r->as_object().if_contains("responses"); rs && rs->is_array())
        for (const auto& resp : rs->as_array())
          if (const auto* rr = resp.as_object().if_contains("response_range")) {
            const auto* kvs = rr->as_object().if_contains("kvs");
            bool some = kvs && kvs->is_array() && !kvs->as_array().empty();
            found.emplace_back(some ? number_at(kvs->as_array()[0], "mod_revision") : 0,
                               some ? number_at(kvs->as_array()[0], "create_revision") : 0);
          }
      if (fenced && (found.size() < 2 || found[1].second != *fenced))
        return make_error(reason::unavailable,
                          "this rockpoold no longer leads " + o_.prefix +
                              " (its etcd lease expired): the write was not made");
      auto current = found.empty() ? 0 : found[0].first;
      return make_error(reason::conflict, "the object has been modified (revision " +
                                              std::to_string(current) + ", expected " +
                                              std::to_string(w.expected_revision) + ")");
    }
    if (!w.value) {
      // The compare held for an absent key (mod_revision 0): nothing to delete.
      std::uint64_t deleted = 0;
      if (const auto* rs = r->as_object().if_contains("responses"); rs && rs->is_array())
        for (const auto& resp : rs->as_array())
          if (const auto* d = resp.as_object().if_contains("response_delete_range"))
            deleted = number_at(*d, "deleted");
      if (deleted == 0) return make_error(reason::not_found, w.key + " does not exist");
    }
    auto rev = header_revision(*r);
    {
      std::lock_guard lk(mu_);
      ++stats_.writes;
      ++stats_.batches;
    }
    // An object write returns once the watch has delivered it: its event is
    // then in events_after, and listeners heard it, as with RocksDB.
    if (w.space == keyspace::objects && !wait_for_revision(rev - 1, o_.request_timeout))
      reconnect_ = true;  // the watch's member lags or hangs: watch through the next
    return rev;
  }

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

 private:
  // ---- leadership (lead_etcd) ----
 public:

  result<std::uint64_t> grant_lease(std::chrono::seconds ttl) {
    auto r = call("/v3/lease/grant", {{"TTL", std::to_string(ttl.count())}});
    if (!r.ok()) return r.err();
    auto id = number_at(*r, "ID");
    if (id == 0) return make_error(reason::internal, "etcd granted no lease: " + json::serialize(*r));
    return id;
  }

  // Takes the leader key with the lease when no one holds it. Returns its
  // create_revision, or 0 and the holder's identity.
  result<std::pair<std::uint64_t, std::string>> try_lead(std::uint64_t lease,
                                                         const std::string& identity) {
    auto key = b64(leader_key());
    json::object txn{
        {"compare", json::array{json::object{
                        {"target", "CREATE"}, {"key", key}, {"create_revision", "0"}, {"result", "EQUAL"}}}},
        {"success", json::array{json::object{
                        {"request_put", json::object{{"key", key},
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
  result<std::uint64_t> keep_alive(std::uint64_t lease) {
    auto r = call("/v3/lease/keepalive", {{"ID", std::to_string(lease)}}, true);
    if (!r.ok()) return r.err();
    const auto* renewed = r->as_object().if_contains("result");
    if (renewed == nullptr)
      return make_error(reason::unavailable,
                        "etcd did not renew the lease: " + json::serialize(*r).substr(0, 200));
    return number_at(*renewed, "TTL");
  }

  void revoke(std::uint64_t lease) { (void)call("/v3/lease/revoke", {{"ID", std::to_string(lease)}}); }

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

  kv_record record(const json::value& kv, keyspace space) const {
    auto key = bytes_at(kv, "key");
    return {key.substr(prefix_of(space).size()), bytes_at(kv, "value"),
            number_at(kv, "mod_revision")};
  }

  // Keys with prefix (after start_after when given), at most limit (0: all),
  // at revision at (0: the latest).
  result<kv_page> range(const std::string& prefix, const std::string& start_after,
                        std::size_t limit, std::uint64_t at, keyspace space) {
    json::object req{{"key", b64(start_after.empty() ? prefix : start_after + '\0')},
                     {"range_end", b64(prefix_end(prefix))}};
    if (limit != 0) req["limit"] = std::to_string(limit + 1);
    if (at != 0) {
      // A read at a revision is the same on every member that has it: any
      // member answers it alone (serializable), without a majority.
      req["revision"] = std::to_string(at);
      req["serializable"] = true;
    }
    auto r = call("/v3/kv/range", req);
    if (!r.ok() && at != 0 && r.err().message.find("future revision") != std::string::npos) {
      req.erase("serializable");  // that member lags: ask the leader's view
      r = call("/v3/kv/range", std::move(req));
    }
    if (!r.ok()) return r.err();
    kv_page out;
    out.revision = at != 0 ? at : header_revision(*r);
    if (const auto* kvs = r->as_object().if_contains("kvs"); kvs && kvs->is_array())
      for (const auto& kv : kvs->as_array()) {
        if (limit != 0 && out.records.size() == limit) {
          out.more = true;
          break;
        }
        out.records.push_back(record(kv, space));
      }
    return out;
  }

  runtime::http_call request(const std::string& endpoint, const std::string& path,
                             std::string body) const {
    runtime::http_call c;
    c.method = "POST";
    c.url = endpoint + path;
    c.headers = {"Content-Type: application/json"};
    c.body = std::move(body);
    c.send_body = true;
    c.connect_timeout_ms = 2000;
    c.ca_file = o_.ca_file;
    c.client_cert = o_.cert_file;
    c.client_key = o_.key_file;
    return c;
  }

  // One request to the first member that answers, starting with the last
  // one that did; etcd's errors become ours. A member that cannot answer for
  // want of a majority ("no leader", "request timed out") passes the request
  // on, as one that does not answer at all does: writes are compare-and-swap,
  // so one retried elsewhere is never made twice. A stream (the lease
  // keepalive) answers with its first message.
  result<json::value> call(const std::string& path, json::object body, bool stream = false) {
    auto text = json::serialize(body);
    auto session = take_session();
    std::string tried;
    for (std::size_t i = 0; i < o_.endpoints.size(); ++i) {
      auto at = (preferred_ + i) % o_.endpoints.size();
      auto c = request(o_.endpoints[at], path, text);
      c.timeout_ms = static_cast<long>(o_.request_timeout.count());
      std::string first;
      if (stream)
        c.on_data = [&first](std::string_view chunk, long) {
          first.append(chunk);
          return first.find('\n') == std::string::npos;
        };
      auto reply = session->perform(c);
      if (reply.ok() && stream) reply->body = first.substr(0, first.find('\n'));
      std::string message;
      if (!reply.ok()) {
        message = reply.err().message;
      } else {
        auto v = parse_json(reply->body);
        if (reply->status == 200 && v.ok() && v->is_object()) {
          preferred_ = at;
          give_back(std::move(session));
          return std::move(*v);
        }
        message = v.ok() ? string_at(*v, "message") : std::string();
        if (message.empty()) message = reply->body.substr(0, 200);
        if (message.find("timed out") == std::string::npos &&
            message.find("no leader") == std::string::npos) {
          give_back(std::move(session));
          auto why = message.find("compacted") != std::string::npos ? reason::gone : reason::internal;
          return make_error(why, "etcd at " + o_.endpoints[at] + ": " + message);
        }
      }
      tried += (tried.empty() ? "" : "; ") + o_.endpoints[at] + ": " + message;
    }
    give_back(std::move(session));
    return make_error(reason::unavailable,
                      "no etcd member answered (" + tried +
                          "); a majority of etcd's members must run for the store to answer");
  }

  std::unique_ptr<runtime::http_session> take_session() {
    std::lock_guard lk(pool_mu_);
    if (pool_.empty()) return std::make_unique<runtime::http_session>();
    auto s = std::move(pool_.back());
    pool_.pop_back();
    return s;
  }
  void give_back(std::unique_ptr<runtime::http_session> s) {
    if (!s) return;
    std::lock_guard lk(pool_mu_);
    if (pool_.size() < 64) pool_.push_back(std::move(s));
  }

  // The watch on the objects' prefix, from revision `from`, for as long as
  // the backend lives: reconnects (to the next member) when a stream ends.
  void watch_from(std::uint64_t from) {
    std::size_t at = 0;
    while (!stopping_) {
      json::object create{{"key", b64(objects_)},
                          {"range_end", b64(prefix_end(objects_))},
                          {"start_revision", std::to_string(from)},
                          {"prev_kv", true},
                          {"progress_notify", true}};
      auto c = request(o_.endpoints[at % o_.endpoints.size()], "/v3/watch",
                       json::serialize(json::object{{"create_request", std::move(create)}}));
      std::string pending;
      c.on_data = [&](std::string_view chunk, long status) {
        if (stopping_ || status != 200) return false;
        pending.append(chunk);
        for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
          auto line = pending.substr(0, nl);
          pending.erase(0, nl + 1);
          if (auto next = on_watch_message(line); next != 0) from = next;
        }
        return true;
      };
      // One stream for as long as it delivers. It is given up, for the next
      // member, when it ends, when it sends nothing for idle_reconnect (a
      // member that holds the connection but answers nothing looks the same
      // as an idle store, so an idle one reconnects now and then), or when a
      // commit's event does not arrive in time (reconnect_).
      c.keep_going = [this] { return !stopping_ && !reconnect_.exchange(false); };
      c.idle_timeout_s = idle_reconnect.count();
      (void)runtime::http_perform(c);
      if (!pending.empty())
        if (auto next = on_watch_message(pending); next != 0) from = next;
      if (stopping_) return;
      ++at;
      if (at % o_.endpoints.size() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // One watch response; returns the revision to resume from (0: unchanged).
  std::uint64_t on_watch_message(const std::string& line) {
    auto v = parse_json(line);
    if (!v.ok() || !v->is_object()) return 0;
    const auto* result = v->as_object().if_contains("result");
    if (result == nullptr || !result->is_object()) return 0;
    if (auto compact = number_at(*result, "compact_revision"); compact != 0) {
      // etcd compacted past where this watch was: history ends there.
      log_.start_at(compact - 1);
      return compact;
    }
    const auto* events = result->as_object().if_contains("events");
    if (events == nullptr || !events->is_array() || events->as_array().empty()) {
      // A progress notification (no events; not the watch's creation): every
      // event up to its revision has been sent, so lists may read there. An
      // idle store's revision then keeps up with etcd's compaction.
      const auto* created = result->as_object().if_contains("created");
      if (!(created && created->is_bool() && created->as_bool()))
        log_.advance(header_revision(*result));
      return 0;
    }
    std::vector<kv_event> batch;
    for (const auto& e : events->as_array()) {
      const auto& kv = e.at("kv");
      kv_event out;
      out.revision = number_at(kv, "mod_revision");
      out.key = bytes_at(kv, "key").substr(objects_.size());
      if (string_at(e, "type") == "DELETE") {
        out.kind = kv_event::type::deleted;
        if (const auto* prev = e.as_object().if_contains("prev_kv")) out.value = bytes_at(*prev, "value");
      } else {
        out.kind = number_at(kv, "create_revision") == out.revision ? kv_event::type::added
                                                                    : kv_event::type::modified;
        out.value = bytes_at(kv, "value");
      }
      batch.push_back(std::move(out));
    }
    auto last = batch.back().revision;
    log_.append(batch);
    // Listeners hear it before the revision moves: a commit that returns
    // (it waits for the revision) has been heard, as with RocksDB.
    {
      std::lock_guard lk(listener_mu_);
      if (listener_) listener_(std::move(batch));
    }
    log_.advance(last);
    return last + 1;
  }

  const etcd_options o_;
  const std::string objects_, allocations_;
  std::atomic<std::size_t> preferred_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> reconnect_{false};  // the watch is to start again on the next member
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<runtime::http_session>> pool_;
  std::mutex listener_mu_;
  std::function<void(std::vector<kv_event>)> listener_;
  detail::memory_event_log log_;  // from the watch; the store revision too
  mutable std::mutex mu_;          // guards everything below
  std::optional<std::uint64_t> fence_;  // the leader key's create_revision, when leading
  kv_stats stats_;
  std::thread watcher_;
};

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

result<std::vector<std::string>> parse_etcd_endpoints(const std::string& store, bool tls) {
  const std::string scheme = "etcd://";
  if (store.rfind(scheme, 0) != 0)
    return make_error(reason::bad_request,
                      "--store must be rocksdb or etcd://HOST:PORT[,HOST:PORT...], got " + store);
  std::vector<std::string> out;
  std::string rest = store.substr(scheme.size());
  for (std::size_t start = 0; start <= rest.size();) {
    auto comma = rest.find(',', start);
    auto member = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto colon = member.rfind(':');
    if (member.empty() || colon == std::string::npos || colon == 0 || colon + 1 == member.size() ||
        member.find_first_of("/?#@ ") != std::string::npos ||
        member.substr(colon + 1).find_first_not_of("0123456789") != std::string::npos)
      return make_error(reason::bad_request,
                        "--store etcd://: each member must be HOST:PORT, got \"" + member + "\"");
    out.push_back((tls ? "https://" : "http://") + member);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

result<std::unique_ptr<kv_backend>> open_etcd(etcd_options options) {
  if (options.endpoints.empty())
    return make_error(reason::bad_request, "the etcd store needs at least one endpoint");
  auto b = std::make_unique<etcd_backend>(std::move(options));
  if (auto st = b->start(); !st.ok()) return st.err();
  return std::unique_ptr<kv_backend>(std::move(b));
}

}  // namespace rockpool::specs
