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

json::value caddy_route(const std::string& id, const std::string& prefix,
                        const std::string& upstream,
                        json::value transport = reverse_proxy_transport()) {
  std::string strip =
      prefix.size() > 1 && prefix.back() == '/' ? prefix.substr(0, prefix.size() - 1) : prefix;
  return json::object{{"@id", id},
                      {"match", json::array{{{"path", json::array{json::string(prefix + "*")}}}}},
                      {"handle", json::array{{{"handler", "rewrite"}, {"strip_path_prefix", strip}},
                                             {{"handler", "reverse_proxy"},
                                              {"upstreams", json::array{{{"dial", upstream}}}},
                                              {"transport", std::move(transport)},
                                              {"load_balancing", reverse_proxy_retries()}}}}};
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
  for (const auto* r : ordered)
    ws_routes.push_back(caddy_route(r->id, r->path_prefix, r->upstream));
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
  auto res = http("GET", "http://" + dial_address(options_.workspace_listen) + path, {}, 3000);
  if (!res.ok())
    return make_error(reason::unavailable, "Caddy workspace server: " + res.err().message);
  return res->status != 502 && res->status != 503 && res->status != 504 && res->status != 0;
}

}  // namespace rockpool::runtime
