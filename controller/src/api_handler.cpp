#include "rockpool/controller/api_handler.hpp"

#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/schema.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <thread>

namespace rockpool::controller {

namespace json = boost::json;
using specs::error;
using specs::make_error;
using specs::reason;

namespace {

using steady = std::chrono::steady_clock;

struct parsed_target {
  std::vector<std::string> segments;
  std::map<std::string, std::string> query;
};

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

parsed_target parse_target(std::string_view target) {
  parsed_target out;
  auto q = target.find('?');
  auto path = target.substr(0, q);
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    auto seg = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!seg.empty()) out.segments.push_back(url_decode(seg));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (q != std::string_view::npos) {
    auto qs = target.substr(q + 1);
    while (!qs.empty()) {
      auto amp = qs.find('&');
      auto pair = qs.substr(0, amp);
      auto eq = pair.find('=');
      out.query[url_decode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
      if (amp == std::string_view::npos) break;
      qs = qs.substr(amp + 1);
    }
  }
  return out;
}

std::string query(const parsed_target& t, const std::string& key) {
  auto it = t.query.find(key);
  return it == t.query.end() ? std::string() : it->second;
}

http_response json_response(int status, const json::value& v) {
  http_response r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

bool has_media_type(const std::string& content_type, std::string_view media) {
  return content_type.substr(0, content_type.find(';')) == media;
}

// Decodes a request body: JSON, or YAML for apply patches and yaml content types.
specs::result<json::value> decode_body(const http_request& req) {
  if (req.body.empty()) return make_error(reason::bad_request, "request body is empty");
  bool yaml = has_media_type(req.content_type, "application/apply-patch+yaml") ||
              has_media_type(req.content_type, "application/yaml");
  if (!yaml) return specs::parse_json(req.body);
  auto decoded = specs::decode_documents(req.body, "request body");
  if (!decoded.problems.empty()) {
    error e{reason::bad_request, decoded.problems[0].to_string(), {}};
    for (const auto& p : decoded.problems) e.causes.push_back({p.field, p.to_string()});
    return e;
  }
  if (decoded.documents.size() != 1)
    return make_error(reason::bad_request, "request body must hold exactly one document");
  return std::move(decoded.documents[0].value);
}

json::value list_object(const specs::kind_info& k, specs::list_outcome&& l) {
  json::array items;
  items.reserve(l.items.size());
  for (auto& o : l.items) items.push_back(std::move(o));
  return json::object{{"apiVersion", specs::api_version},
                      {"kind", k.kind + "List"},
                      {"metadata", {{"resourceVersion", std::to_string(l.revision)}}},
                      {"items", std::move(items)}};
}

specs::write_request write_request_of(const parsed_target& t) {
  specs::write_request w;
  w.dry_run = query(t, "dryRun") == "All";
  w.manager = query(t, "fieldManager");
  return w;
}

http_response write_response(specs::result<specs::write_outcome>&& r, int ok_status) {
  if (!r.ok()) return api_handler::status_response(r.err());
  int status = ok_status;
  if (r->effect == specs::write_effect::created) status = 201;
  if (r->effect == specs::write_effect::terminating) status = 202;
  auto resp = json_response(status, r->object);
  resp.headers["Rockpool-Effect"] = specs::effect_name(r->effect);
  return resp;
}

// Checks that a body names the kind and object the URL names.
std::optional<error> check_body_identity(const json::value& obj, const specs::kind_info& k,
                                         const std::string& url_name) {
  if (!obj.is_object()) return make_error(reason::bad_request, "body must be a JSON object");
  auto kind = specs::string_at(obj, "kind");
  if (kind != k.kind)
    return make_error(reason::bad_request,
                      "body kind \"" + kind + "\" does not match the URL's " + k.kind);
  auto name = specs::string_at(obj, "metadata.name");
  if (!url_name.empty() && name != url_name)
    return make_error(reason::bad_request, "body metadata.name \"" + name +
                                               "\" does not match the URL's \"" + url_name + "\"");
  return std::nullopt;
}

bool passes_filters(const json::value& obj, const specs::kind_info& k,
                    const specs::label_selector& sel, const std::string& name) {
  if (specs::string_at(obj, "kind") != k.kind) return false;
  if (!name.empty() && specs::string_at(obj, "metadata.name") != name) return false;
  return sel.matches(obj);
}

// Parses fieldSelector; only metadata.name=NAME is supported.
specs::result<std::string> name_from_field_selector(const std::string& fs) {
  if (fs.empty()) return std::string();
  constexpr std::string_view prefix = "metadata.name=";
  if (fs.rfind(prefix, 0) == 0) {
    auto rest = fs.substr(prefix.size());
    if (!rest.empty() && rest[0] == '=') rest.erase(0, 1);
    return rest;
  }
  return make_error(reason::bad_request,
                    "unsupported fieldSelector \"" + fs + "\" (only metadata.name=NAME)");
}

}  // namespace

api_handler::api_handler(specs::object_store& store, metrics& m, api_options options)
    : store_(store), metrics_(m), options_(std::move(options)) {}

http_response api_handler::status_response(const error& e) {
  json::array causes;
  for (const auto& c : e.causes)
    causes.push_back({{"field", c.field},
                      {"message", c.message},
                      {"reason", e.why == reason::invalid ? "FieldValueInvalid" : "BadRequest"}});
  json::object status{{"apiVersion", "v1"},
                      {"kind", "Status"},
                      {"metadata", json::object{}},
                      {"status", "Failure"},
                      {"message", e.message},
                      {"reason", specs::reason_name(e.why)},
                      {"code", specs::http_code(e.why)}};
  if (!causes.empty()) status["details"] = {{"causes", std::move(causes)}};
  return json_response(specs::http_code(e.why), status);
}

bool api_handler::is_watch(const http_request& req) const {
  if (req.method != "GET") return false;
  auto t = parse_target(req.target);
  auto w = query(t, "watch");
  return (w == "true" || w == "1") && t.segments.size() == 4 && t.segments[0] == "apis";
}

void api_handler::stop() {
  stopping_ = true;
}

http_response api_handler::handle(const http_request& req) {
  auto start = steady::now();
  http_response resp;
  try {
    resp = dispatch(req);
  } catch (const std::exception& e) {
    resp =
        status_response(make_error(reason::internal, std::string("internal error: ") + e.what()));
  }
  metrics_.count_request(req.method, resp.status,
                         std::chrono::duration<double>(steady::now() - start).count());
  return resp;
}

http_response api_handler::dispatch(const http_request& req) {
  auto t = parse_target(req.target);
  const auto& s = t.segments;
  auto not_found = [&] {
    return status_response(
        make_error(reason::not_found, "the server could not find the requested resource " +
                                          req.target.substr(0, req.target.find('?'))));
  };
  if (s.size() == 1 && req.method == "GET") {
    if (s[0] == "healthz") return http_response{200, "text/plain", "ok", {}};
    if (s[0] == "readyz") {
      if (auto ready = store_.ready(); !ready.ok())
        return http_response{503, "text/plain", "store: " + ready.err().message, {}};
      return http_response{200, "text/plain", "ok", {}};
    }
    if (s[0] == "version")
      return json_response(200,
                           {{"version", options_.version}, {"apiVersion", specs::api_version}});
    if (s[0] == "metrics") {
      std::string extra =
          "# HELP rockpool_objects Stored objects, by kind.\n# TYPE rockpool_objects gauge\n";
      for (const auto& k : specs::kinds()) {
        auto l = store_.list(k.kind);
        extra += "rockpool_objects{kind=\"" + k.kind + "\"} " +
                 std::to_string(l.ok() ? l->items.size() : 0) + "\n";
      }
      extra +=
          "# HELP rockpool_store_revision Latest store revision.\n# TYPE rockpool_store_revision "
          "gauge\n";
      extra += "rockpool_store_revision " + std::to_string(store_.revision()) + "\n";
      auto st = store_.stats();
      extra +=
          "# HELP rockpool_store_writes_total Acknowledged durable writes.\n# TYPE "
          "rockpool_store_writes_total counter\n";
      extra += "rockpool_store_writes_total " + std::to_string(st.writes) + "\n";
      extra +=
          "# HELP rockpool_store_batches_total Synced write batches (group commits).\n# TYPE "
          "rockpool_store_batches_total counter\n";
      extra += "rockpool_store_batches_total " + std::to_string(st.batches) + "\n";
      if (options_.extra_metrics) extra += options_.extra_metrics();
      return http_response{200, "text/plain; version=0.0.4", metrics_.render(extra), {}};
    }
    if (s[0] == "apis") {
      return json_response(
          200,
          {{"kind", "APIGroupList"},
           {"apiVersion", "v1"},
           {"groups", json::array{{{"name", specs::api_group},
                                   {"versions", json::array{{{"groupVersion", specs::api_version},
                                                             {"version", "v1alpha1"}}}}}}}});
    }
  }
  if (s.size() < 3 || s[0] != "apis" || s[1] != specs::api_group || s[2] != "v1alpha1")
    return not_found();
  if (s.size() == 3) {
    if (req.method != "GET")
      return status_response(make_error(reason::method_not_allowed, "use GET"));
    json::array resources;
    for (const auto& k : specs::kinds()) {
      json::array shorts;
      for (const auto& n : k.short_names) shorts.push_back(json::string(n));
      resources.push_back(
          {{"name", k.plural},
           {"singularName", k.singular},
           {"kind", k.kind},
           {"namespaced", false},
           {"shortNames", std::move(shorts)},
           {"verbs", json::array{"create", "delete", "get", "list", "patch", "update", "watch"}}});
    }
    return json_response(200, {{"kind", "APIResourceList"},
                               {"apiVersion", "v1"},
                               {"groupVersion", specs::api_version},
                               {"resources", std::move(resources)}});
  }
  const auto* k = specs::find_kind(s[3]);
  if (k == nullptr || k->plural != s[3] || s.size() > 6 || (s.size() == 6 && s[5] != "status"))
    return not_found();
  auto wreq = write_request_of(t);
  bool status_path = s.size() == 6;

  if (s.size() == 4) {  // collection
    if (req.method == "GET") {
      auto sel = specs::label_selector::parse(query(t, "labelSelector"));
      if (!sel.ok()) return status_response(sel.err());
      auto name = name_from_field_selector(query(t, "fieldSelector"));
      if (!name.ok()) return status_response(name.err());
      auto l = store_.list(k->kind, *sel);
      if (!l.ok()) return status_response(l.err());
      if (!name->empty())
        std::erase_if(l->items, [&](const json::value& o) {
          return specs::string_at(o, "metadata.name") != *name;
        });
      return json_response(200, list_object(*k, std::move(*l)));
    }
    if (req.method == "POST") {
      auto body = decode_body(req);
      if (!body.ok()) return status_response(body.err());
      if (auto e = check_body_identity(*body, *k, "")) return status_response(*e);
      auto start = steady::now();
      auto r = store_.create(std::move(*body), wreq);
      metrics_.observe_store_write(std::chrono::duration<double>(steady::now() - start).count());
      return write_response(std::move(r), 201);
    }
    return status_response(
        make_error(reason::method_not_allowed, req.method + " is not supported on a collection"));
  }

  const std::string& name = s[4];
  if (req.method == "GET") {
    auto obj = store_.get(k->kind, name);
    if (!obj.ok()) return status_response(obj.err());
    return json_response(200, *obj);
  }
  auto timed = [&](auto&& fn) {
    auto start = steady::now();
    auto r = fn();
    if (!wreq.dry_run)
      metrics_.observe_store_write(std::chrono::duration<double>(steady::now() - start).count());
    return r;
  };
  if (req.method == "PUT") {
    auto body = decode_body(req);
    if (!body.ok()) return status_response(body.err());
    if (auto e = check_body_identity(*body, *k, name)) return status_response(*e);
    return write_response(timed([&] {
                            return status_path ? store_.replace_status(std::move(*body), wreq)
                                               : store_.replace(std::move(*body), wreq);
                          }),
                          200);
  }
  if (req.method == "PATCH") {
    auto body = decode_body(req);
    if (!body.ok()) return status_response(body.err());
    if (has_media_type(req.content_type, "application/apply-patch+yaml")) {
      if (status_path)
        return status_response(
            make_error(reason::unsupported_media,
                       "apply patches are not supported on status; use a merge patch"));
      if (auto e = check_body_identity(*body, *k, name)) return status_response(*e);
      if (wreq.manager.empty())
        return status_response(
            make_error(reason::bad_request, "fieldManager is required for apply patches"));
      bool force = query(t, "force") == "true";
      return write_response(timed([&] { return store_.apply(std::move(*body), wreq, force); }),
                            200);
    }
    if (has_media_type(req.content_type, "application/merge-patch+json")) {
      if (status_path) {
        return write_response(timed([&]() -> specs::result<specs::write_outcome> {
                                auto cur = store_.get(k->kind, name);
                                if (!cur.ok()) return cur.err();
                                auto patched = specs::apply_merge_patch(*cur, *body);
                                return store_.replace_status(std::move(patched), wreq);
                              }),
                              200);
      }
      return write_response(timed([&] { return store_.merge_patch(k->kind, name, *body, wreq); }),
                            200);
    }
    return status_response(make_error(
        reason::unsupported_media,
        "PATCH needs Content-Type application/apply-patch+yaml or application/merge-patch+json"));
  }
  if (req.method == "DELETE") {
    if (status_path)
      return status_response(make_error(reason::method_not_allowed, "cannot delete status"));
    std::optional<std::uint64_t> precondition;
    if (!req.body.empty()) {
      auto opts = specs::parse_json(req.body);
      if (!opts.ok()) return status_response(opts.err());
      auto rv = specs::string_at(*opts, "preconditions.resourceVersion");
      if (!rv.empty()) {
        try {
          precondition = std::stoull(rv);
        } catch (...) {
          return status_response(
              make_error(reason::bad_request, "preconditions.resourceVersion must be a number"));
        }
      }
      if (const auto* dr = specs::find_path(*opts, "dryRun");
          dr && dr->is_array() && !dr->get_array().empty())
        wreq.dry_run = true;
    }
    return write_response(timed([&] { return store_.remove(k->kind, name, precondition, wreq); }),
                          200);
  }
  return status_response(make_error(reason::method_not_allowed, req.method + " is not supported"));
}

void api_handler::stream(const http_request& req,
                         const std::function<bool(const http_response&)>& head, chunk_sink& sink) {
  auto t = parse_target(req.target);
  const auto* k = specs::find_kind(t.segments[3]);
  auto fail = [&](const error& e) { head(status_response(e)); };
  if (k == nullptr || k->plural != t.segments[3] || t.segments[1] != specs::api_group)
    return fail(make_error(reason::not_found, "unknown resource " + t.segments[3]));
  auto sel = specs::label_selector::parse(query(t, "labelSelector"));
  if (!sel.ok()) return fail(sel.err());
  auto name = name_from_field_selector(query(t, "fieldSelector"));
  if (!name.ok()) return fail(name.err());
  auto deadline = steady::time_point::max();
  if (auto ts = query(t, "timeoutSeconds"); !ts.empty()) {
    try {
      deadline = steady::now() + std::chrono::seconds(std::stoul(ts));
    } catch (...) {
      return fail(make_error(reason::bad_request, "timeoutSeconds must be a number"));
    }
  }
  auto line = [](const std::string& type, json::value obj) {
    return json::serialize(json::object{{"type", type}, {"object", std::move(obj)}}) + "\n";
  };

  std::uint64_t rev = 0;
  std::string initial;
  auto rv_param = query(t, "resourceVersion");
  if (rv_param.empty() || rv_param == "0") {
    // No position: the current state as synthetic ADDED events, then changes.
    auto l = store_.list(k->kind, *sel);
    if (!l.ok()) return fail(l.err());
    rev = l->revision;
    for (auto& o : l->items)
      if (passes_filters(o, *k, *sel, *name)) initial += line("ADDED", std::move(o));
  } else {
    try {
      rev = std::stoull(rv_param);
    } catch (...) {
      return fail(make_error(reason::bad_request, "resourceVersion must be a number"));
    }
    auto probe = store_.events_after(rev, 1);
    if (!probe.ok()) return fail(probe.err());
  }
  metrics_.count_request("WATCH", 200, 0);
  if (!head(http_response{200, "application/json", {}, {}})) return;
  if (!initial.empty() && !sink.send(initial)) return;

  auto next_bookmark = steady::now() + options_.bookmark_interval;
  while (!stopping_ && steady::now() < deadline) {
    auto events = store_.events_after(rev, 256);
    if (!events.ok()) {
      // Fell behind the retention window: tell the client to relist.
      auto parsed = specs::parse_json(status_response(events.err()).body);
      sink.send(line("ERROR", parsed.ok() ? std::move(*parsed) : json::value()));
      return;
    }
    std::string batch;
    for (auto& e : *events) {
      rev = e.revision;
      if (passes_filters(e.object, *k, *sel, *name)) batch += line(e.type, std::move(e.object));
    }
    if (!batch.empty() && !sink.send(batch)) return;
    if (!events->empty()) continue;
    if (steady::now() >= next_bookmark) {
      json::value bm = {{"apiVersion", specs::api_version},
                        {"kind", k->kind},
                        {"metadata", {{"resourceVersion", std::to_string(rev)}}}};
      if (!sink.send(line("BOOKMARK", std::move(bm)))) return;
      next_bookmark = steady::now() + options_.bookmark_interval;
    }
    auto wait = std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(500),
        std::chrono::duration_cast<std::chrono::milliseconds>(next_bookmark - steady::now()));
    store_.wait_for_revision(rev, std::max(wait, std::chrono::milliseconds(1)));
  }
}

}  // namespace rockpool::controller
