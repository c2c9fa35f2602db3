// Watch: the current state or the events after a resourceVersion, then
// every change, as newline-delimited JSON; BOOKMARKs while idle (when asked
// for); an in-stream ERROR (410) when a watcher falls behind the event log's
// retention.
//
// One thread feeds every open watch. Each round it reads the events after
// each watcher's position (watchers at the same position share one read and
// one serialization), filters them per watcher and hands them to the
// watcher's transport, which writes asynchronously. A watcher whose transport
// still holds watch_buffer_bytes gets nothing more until it drains: it falls
// behind in the event log (and, past the retention, gets 410 Gone) instead of
// growing a buffer.
#include "api/api.hpp"

#include <algorithm>
#include <mutex>
#include <thread>
#include <unordered_set>

namespace rockpool::controller {

using namespace api;

// What a watch asks for, from its query.
struct watch_request {
  const specs::kind_info* kind = nullptr;
  specs::label_selector selector;
  std::string name;  // fieldSelector metadata.name=NAME, or ""
  steady::time_point deadline = steady::time_point::max();
  std::optional<std::uint64_t> from;  // resourceVersion; none: the current state first
  bool bookmarks = false;             // allowWatchBookmarks
  std::optional<bool> initial_events;  // sendInitialEvents
  bool table = false;                 // each object as a one-row Table (kubectl get -w)
  parsed_target target;               // for the Table's includeObject
  // Core v1 events (kubectl get events -w): Rockpool's Events, sent in core
  // v1's shape and filtered by its field selector.
  bool core = false;
  core_event_selector core_fields;
  // CustomResourceDefinitions (read-only, built in): the current ones, then
  // nothing but bookmarks.
  bool crd = false;
  std::string api_version = specs::api_version;  // of bookmarks
};

namespace {

specs::result<watch_request> parse_watch(const parsed_target& t) {
  watch_request w;
  w.core = is_core_events_path(t.segments);
  w.crd = is_crd_path(t.segments);
  if (w.crd) {
    w.kind = &crd_kind();
    w.api_version = std::string(crd_group) + "/v1";
    auto name = name_from_field_selector(query(t, "fieldSelector"));
    if (!name.ok()) return name.err();
    w.name = std::move(*name);
  } else if (w.core) {
    w.api_version = "v1";
    w.kind = specs::find_kind("Event");
    auto fields = core_event_fields(query(t, "fieldSelector"));
    if (!fields.ok()) return fields.err();
    w.core_fields = std::move(*fields);
  } else {
    w.kind = specs::find_kind(t.segments[3]);
    if (w.kind == nullptr || w.kind->plural != t.segments[3] || t.segments[1] != specs::api_group ||
        t.segments[2] != "v1alpha1")
      return make_error(reason::not_found, "the server could not find the requested resource");
    auto name = name_from_field_selector(query(t, "fieldSelector"));
    if (!name.ok()) return name.err();
    w.name = std::move(*name);
  }
  auto o = parse_list_options(t);
  if (!o.ok()) return o.err();
  // limit and continue are list parameters; a watch ignores them, as the
  // apiserver's does.
  w.selector = std::move(o->labels);
  if (o->timeout) w.deadline = steady::now() + *o->timeout;
  if (o->resource_version.value_or(0) != 0) w.from = *o->resource_version;
  w.bookmarks = o->bookmarks;
  // sendInitialEvents=true: the current state, then the initial-events-end
  // bookmark (client-go's streaming list); false: no current state, only the
  // changes after resourceVersion (or after now when it is unset or 0).
  w.initial_events = o->send_initial_events;
  w.target = t;
  return w;
}

std::string watch_line(std::string_view type, const json::value& obj) {
  return json::serialize(json::object{{"type", type}, {"object", obj}}) + "\n";
}

// A BOOKMARK's object: the kind and a resourceVersion; the one that ends a
// watch's initial events says so, as client-go's streaming list waits for.
json::value bookmark(const watch_request& r, std::uint64_t revision, bool initial_events_end) {
  json::object meta{{"resourceVersion", std::to_string(revision)}};
  if (initial_events_end) meta["annotations"] = {{"k8s.io/initial-events-end", "true"}};
  return {{"apiVersion", r.api_version},
          {"kind", r.kind->kind},
          {"metadata", std::move(meta)}};
}

// One event of a round, read once and serialized once for every watcher that
// sees it unchanged.
struct shared_event {
  specs::watch_event event;
  std::string line;  // the event as sent, built on first use

  const std::string& as_sent() {
    if (line.empty()) line = watch_line(event.type, event.object);
    return line;
  }
};

using round_events = specs::result<std::vector<shared_event>>;

// One open watch.
struct watcher {
  watch_request request;
  std::uint64_t rev = 0;  // the last revision this watcher has been given
  steady::time_point next_bookmark;
  std::shared_ptr<watch_client> client;
  // With a label selector, the names the client has been told are selected,
  // so an object that stops matching is sent as DELETED and one that starts
  // matching as ADDED (as Kubernetes does). Up to `uncertain_until` (a watch
  // resumed from a client's resourceVersion) the client's view is not known
  // exactly: an object that does not match is then sent as DELETED even when
  // it is not in `known`, which clients ignore for objects they do not have.
  std::unordered_set<std::string> known;
  std::uint64_t uncertain_until = 0;
  bool columns_sent = false;  // Table watches: the first event carries the columns

  /// One event line as this watcher sends it: the object, or a one-row Table.
  std::string line(std::string_view type, const json::value& obj) {
    if (type == "BOOKMARK" || type == "ERROR") return watch_line(type, obj);
    if (!request.table) return watch_line(type, request.core ? core_event(obj) : obj);
    std::vector<json::value> rows;
    if (request.core) rows.push_back(core_event(obj));
    auto t = table_of(*request.kind, {obj}, request.target,
                      specs::string_at(obj, "metadata.resourceVersion"), !columns_sent,
                      request.core ? &rows : nullptr);
    columns_sent = true;
    return watch_line(type, t);
  }
  /// Whether this watcher sends events as the store has them (shared lines).
  bool sends_as_stored() const { return !request.table && !request.core; }

  /// The type under which this watcher sees e, or "" when it does not.
  std::string_view type_of(const specs::watch_event& e) {
    if (specs::string_at(e.object, "kind") != request.kind->kind) return {};
    auto name = specs::string_at(e.object, "metadata.name");
    if (!request.name.empty() && name != request.name) return {};
    if (request.core && !core_event_selected(e.object, request.core_fields)) return {};
    if (request.selector.empty()) return e.type;
    bool selected_before =
        known.count(name) > 0 || (e.revision <= uncertain_until && e.type != "ADDED");
    if (e.type != "DELETED" && request.selector.matches(e.object)) {
      known.insert(name);
      return selected_before && e.type != "ADDED" ? "MODIFIED" : "ADDED";
    }
    known.erase(name);
    return selected_before ? "DELETED" : std::string_view{};
  }
};

// Sends w the events after w.rev, up to its buffer's limit, reading each
// position once per round (reads). False when the watch ended: it fell
// behind the retention window, and the client is told to relist.
bool send_events(specs::object_store& store, watcher& w,
                 std::map<std::uint64_t, round_events>& reads, std::size_t pending,
                 std::size_t limit) {
  auto it = reads.find(w.rev);
  if (it == reads.end()) {
    auto raw = store.events_after(w.rev, 256);
    round_events evs =
        raw.ok() ? round_events(std::vector<shared_event>()) : round_events(raw.err());
    if (raw.ok())
      for (auto& e : *raw) evs->push_back({std::move(e), {}});
    it = reads.emplace(w.rev, std::move(evs)).first;
  }
  if (!it->second.ok()) {
    auto parsed = specs::parse_json(api_handler::status_response(it->second.err()).body);
    w.client->send(watch_line("ERROR", parsed.ok() ? *parsed : json::value()));
    w.client->finish();
    return false;
  }
  std::string batch;
  for (auto& e : *it->second) {
    if (pending + batch.size() >= limit) break;
    w.rev = e.event.revision;
    auto type = w.type_of(e.event);
    if (type.empty()) continue;
    if (type == e.event.type && w.sends_as_stored())
      batch += e.as_sent();
    else
      batch += w.line(type, e.event.object);
  }
  if (!batch.empty()) w.client->send(std::move(batch));
  return true;
}

}  // namespace

struct api_handler::watchers {
  std::mutex mu;
  std::vector<std::shared_ptr<watcher>> open;
  std::thread thread;
  bool started = false;
};

api_handler::api_handler(specs::object_store& store, metrics& m, api_options options)
    : store_(store),
      metrics_(m),
      options_(std::move(options)),
      watchers_(std::make_unique<watchers>()) {}

api_handler::~api_handler() {
  stop();
}

void api_handler::stop() {
  stopping_ = true;
  std::thread t;
  {
    std::lock_guard lk(watchers_->mu);
    t = std::move(watchers_->thread);
  }
  if (t.joinable()) t.join();
  std::vector<std::shared_ptr<watcher>> left;
  {
    std::lock_guard lk(watchers_->mu);
    left.swap(watchers_->open);
  }
  for (auto& w : left) w->client->finish();
}

std::optional<http_response> api_handler::watch(const http_request& req,
                                                std::shared_ptr<watch_client> client) {
  auto w = parse_watch(parse_target(req.target));
  if (!w.ok()) return status_response(w.err());
  w->table = wants_table(req);
  auto open = std::make_shared<watcher>();
  open->request = std::move(*w);
  const auto& request = open->request;
  open->client = std::move(client);
  std::string initial;
  bool send_state = request.initial_events.value_or(!request.from);
  if (request.initial_events == false && !request.from) {
    // Only what changes from now on.
    open->rev = store_.revision();
    if (!request.selector.empty()) open->uncertain_until = open->rev;
  } else if (send_state || !request.selector.empty()) {
    // The current state: sent as ADDED events when the watch names no
    // position; with one, it tells which objects the client sees selected.
    auto l = request.crd ? specs::result<specs::list_outcome>(
                               specs::list_outcome{crd_objects(), store_.revision(), {}})
                         : store_.list(request.kind->kind, request.selector);
    if (!l.ok()) return status_response(l.err());
    for (auto& o : l->items) {
      if (!request.name.empty() && specs::string_at(o, "metadata.name") != request.name) continue;
      if (request.core && !core_event_selected(o, request.core_fields)) continue;
      if (request.crd && !request.selector.matches(o)) continue;
      if (!request.selector.empty()) open->known.insert(specs::string_at(o, "metadata.name"));
      if (send_state) initial += open->line("ADDED", o);
    }
    if (request.initial_events == true)
      initial += watch_line("BOOKMARK", bookmark(request, l->revision, true));
    open->rev = l->revision;
    if (request.from && !send_state) open->uncertain_until = l->revision;
  }
  if (request.from && !send_state) {
    if (*request.from > store_.revision())
      return status_response(
          make_error(reason::bad_request, "resourceVersion " + std::to_string(*request.from) +
                                              " is newer than the store's latest, " +
                                              std::to_string(store_.revision()) +
                                              "; list, then watch from its resourceVersion"));
    auto probe = store_.events_after(*request.from, 1);
    if (!probe.ok()) return status_response(probe.err());
    open->rev = *request.from;
  }
  open->next_bookmark = steady::now() + options_.bookmark_interval;
  metrics_.count_request("WATCH", 200, 0);
  open->client->send(std::move(initial));  // also starts the stream when empty
  std::lock_guard lk(watchers_->mu);
  if (stopping_) {
    open->client->finish();
    return std::nullopt;
  }
  watchers_->open.push_back(std::move(open));
  if (!watchers_->started) {
    watchers_->started = true;
    watchers_->thread = std::thread([this] { feed_watchers(); });
  }
  return std::nullopt;
}

std::size_t api_handler::open_watches() const {
  std::lock_guard lk(watchers_->mu);
  return watchers_->open.size();
}

void api_handler::feed_watchers() {
  const std::size_t limit = std::max<std::size_t>(options_.watch_buffer_bytes, 1);
  while (!stopping_) {
    std::vector<std::shared_ptr<watcher>> open;
    {
      std::lock_guard lk(watchers_->mu);
      open = watchers_->open;
    }
    auto head = store_.revision();
    auto now = steady::now();
    std::map<std::uint64_t, round_events> reads;  // this round's reads, by position
    bool more_now = false, waiting_on_clients = false;
    std::vector<watcher*> ended;
    for (auto& wp : open) {
      auto& w = *wp;
      if (w.client->gone()) {
        ended.push_back(&w);
        continue;
      }
      if (now >= w.request.deadline) {
        w.client->finish();
        ended.push_back(&w);
        continue;
      }
      auto pending = w.client->pending_bytes();
      if (pending >= limit) {
        waiting_on_clients = true;
        continue;
      }
      if (w.rev < head) {
        if (!send_events(store_, w, reads, pending, limit)) {
          ended.push_back(&w);
          continue;
        }
        if (w.rev < head) more_now = true;
        w.next_bookmark = now + options_.bookmark_interval;
        continue;
      }
      if (w.request.bookmarks && now >= w.next_bookmark) {
        w.client->send(watch_line("BOOKMARK", bookmark(w.request, w.rev, false)));
        w.next_bookmark = now + options_.bookmark_interval;
      }
    }
    if (!ended.empty()) {
      std::lock_guard lk(watchers_->mu);
      std::erase_if(watchers_->open, [&](const std::shared_ptr<watcher>& w) {
        return std::find(ended.begin(), ended.end(), w.get()) != ended.end();
      });
    }
    if (more_now) continue;
    // Wake for the next write at once; poll briefly while a client drains,
    // else often enough for deadlines, bookmarks and new watchers behind head.
    store_.wait_for_revision(
        head, waiting_on_clients ? std::chrono::milliseconds(5) : std::chrono::milliseconds(50));
  }
}

}  // namespace rockpool::controller
