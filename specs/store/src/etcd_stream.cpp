// The etcd store's requests to its members (any member that answers, the
// sessions kept for reuse) and its one long watch on the objects' prefix.
#include "etcd_backend_impl.hpp"

#include "rockpool/specs/json.hpp"

namespace rockpool::specs::etcd_detail {

runtime::http_call etcd_backend::request(const std::string& endpoint, const std::string& path,
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
result<json::value> etcd_backend::call(const std::string& path, json::object body, bool stream) {
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

std::unique_ptr<runtime::http_session> etcd_backend::take_session() {
  std::lock_guard lk(pool_mu_);
  if (pool_.empty()) return std::make_unique<runtime::http_session>();
  auto s = std::move(pool_.back());
  pool_.pop_back();
  return s;
}

// The watch on the objects' prefix, from revision `from`, for as long as
// the backend lives: reconnects (to the next member) when a stream ends.
void etcd_backend::watch_from(std::uint64_t from) {
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
std::uint64_t etcd_backend::on_watch_message(const std::string& line) {
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
      if (const auto* prev = e.as_object().if_contains("prev_kv"))
        out.value = bytes_at(*prev, "value");
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

}  // namespace rockpool::specs::etcd_detail
