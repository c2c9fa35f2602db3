#pragma once

#include "rockpool/runtime/routes.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace rockpool::runtime {

/// Sent by the controller's own probes through the workspace server: the
/// gateway lets them through without counting them as the workspace's
/// activity or waking it (a client that sends it only goes uncounted).
inline constexpr const char* probe_header = "X-Rockpool-Probe";

struct caddy_options {
  std::string admin = "127.0.0.1:2019";             // Caddy admin API
  std::string control_listen = "127.0.0.1:8080";    // /api/* and /app/* -> rockpoold
  std::string workspace_listen = "127.0.0.1:8081";  // /workspace/...
  std::string control_upstream;       // rockpoold's loopback TCP address; empty: no control routes
  bool control_upstream_tls = false;  // rockpoold serves HTTPS there
  std::string control_upstream_ca;    // PEM CA Caddy trusts for it; empty: the system's
  /// rockpoold's sign-in gateway (loopback, plain HTTP): Caddy asks it
  /// (forward_auth) before any /workspace/... request, and sends /.rockpool/*
  /// on the workspace server to it. Empty: workspaces are served without
  /// sign-in (--workspace-signin=false).
  std::string gateway;
  /// The standby gate (`rockpoold gate`, loopback): a second process that
  /// checks the same session cookies while rockpoold is down (a restart, an
  /// upgrade), so signed-in browsers keep reaching their workspaces. Caddy
  /// asks the gateway first and the standby when the gateway does not
  /// answer. Empty: requests wait up to 15 s for the gateway.
  std::string gateway_standby;
  /// The name of the gateway's session cookie: Caddy removes it from requests
  /// before they reach a workspace, so no workspace sees the session.
  std::string session_cookie;
  /// Sent with answers() probes so they pass the sign-in check (a Cookie header value).
  std::function<std::string()> probe_cookie;
  std::chrono::milliseconds batch_window{50};   // changes within it go in one request
  std::chrono::milliseconds drift_check{2000};  // how often the live config is compared
  /// How long routes found in Caddy at start-up stay without their object's
  /// reconciler claiming them (routes_of_http_app, spawn_route_table).
  std::chrono::milliseconds inherit_grace{300000};
};

/// Caddy's whole HTTP app for these routes, as JSON: the control-plane server
/// (/api/ and /app/ to control_upstream) and the workspace server (one route
/// per entry, @id = route id, longer prefixes first so port routes win over
/// IDE routes, the prefix stripped and sent as X-Forwarded-Prefix; with a
/// gateway, each route asks it first (an open one marked X-Rockpool-Public:
/// no sign-in, but counted and woken), /.rockpool/* goes to it and the
/// session cookie is removed before a workspace sees the request;
/// /workspace/NAME redirects to /workspace/NAME/). Anything else is a 404 on
/// both servers.
std::string render_http_app(const caddy_options& options,
                            const std::map<std::string, route>& routes);

/// The workspace routes in an HTTP app that render_http_app made (a running
/// Caddy's, read at start-up): so that a restarted rockpoold keeps them in
/// place until its reconcilers have claimed them. Anything unparsable is
/// left out.
std::vector<route> routes_of_http_app(const std::string& http_app);

/// What the route table needs from Caddy. Every call blocks.
class caddy_admin {
 public:
  virtual ~caddy_admin() = default;
  /// Replaces the whole HTTP app (one `POST /load`).
  [[nodiscard]] virtual specs::status load(const std::string& http_app) = 0;
  /// The HTTP app Caddy runs now (`GET /config/apps/http`); "null" when it has none.
  [[nodiscard]] virtual specs::result<std::string> live_http_app() = 0;
  /// True iff GET path through the workspace server gets an answer that is
  /// not a proxy error (502/503/504).
  [[nodiscard]] virtual specs::result<bool> answers(const std::string& path) = 0;
  /// GET path through the workspace server, signed in: what answered.
  [[nodiscard]] virtual specs::result<probe_answer> get(const std::string& path) = 0;
  /// Requests in flight by upstream address (`GET /reverse_proxy/upstreams`).
  [[nodiscard]] virtual specs::result<std::map<std::string, int>> in_flight() {
    return std::map<std::string, int>{};
  }
};

/// caddy_admin over HTTP (libcurl) to the admin API and the workspace server.
/// Thread safety: thread-safe.
class caddy_admin_http final : public caddy_admin {
 public:
  explicit caddy_admin_http(caddy_options options);
  specs::status load(const std::string& http_app) override;
  specs::result<std::string> live_http_app() override;
  specs::result<bool> answers(const std::string& path) override;
  specs::result<probe_answer> get(const std::string& path) override;
  specs::result<std::map<std::string, int>> in_flight() override;

 private:
  caddy_options options_;
};

}  // namespace rockpool::runtime
