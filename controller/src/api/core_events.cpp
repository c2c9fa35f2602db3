// The core group's v1 Events, read-only, made from Rockpool's Event objects:
// what `kubectl describe` asks for (GET /api/v1/events?fieldSelector=
// involvedObject.name=...,involvedObject.kind=...,involvedObject.uid=...),
// with the /api and /api/v1 discovery documents kubectl reads first.
#include "api/api.hpp"

#include <sstream>

namespace rockpool::controller {

using namespace api;

namespace api {

bool is_core_events_path(const std::vector<std::string>& s) {
  return (s.size() == 2 && s[0] == "v1" && s[1] == "events") ||
         (s.size() == 4 && s[0] == "v1" && s[1] == "namespaces" && s[3] == "events");
}

// fieldSelector over involvedObject.{name,kind,uid,namespace}; other fields refused.
specs::result<core_event_selector> core_event_fields(const std::string& fs) {
  core_event_selector out;
  std::istringstream parts(fs);
  std::string term;
  while (std::getline(parts, term, ',')) {
    if (term.empty()) continue;
    auto eq = term.find('=');
    if (eq == std::string::npos)
      return make_error(reason::bad_request,
                        "fieldSelector terms are FIELD=VALUE, got \"" + term.substr(0, 64) + "\"");
    auto field = term.substr(0, eq);
    auto value = term.substr(eq + 1);
    if (!value.empty() && value.front() == '=') value.erase(0, 1);  // FIELD==VALUE
    if (field != "involvedObject.name" && field != "involvedObject.kind" &&
        field != "involvedObject.uid" && field != "involvedObject.namespace" &&
        field != "metadata.name")
      return make_error(reason::bad_request,
                        "fieldSelector \"" + field.substr(0, 64) + "\" is not supported on events");
    out[field] = value;
  }
  return out;
}

json::value core_event(const json::value& e) {
  auto ts = specs::string_at(e, "spec.lastTimestamp");
  return {{"apiVersion", "v1"},
          {"kind", "Event"},
          {"metadata",
           {{"name", specs::string_at(e, "metadata.name")},
            {"namespace", "default"},
            {"uid", specs::string_at(e, "metadata.uid")},
            {"resourceVersion", specs::string_at(e, "metadata.resourceVersion")},
            {"creationTimestamp", specs::string_at(e, "metadata.creationTimestamp")}}},
          {"involvedObject",
           {{"apiVersion", specs::api_version},
            {"kind", specs::string_at(e, "spec.involvedObject.kind")},
            {"name", specs::string_at(e, "spec.involvedObject.name")},
            {"uid", specs::string_at(e, "spec.involvedObject.uid")}}},
          {"reason", specs::string_at(e, "spec.reason")},
          {"message", specs::string_at(e, "spec.message")},
          {"type", specs::string_at(e, "spec.type")},
          {"count", specs::int_at(e, "spec.count").value_or(1)},
          {"firstTimestamp", specs::string_at(e, "spec.firstTimestamp")},
          {"lastTimestamp", ts},
          {"source", {{"component", "rockpoold"}}}};
}

bool core_event_selected(const json::value& e, const core_event_selector& sel) {
  for (const auto& [field, value] : sel) {
    if (field == "involvedObject.namespace") continue;  // Rockpool kinds are cluster-scoped
    // involvedObject.* of the core shape is spec.involvedObject.* of Rockpool's.
    auto path = field.rfind("involvedObject.", 0) == 0 ? "spec." + field : field;
    if (specs::string_at(e, path) != value) return false;
  }
  return true;
}

}  // namespace api

// /api and /api/v1: the core group's discovery, with events its one resource.
std::optional<http_response> api_handler::core_discovery(const std::string& path,
                                                         const std::vector<std::string>& s,
                                                         const std::string& accept) {
  if (path == "/api" && wants_aggregated_discovery(accept))
    return aggregated_discovery(true, accept);
  if (path == "/api")
    return json_response(200,
                         {{"kind", "APIVersions"},
                          {"versions", json::array{"v1"}},
                          {"serverAddressByClientCIDRs",
                           json::array{{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", ""}}}}});
  if (s.size() == 1 && s[0] == "v1")
    return json_response(200,
                         {{"kind", "APIResourceList"},
                          {"apiVersion", "v1"},
                          {"groupVersion", "v1"},
                          {"resources", json::array{{{"name", "events"},
                                                     {"singularName", "event"},
                                                     {"namespaced", true},
                                                     {"kind", "Event"},
                                                     {"shortNames", json::array{"ev"}},
                                                     {"verbs", json::array{"get", "list", "watch"}}}}}});
  return std::nullopt;
}

std::optional<http_response> api_handler::core_v1(const http_request& req) {
  auto path = req.target.substr(0, req.target.find('?'));
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path != "/api" && path != "/api/v1" && path.rfind("/api/v1/", 0) != 0) return std::nullopt;
  auto t = parse_target(req.target);
  std::vector<std::string> s(t.segments);  // "api" is already stripped
  bool events = is_core_events_path(s);
  if (path != "/api" && s.empty()) return std::nullopt;
  if (req.method != "GET")
    return status_response(
        make_error(reason::method_not_allowed, req.method + " is not supported on core v1 events"));
  if (auto d = core_discovery(path, s, req.accept)) return d;
  if (!events)
    return status_response(
        make_error(reason::not_found, "the server could not find the requested resource " + path));
  auto sel = core_event_fields(query(t, "fieldSelector"));
  if (!sel.ok()) return status_response(sel.err());
  auto o = parse_list_options(t);
  if (!o.ok()) return status_response(o.err());
  auto read = read_list("Event", *o);
  if (auto* r = std::get_if<http_response>(&read)) return std::move(*r);
  auto* l = &std::get<specs::list_outcome>(read);
  std::vector<json::value> rockpool, core;
  for (auto& e : l->items)
    if (core_event_selected(e, *sel)) {
      core.push_back(core_event(e));
      rockpool.push_back(std::move(e));
    }
  auto rv = std::to_string(l->revision);
  // kubectl get events: the columns rpctl prints, the rows in core v1's shape.
  json::value body;
  if (wants_table(req)) {
    body = table_of(*specs::find_kind("Event"), rockpool, t, rv, true, &core);
  } else {
    json::array items(core.begin(), core.end());
    body = {{"apiVersion", "v1"},
            {"kind", "EventList"},
            {"metadata", {{"resourceVersion", rv}}},
            {"items", std::move(items)}};
  }
  set_continue(body, l->revision, l->continue_after);
  return json_response(200, body);
}

}  // namespace rockpool::controller
