// The Caddy config rockpoold writes: sign-in before every workspace route that
// is not public, the gateway's own route, the session cookie kept from
// workspaces, the slash redirect.
#include "rockpool/runtime/caddy.hpp"
#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

using namespace rockpool;
namespace json = boost::json;

namespace {

json::array workspace_routes(const runtime::caddy_options& o,
                             const std::map<std::string, runtime::route>& routes) {
  auto app = json::parse(runtime::render_http_app(o, routes));
  return app.at("servers").at("rockpool-workspaces").at("routes").as_array();
}

const json::object* route_with_id(const json::array& routes, const std::string& id) {
  for (const auto& r : routes)
    if (r.as_object().if_contains("@id") && r.at("@id").as_string() == id) return &r.as_object();
  return nullptr;
}

// The handlers of a route, by name, in order.
std::vector<std::string> handlers(const json::object& route) {
  std::vector<std::string> out;
  for (const auto& h : route.at("handle").as_array()) {
    std::string name(h.at("handler").as_string());
    if (name == "reverse_proxy" && h.as_object().contains("rewrite")) name = "forward_auth";
    out.push_back(name);
  }
  return out;
}

const std::map<std::string, runtime::route> demo_routes = {
    {"rockpool-ws-demo", {"rockpool-ws-demo", "/workspace/demo/", "10.77.0.5:8080", false}},
    {"rockpool-pr-demo-9000",
     {"rockpool-pr-demo-9000", "/workspace/demo/port/9000/", "10.77.0.5:9000", true}}};

TEST(caddy_config, with_a_gateway_every_route_asks_it_first_and_a_public_one_says_so) {
  runtime::caddy_options o;
  o.gateway = "127.0.0.1:40000";
  o.session_cookie = "rockpool_abc";
  auto routes = workspace_routes(o, demo_routes);
  const auto* ide = route_with_id(routes, "rockpool-ws-demo");
  ASSERT_NE(ide, nullptr);
  EXPECT_EQ(handlers(*ide), (std::vector<std::string>{"forward_auth", "headers", "rewrite",
                                                      "reverse_proxy"}));
  const auto& auth = ide->at("handle").as_array()[0];
  EXPECT_EQ(auth.at("upstreams").as_array()[0].at("dial").as_string(), "127.0.0.1:40000");
  EXPECT_EQ(auth.at("rewrite").at("uri").as_string(), "/.rockpool/auth");
  // A restarting rockpoold holds requests instead of failing them.
  EXPECT_EQ(auth.at("load_balancing").at("try_duration").as_string(), "15s");
  EXPECT_EQ(auth.at("upstreams").as_array().size(), 1u) << "no standby gate";
  EXPECT_FALSE(auth.as_object().contains("health_checks"));
  // The session cookie never reaches the workspace; the prefix is told to it.
  auto headers = json::serialize(ide->at("handle").as_array()[1]);
  EXPECT_NE(headers.find("rockpool_abc="), std::string::npos) << headers;
  EXPECT_NE(headers.find("X-Forwarded-Prefix"), std::string::npos);
  // Every route tells the gateway whether it is public, overriding any
  // header of that name the client sent.
  EXPECT_NE(json::serialize(auth).find(R"("X-Rockpool-Public":["0"])"), std::string::npos)
      << json::serialize(auth);
  const auto* open = route_with_id(routes, "rockpool-pr-demo-9000");
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(handlers(*open), (std::vector<std::string>{"forward_auth", "headers", "rewrite",
                                                       "reverse_proxy"}))
      << "a public route is still counted and woken by the gateway";
  const auto& open_auth = open->at("handle").as_array()[0];
  EXPECT_NE(json::serialize(open_auth).find(R"("X-Rockpool-Public":["1"])"), std::string::npos);
  // The gateway's pages are on the workspace origin, first.
  EXPECT_EQ(routes[0].at("@id").as_string(), "rockpool-gateway");
  EXPECT_NE(route_with_id(routes, "rockpool-workspace-slash"), nullptr);
}

// With a standby gate (decision 87) the gateway is asked first, and while it
// refuses connections (marked down by the passive check) the standby is.
TEST(caddy_config, a_standby_gate_is_the_second_upstream_of_every_sign_in_check) {
  runtime::caddy_options o;
  o.gateway = "127.0.0.1:40000";
  o.gateway_standby = "127.0.0.1:40001";
  auto routes = workspace_routes(o, demo_routes);
  for (const char* id : {"rockpool-ws-demo", "rockpool-pr-demo-9000"}) {
    const auto* r = route_with_id(routes, id);
    ASSERT_NE(r, nullptr);
    const auto& auth = r->at("handle").as_array()[0];
    const auto& ups = auth.at("upstreams").as_array();
    ASSERT_EQ(ups.size(), 2u) << id;
    EXPECT_EQ(ups[0].at("dial").as_string(), "127.0.0.1:40000");
    EXPECT_EQ(ups[1].at("dial").as_string(), "127.0.0.1:40001");
    EXPECT_EQ(auth.at("load_balancing").at("selection_policy").at("policy").as_string(), "first");
    EXPECT_EQ(auth.at("health_checks").at("passive").at("max_fails").as_int64(), 1);
  }
  // The gateway's own pages (sign-in) need rockpoold: no standby there.
  const auto* pages = route_with_id(routes, "rockpool-gateway");
  ASSERT_NE(pages, nullptr);
  EXPECT_EQ(pages->at("handle").as_array()[0].at("upstreams").as_array().size(), 1u);
}

TEST(caddy_config, without_a_gateway_no_route_asks_for_sign_in) {
  runtime::caddy_options o;
  auto routes = workspace_routes(o, demo_routes);
  EXPECT_EQ(route_with_id(routes, "rockpool-gateway"), nullptr);
  for (const auto& r : routes)
    for (const auto& h : handlers(r.as_object())) EXPECT_NE(h, "forward_auth");
}

}  // namespace
