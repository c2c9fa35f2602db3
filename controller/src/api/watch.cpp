// Watch: the current state or the events after a resourceVersion, then
// every change, as newline-delimited JSON; BOOKMARKs while idle; an in-stream
// ERROR (410) when the client falls behind the event log's retention.
#include "api/api.hpp"

namespace rockpool::controller {

using namespace api;

// What a watch asks for, from its query.
struct watch_request {
  const specs::kind_info* kind = nullptr;
  specs::label_selector selector;
  std::string name;  // fieldSelector metadata.name=NAME, or ""
  steady::time_point deadline = steady::time_point::max();
  std::optional<std::uint64_t> from;  // resourceVersion; none: the current state first
  bool bookmarks = false;             // allowWatchBookmarks=true
};

namespace {

specs::result<watch_request> parse_watch(const parsed_target& t) {
  watch_request w;
  w.kind = specs::find_kind(t.segments[3]);
  if (w.kind == nullptr || w.kind->plural != t.segments[3] || t.segments[1] != specs::api_group ||
      t.segments[2] != "v1alpha1")
    return make_error(reason::not_found, "the server could not find the requested resource");
  auto sel = specs::label_selector::parse(query(t, "labelSelector"));
  if (!sel.ok()) return sel.err();
  w.selector = std::move(*sel);
  auto name = name_from_field_selector(query(t, "fieldSelector"));
  if (!name.ok()) return name.err();
  w.name = std::move(*name);
  try {
    if (auto ts = query(t, "timeoutSeconds"); !ts.empty())
      w.deadline = steady::now() + std::chrono::seconds(std::stoul(ts));
  } catch (...) {
    return make_error(reason::bad_request, "timeoutSeconds must be a number");
  }
  auto rv = query(t, "resourceVersion");
  if (!rv.empty() && (rv.size() > 20 || rv.find_first_not_of("0123456789") != std::string::npos))
    return make_error(reason::bad_request,
                      "resourceVersion must be a non-negative number, got \"" + rv + "\"");
  try {
    if (!rv.empty() && rv != "0") w.from = std::stoull(rv);
  } catch (...) {
    return make_error(reason::bad_request, "resourceVersion is out of range");
  }
  w.bookmarks = query(t, "allowWatchBookmarks") == "true";
  return w;
}

std::string watch_line(const std::string& type, json::value obj) {
  return json::serialize(json::object{{"type", type}, {"object", std::move(obj)}}) + "\n";
}

}  // namespace

void api_handler::stream(const http_request& req,
                         const std::function<bool(const http_response&)>& head, chunk_sink& sink) {
  auto fail = [&](const error& e) { head(status_response(e)); };
  auto w = parse_watch(parse_target(req.target));
  if (!w.ok()) return fail(w.err());
  std::uint64_t rev = 0;
  std::string initial;
  if (!w->from) {
    // No position: the current state as synthetic ADDED events, then changes.
    auto l = store_.list(w->kind->kind, w->selector);
    if (!l.ok()) return fail(l.err());
    rev = l->revision;
    for (auto& o : l->items)
      if (passes_filters(o, *w->kind, w->selector, w->name))
        initial += watch_line("ADDED", std::move(o));
  } else {
    rev = *w->from;
    if (rev > store_.revision())
      return fail(make_error(reason::bad_request, "resourceVersion " + std::to_string(rev) +
                                                      " is newer than the store's latest, " +
                                                      std::to_string(store_.revision()) +
                                                      "; list, then watch from its "
                                                      "resourceVersion"));
    auto probe = store_.events_after(rev, 1);
    if (!probe.ok()) return fail(probe.err());
  }
  metrics_.count_request("WATCH", 200, 0);
  if (!head(http_response{200, "application/json", {}, {}})) return;
  if (!initial.empty() && !sink.send(initial)) return;
  follow(*w, rev, sink);
}

void api_handler::follow(const watch_request& w, std::uint64_t rev, chunk_sink& sink) {
  const auto& k = *w.kind;
  auto next_bookmark = steady::now() + options_.bookmark_interval;
  while (!stopping_ && steady::now() < w.deadline) {
    auto events = store_.events_after(rev, 256);
    if (!events.ok()) {
      // Fell behind the retention window: tell the client to relist.
      auto parsed = specs::parse_json(status_response(events.err()).body);
      sink.send(watch_line("ERROR", parsed.ok() ? std::move(*parsed) : json::value()));
      return;
    }
    std::string batch;
    for (auto& e : *events) {
      rev = e.revision;
      if (passes_filters(e.object, k, w.selector, w.name))
        batch += watch_line(e.type, std::move(e.object));
    }
    if (!batch.empty() && !sink.send(batch)) return;
    if (!events->empty()) continue;
    if (w.bookmarks && steady::now() >= next_bookmark) {
      json::value bm = {{"apiVersion", specs::api_version},
                        {"kind", k.kind},
                        {"metadata", {{"resourceVersion", std::to_string(rev)}}}};
      if (!sink.send(watch_line("BOOKMARK", std::move(bm)))) return;
      next_bookmark = steady::now() + options_.bookmark_interval;
    }
    auto wait = std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(500),
        std::chrono::duration_cast<std::chrono::milliseconds>(next_bookmark - steady::now()));
    store_.wait_for_revision(rev, std::max(wait, std::chrono::milliseconds(1)));
  }
}

}  // namespace rockpool::controller
