// The kv_backend on etcd v3, through its JSON gateway: reads, lists and
// compare-and-swap writes (the requests and the watch are in etcd_stream.cpp,
// the leadership in etcd_leadership.cpp).
#include "etcd_backend_impl.hpp"

#include "rockpool/specs/base64.hpp"
#include "rockpool/specs/json.hpp"

namespace rockpool::specs {

namespace etcd_detail {

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

// Reads the revision to start from and starts the watch.
status etcd_backend::start() {
  auto r = call(
      "/v3/kv/range",
      {{"key", b64(objects_)}, {"range_end", b64(prefix_end(objects_))}, {"count_only", true}});
  if (!r.ok()) return make_error(r.err().why, "cannot open the etcd store: " + r.err().message);
  auto rev = header_revision(*r);
  log_.start_at(rev);
  watcher_ = std::thread([this, rev] { watch_from(rev + 1); });
  return done{};
}

result<std::optional<kv_record>> etcd_backend::get(std::string_view key, keyspace space) {
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

// Objects are read at the revision the watch has delivered, so a list and
// a watch from its revision fit together exactly (etcd's revision also
// moves with allocation writes, which have no events).
result<kv_snapshot> etcd_backend::list(std::string_view prefix, keyspace space) {
  auto at = space == keyspace::objects ? revision() : 0;
  auto r = range(prefix_of(space) + std::string(prefix), "", 0, at, space);
  // etcd compacted past the last revision the watch delivered (an idle
  // store, before a progress notification): the latest state will do.
  if (!r.ok() && r.err().why == reason::gone && at != 0)
    r = range(prefix_of(space) + std::string(prefix), "", 0, 0, space);
  if (!r.ok()) return r.err();
  return kv_snapshot{std::move(r->records), r->revision};
}

result<kv_dump> etcd_backend::dump() {
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

// The compare-and-swap of one write: the key at its expected revision and,
// fenced (a leader's writes), the leader key still the one this process
// created, so a pass begun before the lease expired writes nothing. The
// failure branch reads both back.
json::object etcd_backend::txn_of(const kv_write& w, std::optional<std::uint64_t> fenced) const {
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
  if (fenced) {
    compare.push_back(json::object{{"target", "CREATE"},
                                   {"key", b64(leader_key())},
                                   {"create_revision", std::to_string(*fenced)},
                                   {"result", "EQUAL"}});
    failure.push_back(json::object{{"request_range", json::object{{"key", b64(leader_key())}}}});
  }
  return {{"compare", std::move(compare)},
          {"success", json::array{std::move(op)}},
          {"failure", std::move(failure)}};
}

// Why a txn's compare failed, from what its failure branch read: the leader
// key gone or another's (unavailable), or the object at another revision.
error etcd_backend::refused(const json::value& reply, const kv_write& w,
                            std::optional<std::uint64_t> fenced) const {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> found;  // (mod, create) per range
  if (const auto* rs = reply.as_object().if_contains("responses"); rs && rs->is_array())
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

result<std::uint64_t> etcd_backend::commit(const kv_write& w) {
  auto fenced = fence();
  auto r = call("/v3/kv/txn", txn_of(w, fenced));
  if (!r.ok()) return r.err();
  const auto* succeeded = r->as_object().if_contains("succeeded");
  if (succeeded == nullptr || !succeeded->is_bool() || !succeeded->as_bool())
    return refused(*r, w, fenced);
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

// Keys with prefix (after start_after when given), at most limit (0: all),
// at revision at (0: the latest).
result<kv_page> etcd_backend::range(const std::string& prefix, const std::string& start_after,
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

}  // namespace etcd_detail

using etcd_detail::etcd_backend;

result<std::vector<std::string>> parse_etcd_endpoints(const std::string& store, bool tls) {
  const std::string scheme = "etcd://";
  if (store.rfind(scheme, 0) != 0)
    return make_error(reason::bad_request,
                      "--store must be rocksdb or etcd://HOST:PORT[,HOST:PORT...], got " + store);
  std::vector<std::string> out;
  std::string rest = store.substr(scheme.size());
  for (std::size_t start = 0; start <= rest.size();) {
    auto comma = rest.find(',', start);
    auto member =
        rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
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
