// Routing: probes and discovery, then /apis/rockpool.dev/v1alpha1/PLURAL
// [/NAME[/status]] to the verb handlers (one file each).
#include "api/api.hpp"

namespace rockpool::controller {

using namespace api;

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
  return query_bool(t, "watch") &&
         ((t.segments.size() == 4 && t.segments[0] == "apis") ||
          (req.target.rfind("/api/v1/", 0) == 0 && is_core_events_path(t.segments)));
}

bool api_handler::answers_at_once(const http_request& req) const {
  if (req.method != "GET" || req.target.find('?') != std::string::npos || !store_.reads_locally())
    return false;
  auto t = parse_target(req.target);
  const auto& s = t.segments;
  if (s.size() == 1) return s[0] == "healthz" || s[0] == "livez" || s[0] == "readyz";
  return (s.size() == 5 || (s.size() == 6 && s[5] == "status")) && s[0] == "apis" &&
         s[1] == specs::api_group;
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
  if (!s.empty() && s[0] == "app") return ui(req, s);
  auto not_found = [&] {
    return status_response(
        make_error(reason::not_found, "the server could not find the requested resource " +
                                          req.target.substr(0, req.target.find('?'))));
  };
  if (!s.empty() && s[0] == "openapi" && req.method == "GET") return openapi(s);
  if (auto r = core_v1(req)) return *r;
  if (s.size() == 1 && req.method == "GET") {
    if (s[0] == "apis")
      return wants_aggregated_discovery(req.accept) ? aggregated_discovery(false, req.accept)
                                                    : api_groups();
    if (auto r = probe(s[0])) return *r;
  }
  if (s.size() == 2 && s[0] == "apis" && req.method == "GET") return api_group(s[1]);
  if (s.size() == 3 && s[0] == "debug" && s[1] == "flags" && s[2] == "v") return log_level(req);
  if (is_crd_path(s)) return crds(req, t);
  if (s.size() == 3 && s[0] == "apis" && is_builtin_group_version(s[1], s[2]) &&
      req.method == "GET")
    return builtin_group_version(s[1]);
  if (s.size() == 4 && s[0] == "apis" && s[1] == authorization_group && s[2] == "v1")
    return access_review(req, s[3]);
  if (s.size() < 3 || s[0] != "apis" || s[1] != specs::api_group || s[2] != "v1alpha1")
    return not_found();
  if (s.size() == 3) return group_version(req);
  const auto* k = specs::find_kind(s[3]);
  if (k == nullptr || k->plural != s[3] || s.size() > 6) return not_found();
  if (s.size() == 6 && s[5] != "status") {
    resource_call call{req, t, *k, s[4], false, {}};
    return subresource(call, s[5]);
  }
  auto write = write_request_of(t);
  if (!write.ok()) return status_response(write.err());
  resource_call call{
      req, t, *k, s.size() > 4 ? s[4] : std::string(), s.size() == 6, std::move(*write)};
  if (call.name.empty()) {
    if (req.method == "GET") return list(call);
    if (req.method == "POST") return create(call);
    return status_response(
        make_error(reason::method_not_allowed, req.method + " is not supported on a collection"));
  }
  if (req.method == "GET") return get(call);
  if (req.method == "PUT") return update(call);
  if (req.method == "PATCH") return patch(call);
  if (req.method == "DELETE") return remove(call);
  return status_response(make_error(reason::method_not_allowed, req.method + " is not supported"));
}

specs::result<specs::write_outcome> api_handler::timed_write(
    const resource_call& c, const std::function<specs::result<specs::write_outcome>()>& write) {
  auto start = steady::now();
  auto r = write();
  if (!c.write.dry_run)
    metrics_.observe_store_write(std::chrono::duration<double>(steady::now() - start).count());
  return r;
}

}  // namespace rockpool::controller
