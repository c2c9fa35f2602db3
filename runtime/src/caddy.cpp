#include "rockpool/runtime/caddy.hpp"

#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>
#include "rockpool/runtime/http.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

namespace rockpool::runtime {

namespace json = boost::json;
using specs::make_error;
using specs::reason;

namespace {

struct http_result {
  long status = 0;
  std::string body;
};

specs::result<http_result> http(const std::string& method, const std::string& url,
                                const std::string& body, long timeout_ms) {
  http_call c;
  c.method = method;
  c.url = url;
  c.headers.push_back("Content-Type: application/json");
  c.body = body;
  c.send_body = method != "GET";
  c.timeout_ms = timeout_ms;
  auto r = http_perform(c);
  if (!r.ok()) return r.err();
  return http_result{r->status, std::move(r->body)};
}

// Upstreams are on this host (loopback or the bridge): a dial that has not
// connected in 100 ms has lost its SYN (a just-started instance drops it until
// DHCP has configured its address, and TCP would wait a full second to
// resend). Caddy then dials again every 20 ms for up to 5 s, so the first
// request to a starting workspace waits for the instance, not for TCP's
// retransmit timer.
json::value reverse_proxy_transport() {
  return {{"protocol", "http"}, {"dial_timeout", "100ms"}};
}
json::value reverse_proxy_retries() {
  return {{"try_duration", "5s"}, {"try_interval", "20ms"}};
}

json::value reverse_proxy(const std::string& upstream, json::value transport) {
  return {{"handler", "reverse_proxy"},
          {"upstreams", json::array{{{"dial", upstream}}}},
          {"transport", std::move(transport)},
          {"load_balancing", reverse_proxy_retries()}};
}

json::value strip_prefix(const std::string& prefix) {
  return {{"handler", "rewrite"}, {"strip_path_prefix", prefix}};
}

std::string without_slash(const std::string& prefix) {
  return prefix.size() > 1 && prefix.back() == '/' ? prefix.substr(0, prefix.size() - 1) : prefix;
}

json::value caddy_route(const std::string& id, const std::string& prefix,
                        const std::string& upstream,
                        json::value transport = reverse_proxy_transport()) {
  return json::object{{"@id", id},
                      {"match", json::array{{{"path", json::array{json::string(prefix + "*")}}}}},
                      {"handle", json::array{strip_prefix(without_slash(prefix)),
                                             reverse_proxy(upstream, std::move(transport))}}};
}

// Caddy's forward_auth, spelled out: a GET of /.rockpool/auth with the
// request's headers (its cookies); a 2xx lets the request go on, anything
// else is the answer (the gateway's 401 page).
// X-Rockpool-Public tells the gateway that the route is public (no sign-in:
// it still counts the request as activity and wakes a sleeping workspace);
// set on every route, so a client's own header of that name never counts.
// While rockpoold restarts (an upgrade: stop, start), nothing answers on the
// gateway: Caddy dials again every 100 ms for up to 15 s, so requests wait
// for the new rockpoold instead of failing (docs/operations.md, Upgrade).
// With a standby gate, a gateway that refuses the connection is marked down
// for 3 s (passive health check) and the standby is asked instead, for as
// long as the outage lasts; the gateway is tried again after those 3 s.
json::value forward_auth(const caddy_options& o, bool open) {
  json::array upstreams{{{"dial", o.gateway}}};
  json::object balancing{{"try_duration", "15s"}, {"try_interval", "100ms"}};
  json::value handler = {{"handler", "reverse_proxy"}};
  if (!o.gateway_standby.empty()) {
    upstreams.push_back(json::object{{"dial", o.gateway_standby}});
    balancing["selection_policy"] = {{"policy", "first"}};
    handler.as_object()["health_checks"] = {{"passive", {{"fail_duration", "3s"}, {"max_fails", 1}}}};
  }
  auto& h = handler.as_object();
  h["upstreams"] = std::move(upstreams);
  h["transport"] = reverse_proxy_transport();
  h["load_balancing"] = std::move(balancing);
  h["rewrite"] = {{"method", "GET"}, {"uri", "/.rockpool/auth"}};
  h["headers"] = {{"request",
                   {{"set",
                     {{"X-Forwarded-Method", json::array{"{http.request.method}"}},
                      {"X-Forwarded-Uri", json::array{"{http.request.uri}"}},
                      {"X-Rockpool-Public", json::array{open ? "1" : "0"}}}}}}};
  h["handle_response"] = json::array{
      {{"match", {{"status_code", json::array{2}}}},
       {"routes", json::array{{{"handle", json::array{{{"handler", "headers"},
                                                        {"request", json::object{}}}}}}}}}};
  return handler;
}

// A workspace route: the gateway's check (sign-in unless the route is open;
// activity; a sleeping workspace woken), the prefix stripped and told to the
// upstream (an inner Rockpool sets its cookies and redirects under it), the
// session cookie removed, then the workspace.
json::value workspace_route(const caddy_options& o, const route& r) {
  json::array handle;
  if (!o.gateway.empty()) handle.push_back(forward_auth(o, r.open));
  auto prefix = without_slash(r.path_prefix);
  json::object request{{"set", {{"X-Forwarded-Prefix", json::array{json::string(prefix)}}}}};
  if (!o.session_cookie.empty())
    request["replace"] = {{"Cookie", json::array{{{"search_regexp", o.session_cookie + "=[^;]*(;\\s*)?"},
                                                  {"replace", ""}}}}};
  handle.push_back({{"handler", "headers"}, {"request", std::move(request)}});
  handle.push_back(strip_prefix(prefix));
  handle.push_back(reverse_proxy(r.upstream, reverse_proxy_transport()));
  return json::object{
      {"@id", r.id},
      {"match", json::array{{{"path", json::array{json::string(r.path_prefix + "*")}}}}},
      {"handle", std::move(handle)}};
}

}  // namespace

caddy_admin_http::caddy_admin_http(caddy_options options) : options_(std::move(options)) {}

std::string render_http_app(const caddy_options& options,
                            const std::map<std::string, route>& routes) {
  std::vector<const route*> ordered;
  for (const auto& [id, r] : routes) ordered.push_back(&r);
  std::stable_sort(ordered.begin(), ordered.end(), [](const route* a, const route* b) {
    return a->path_prefix.size() > b->path_prefix.size();  // port routes before IDE routes
  });
  json::array ws_routes;
  if (!options.gateway.empty())
    ws_routes.push_back({{"@id", "rockpool-gateway"},
                         {"match", json::array{{{"path", json::array{"/.rockpool/*"}}}}},
                         {"handle", json::array{reverse_proxy(options.gateway,
                                                              reverse_proxy_transport())}}});
  for (const auto* r : ordered) ws_routes.push_back(workspace_route(options, *r));
  // /workspace/NAME (no slash) is /workspace/NAME/: the IDE's relative URLs need it.
  json::object redirect{{"handler", "static_response"}, {"status_code", 308}};
  redirect["headers"] = {{"Location", json::array{"{http.request.uri.path}/"}}};
  json::object slash{{"@id", "rockpool-workspace-slash"}};
  slash["match"] = json::array{{{"path_regexp", {{"pattern", "^/workspace/[a-z0-9-]+$"}}}}};
  slash["handle"] = json::array{std::move(redirect)};
  ws_routes.push_back(std::move(slash));
  json::array control_routes;
  if (!options.control_upstream.empty()) {
    // rockpoold's HTTPS: its certificate names localhost, signed by its CA.
    auto transport = reverse_proxy_transport();
    if (options.control_upstream_tls) {
      json::object tls{{"server_name", "localhost"}};
      if (!options.control_upstream_ca.empty())
        tls["root_ca_pem_files"] = json::array{json::string(options.control_upstream_ca)};
      transport.as_object()["tls"] = std::move(tls);
    }
    control_routes.push_back(
        caddy_route("rockpool-control-api", "/api/", options.control_upstream, transport));
    auto app = caddy_route("rockpool-control-app", "/app/", options.control_upstream, transport);
    // The UI is served by rockpoold under /app/: keep the prefix.
    app.as_object()["handle"].as_array().erase(app.as_object()["handle"].as_array().begin());
    control_routes.push_back(std::move(app));
  }
  // Anything else is a 404 on both servers: workspace paths never answer on the
  // control-plane origin, and the control plane never on the workspace origin.
  json::value not_found = {{"@id", "rockpool-not-found"},
                           {"handle", json::array{{{"handler", "static_response"},
                                                   {"status_code", 404},
                                                   {"body", "not found\n"}}}}};
  ws_routes.push_back(not_found);
  not_found.as_object()["@id"] = "rockpool-control-not-found";
  control_routes.push_back(not_found);
  json::value http = {{"servers",
                       {{"rockpool-control",
                         {{"listen", json::array{json::string(options.control_listen)}},
                          {"routes", std::move(control_routes)},
                          {"automatic_https", {{"disable", true}}}}},
                        {"rockpool-workspaces",
                         {{"listen", json::array{json::string(options.workspace_listen)}},
                          {"routes", std::move(ws_routes)},
                          {"automatic_https", {{"disable", true}}}}}}}};
  return json::serialize(http);
}

std::vector<route> routes_of_http_app(const std::string& http_app) {
  std::vector<route> out;
  auto app = specs::parse_json(http_app);
  if (!app.ok()) return out;
  const auto* routes = specs::find_path(*app, "servers.rockpool-workspaces.routes");
  if (routes == nullptr || !routes->is_array()) return out;
  for (const auto& r : routes->as_array()) {
    route found;
    found.id = specs::string_at(r, "@id");
    if (!found.id.starts_with("rockpool-") || found.id == "rockpool-gateway" ||
        found.id == "rockpool-workspace-slash" || found.id == "rockpool-not-found")
      continue;
    const auto* match = specs::find_path(r, "match");
    const auto* handle = specs::find_path(r, "handle");
    if (match == nullptr || !match->is_array() || match->as_array().empty() ||
        handle == nullptr || !handle->is_array())
      continue;
    const auto* paths = specs::find_path(match->as_array()[0], "path");
    if (paths == nullptr || !paths->is_array() || paths->as_array().empty() ||
        !paths->as_array()[0].is_string())
      continue;
    found.path_prefix = std::string(paths->as_array()[0].as_string());
    if (!found.path_prefix.ends_with("*")) continue;
    found.path_prefix.pop_back();
    for (const auto& h : handle->as_array()) {
      if (specs::string_at(h, "rewrite.uri") == "/.rockpool/auth") {
        // forward_auth: X-Rockpool-Public says whether the route is open.
        const auto* pub = specs::find_path(h, "headers.request.set.X-Rockpool-Public");
        found.open = pub != nullptr && pub->is_array() && !pub->as_array().empty() &&
                     pub->as_array()[0] == "1";
      } else if (specs::string_at(h, "handler") == "reverse_proxy")
        if (const auto* up = specs::find_path(h, "upstreams");
            up != nullptr && up->is_array() && !up->as_array().empty())
          found.upstream = specs::string_at(up->as_array()[0], "dial");
    }
    if (!found.upstream.empty()) out.push_back(std::move(found));
  }
  return out;
}

specs::status caddy_admin_http::load(const std::string& http_app) {
  std::string config =
      R"({"admin":{"listen":")" + options_.admin + R"("},"apps":{"http":)" + http_app + "}}";
  auto r = http("POST", "http://" + options_.admin + "/load", config, 10000);
  if (r.ok() && r->status == 200) return specs::done{};
  return make_error(
      reason::unavailable,
      "Caddy admin API at " + options_.admin + ": " +
          (r.ok() ? "HTTP " + std::to_string(r->status) + " " + r->body : r.err().message));
}

specs::result<std::string> caddy_admin_http::live_http_app() {
  auto r = http("GET", "http://" + options_.admin + "/config/apps/http", {}, 3000);
  if (!r.ok()) return make_error(reason::unavailable, "Caddy admin API: " + r.err().message);
  if (r->status != 200)
    return make_error(reason::unavailable,
                      "Caddy admin API: HTTP " + std::to_string(r->status) + " " + r->body);
  return r->body;
}

specs::result<bool> caddy_admin_http::answers(const std::string& path) {
  auto r = get(path);
  if (!r.ok()) return r.err();
  return r->answered();
}

specs::result<probe_answer> caddy_admin_http::get(const std::string& path) {
  http_call c;
  c.url = "http://" + dial_address(options_.workspace_listen) + path;
  c.timeout_ms = 3000;
  if (options_.probe_cookie) c.headers.push_back("Cookie: " + options_.probe_cookie());
  // The controller looking is not activity, and wakes nothing.
  c.headers.push_back(std::string(probe_header) + ": 1");
  auto res = http_perform(c);
  if (!res.ok())
    return make_error(reason::unavailable, "Caddy workspace server: " + res.err().message);
  return probe_answer{res->status, res->body.substr(0, 1024)};
}

specs::result<std::map<std::string, int>> caddy_admin_http::in_flight() {
  auto r = http("GET", "http://" + options_.admin + "/reverse_proxy/upstreams", "", 3000);
  if (!r.ok()) return r.err();
  if (r->status != 200)
    return make_error(reason::unavailable,
                      "Caddy admin /reverse_proxy/upstreams: HTTP " + std::to_string(r->status));
  auto v = specs::parse_json(r->body);
  if (!v.ok() || !v->is_array())
    return make_error(reason::unavailable, "Caddy admin /reverse_proxy/upstreams: not a list");
  std::map<std::string, int> out;
  for (const auto& u : v->get_array()) {
    auto n = specs::int_at(u, "num_requests").value_or(0);
    if (n > 0) out[specs::string_at(u, "address")] += static_cast<int>(n);
  }
  return out;
}

}  // namespace rockpool::runtime
