#include "rockpool/runtime/inner.hpp"

#include "rockpool/runtime/http.hpp"
#include "rockpool/specs/json.hpp"

namespace rockpool::runtime {

using specs::string_at;

inner_probe_http::inner_probe_http(const std::string& workspace_listen)
    : base_("http://" + dial_address(workspace_listen)) {}

namespace {

// How many items of a list are Ready (status.conditions[Ready] True).
long count_ready(const specs::json::value& list) {
  long n = 0;
  const auto* items = specs::find_path(list, "items");
  if (items == nullptr || !items->is_array()) return 0;
  for (const auto& it : items->get_array()) {
    const auto* conds = specs::find_path(it, "status.conditions");
    if (conds == nullptr || !conds->is_array()) continue;
    for (const auto& c : conds->get_array())
      if (string_at(c, "type") == "Ready" && string_at(c, "status") == "True") ++n;
  }
  return n;
}

}  // namespace

inner_health inner_probe_http::look(const std::string& api_path, const std::string& token) {
  inner_health h;
  // One session per look: looks are seconds apart and run on any worker.
  http_session session;
  auto get = [&](const std::string& path, bool auth) {
    http_call c;
    c.url = base_ + api_path + path;
    c.connect_timeout_ms = 2000;
    c.timeout_ms = 5000;
    if (auth && !token.empty()) c.headers.push_back("Authorization: Bearer " + token);
    return session.perform(c);
  };
  auto ready = get("/readyz", false);
  if (!ready.ok()) {
    h.message =
        "the inner control plane does not answer through the outer route: " + ready.err().message;
    return h;
  }
  if (ready->status != 200) {
    h.message = "the inner control plane answers HTTP " + std::to_string(ready->status) +
                " on /readyz: " + ready->body.substr(0, 200);
    return h;
  }
  h.ready = true;
  h.message = "the inner control plane answers through the outer route";
  if (auto v = get("/version", true); v.ok() && v->status == 200)
    if (auto doc = specs::parse_json(v->body); doc.ok()) {
      h.version = string_at(*doc, "gitVersion");
      h.role = string_at(*doc, "role");
    }
  if (token.empty()) return h;
  for (auto [path, all, ready_count] :
       {std::tuple{"/apis/rockpool.dev/v1alpha1/workspaces", &h.workspaces, &h.ready_workspaces},
        std::tuple{"/apis/rockpool.dev/v1alpha1/portroutes", &h.port_routes,
                   static_cast<std::optional<long>*>(nullptr)}}) {
    auto r = get(path, true);
    if (!r.ok() || r->status != 200) continue;
    auto doc = specs::parse_json(r->body);
    if (!doc.ok()) continue;
    const auto* items = specs::find_path(*doc, "items");
    *all = items && items->is_array() ? static_cast<long>(items->get_array().size()) : 0;
    if (ready_count) *ready_count = count_ready(*doc);
  }
  return h;
}

inner_health fake_inner_probe::look(const std::string&, const std::string& token) {
  inner_health h;
  h.ready = true;
  h.message = "the inner control plane answers (fake runtime)";
  h.version = "fake";
  h.role = "inner";
  if (!token.empty()) h.workspaces = h.ready_workspaces = h.port_routes = 0;
  return h;
}

}  // namespace rockpool::runtime
