// Kubernetes API conformance of the handler (issue 24): query parameters
// parsed and checked as the apiserver does, paged lists consistent at one
// revision, the streaming list's initial-events bookmark, delete options.
#include "rockpool/controller/api_handler.hpp"
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/specs/memory_backend.hpp"
#include "collected_watch.hpp"
#include "test_support.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <set>

using namespace rockpool;
using controller::http_request;

namespace {

const std::string ws_path = "/apis/rockpool.dev/v1alpha1/workspaces";

class api_conformance : public ::testing::Test {
 protected:
  controller::http_response call(const std::string& method, const std::string& target,
                                 const std::string& body = "",
                                 const std::string& type = "application/json") {
    return handler_.handle(http_request{method, target, type, body});
  }
  static specs::json::value body_of(const controller::http_response& r) {
    auto v = specs::parse_json(r.body);
    return v.ok() ? *v : specs::json::value{};
  }
  void create(const std::string& name, const std::string& labels = "{}") {
    auto r = call("POST", ws_path,
                  R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":")" +
                      name + R"(","labels":)" + labels + R"(},"spec":{"image":"tiny"}})");
    ASSERT_EQ(r.status, 201) << r.body;
  }
  // Every name a paged list yields, following continue tokens.
  std::vector<std::string> page_through(const std::string& query, int* pages = nullptr) {
    std::vector<std::string> names;
    std::string next;
    int n = 0;
    do {
      auto r = call("GET", ws_path + "?" + query + (next.empty() ? "" : "&continue=" + next));
      EXPECT_EQ(r.status, 200) << r.body;
      auto v = body_of(r);
      for (const auto& item : v.at("items").as_array())
        names.push_back(specs::string_at(item, "metadata.name"));
      next = specs::string_at(v, "metadata.continue");
      ++n;
    } while (!next.empty() && n < 1000);
    if (pages) *pages = n;
    return names;
  }

  std::unique_ptr<specs::kv_backend> backend_ = specs::make_memory_backend();
  test_support::fake_clock clock_;
  specs::object_store store_{*backend_, clock_, {}, &actors::kind_rules()};
  controller::metrics metrics_;
  controller::api_handler handler_{store_, metrics_, [] {
    controller::api_options o;
    o.resource_version_wait = std::chrono::milliseconds(0);  // no real waiting in unit tests
    return o;
  }()};
};

}  // namespace

TEST_F(api_conformance, booleans_are_read_as_the_apiserver_reads_them) {
  for (const auto* yes : {"true", "True", "TRUE", "1", "t", "yes", ""})
    EXPECT_TRUE(handler_.is_watch({"GET", ws_path + "?watch=" + yes, "", ""})) << yes;
  for (const auto* no : {"false", "False", "FALSE", "0"})
    EXPECT_FALSE(handler_.is_watch({"GET", ws_path + "?watch=" + std::string(no), "", ""})) << no;
  EXPECT_FALSE(handler_.is_watch({"GET", ws_path, "", ""}));
}

TEST_F(api_conformance, list_parameters_that_are_malformed_or_contradictory_are_refused) {
  auto status = [&](const std::string& q) { return call("GET", ws_path + "?" + q).status; };
  EXPECT_EQ(status("limit=-1"), 400);
  EXPECT_EQ(status("limit=ten"), 400);
  EXPECT_EQ(status("timeoutSeconds=soon"), 400);
  EXPECT_EQ(status("resourceVersion=abc"), 400);
  EXPECT_EQ(status("continue=not-a-token"), 400);
  EXPECT_EQ(status("resourceVersionMatch=Newest&resourceVersion=1"), 422);
  EXPECT_EQ(status("resourceVersionMatch=NotOlderThan"), 422) << "needs a resourceVersion";
  EXPECT_EQ(status("resourceVersionMatch=Exact&resourceVersion=0"), 422);
  EXPECT_EQ(status("sendInitialEvents=true"), 422) << "for watches only";
  auto r = call("GET", ws_path + "?resourceVersionMatch=NotOlderThan");
  auto v = body_of(r);
  EXPECT_EQ(specs::string_at(v, "reason"), "Invalid");
  EXPECT_NE(specs::string_at(v, "message").find("resourceVersionMatch is forbidden unless "
                                                "resourceVersion is provided"),
            std::string::npos)
      << r.body;
  // A watch's own rules.
  auto watch = [&](const std::string& q) {
    auto client = std::make_shared<test_support::collected>();
    auto refused = handler_.watch({"GET", ws_path + "?watch=true&" + q, "", ""}, client);
    return refused ? refused->status : 200;
  };
  EXPECT_EQ(watch("resourceVersionMatch=NotOlderThan&resourceVersion=1"), 422)
      << "forbidden for watch unless sendInitialEvents is provided";
  EXPECT_EQ(watch("sendInitialEvents=true&allowWatchBookmarks=true"), 422)
      << "needs resourceVersionMatch=NotOlderThan";
  EXPECT_EQ(watch("sendInitialEvents=true&resourceVersionMatch=NotOlderThan"), 422)
      << "needs allowWatchBookmarks";
}

TEST_F(api_conformance, paged_lists_yield_every_object_once_at_the_first_pages_revision) {
  for (int i = 0; i < 25; ++i) create("ws-" + std::to_string(100 + i));
  auto first = call("GET", ws_path + "?limit=10");
  auto v = body_of(first);
  ASSERT_EQ(v.at("items").as_array().size(), 10u);
  auto revision = specs::string_at(v, "metadata.resourceVersion");
  auto token = specs::string_at(v, "metadata.continue");
  ASSERT_FALSE(token.empty());
  // Changes after the first page: the next pages still show the first
  // page's revision (no new object, the deleted one still there).
  create("ws-999");
  ASSERT_EQ(call("DELETE", ws_path + "/ws-120").status, 200);
  std::vector<std::string> names;
  for (const auto& item : v.at("items").as_array())
    names.push_back(specs::string_at(item, "metadata.name"));
  std::string next = token;
  while (!next.empty()) {
    auto page = body_of(call("GET", ws_path + "?limit=10&continue=" + next));
    EXPECT_EQ(specs::string_at(page, "metadata.resourceVersion"), revision);
    for (const auto& item : page.at("items").as_array())
      names.push_back(specs::string_at(item, "metadata.name"));
    next = specs::string_at(page, "metadata.continue");
  }
  ASSERT_EQ(names.size(), 25u);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 25u) << "each once";
  EXPECT_EQ(names.front(), "ws-100");
  EXPECT_EQ(names.back(), "ws-124");
  EXPECT_EQ(std::count(names.begin(), names.end(), "ws-999"), 0);
  // A fresh list sees the changes.
  auto fresh = page_through("limit=7");
  EXPECT_EQ(fresh.size(), 25u);
  EXPECT_EQ(std::count(fresh.begin(), fresh.end(), "ws-120"), 0);
}

TEST_F(api_conformance, a_paged_list_with_a_selector_fills_its_pages_and_ends_without_a_token) {
  for (int i = 0; i < 30; ++i)
    create("s-" + std::to_string(100 + i), i % 3 == 0 ? R"({"tier":"web"})" : "{}");
  int pages = 0;
  auto web = page_through("limit=4&labelSelector=tier%3Dweb", &pages);
  EXPECT_EQ(web.size(), 10u);
  EXPECT_LE(pages, 3);
  auto all = page_through("limit=30", &pages);
  EXPECT_EQ(all.size(), 30u);
  EXPECT_EQ(pages, 1) << "a page that holds the rest has no continue token";
  EXPECT_EQ(page_through("").size(), 30u) << "no limit: everything at once";
}

TEST_F(api_conformance, an_expired_continue_token_gets_410_expired_with_a_token_to_go_on) {
  for (int i = 0; i < 6; ++i) create("e-" + std::to_string(i));
  auto token = specs::string_at(body_of(call("GET", ws_path + "?limit=2")), "metadata.continue");
  ASSERT_FALSE(token.empty());
  // Other paged lists at later revisions push the pinned view out.
  for (std::size_t i = 0; i <= specs::max_pinned_views; ++i) {
    create("x-" + std::to_string(i));
    ASSERT_EQ(call("GET", ws_path + "?limit=1").status, 200);
  }
  auto r = call("GET", ws_path + "?limit=2&continue=" + token);
  EXPECT_EQ(r.status, 410);
  auto v = body_of(r);
  EXPECT_EQ(specs::string_at(v, "reason"), "Expired");
  auto inconsistent = specs::string_at(v, "metadata.continue");
  ASSERT_FALSE(inconsistent.empty());
  auto rest = body_of(call("GET", ws_path + "?limit=100&continue=" + inconsistent));
  EXPECT_EQ(specs::string_at(rest.at("items").as_array().front(), "metadata.name"), "e-2")
      << "goes on after the last object of the expired page, at the latest revision";
}

TEST_F(api_conformance, list_resource_versions_not_older_than_exact_and_too_large) {
  create("a");
  auto rv = std::to_string(store_.revision());
  EXPECT_EQ(call("GET", ws_path + "?resourceVersion=" + rv).status, 200);
  EXPECT_EQ(call("GET", ws_path + "?resourceVersion=1&resourceVersionMatch=NotOlderThan").status,
            200);
  EXPECT_EQ(call("GET", ws_path + "?resourceVersion=" + rv + "&resourceVersionMatch=Exact").status,
            200);
  create("b");
  auto old = call("GET", ws_path + "?resourceVersion=" + rv + "&resourceVersionMatch=Exact");
  EXPECT_EQ(old.status, 410) << "no past states are kept";
  EXPECT_NE(old.body.find("keeps no past states"), std::string::npos) << old.body;
  auto future = call("GET", ws_path + "?resourceVersion=" + std::to_string(store_.revision() + 5));
  EXPECT_EQ(future.status, 504);
  EXPECT_EQ(specs::string_at(body_of(future), "reason"), "Timeout");
}

TEST_F(api_conformance, a_streaming_list_sends_the_state_then_the_initial_events_end_bookmark) {
  create("one");
  create("two");
  auto client = std::make_shared<test_support::collected>();
  ASSERT_FALSE(handler_.watch({"GET",
                               ws_path + "?watch=1&sendInitialEvents=true&allowWatchBookmarks=true"
                                         "&resourceVersionMatch=NotOlderThan&resourceVersion=0"
                                         "&timeoutSeconds=1",
                               "", ""},
                              client));
  ASSERT_TRUE(client->wait_for("initial-events-end"));
  auto data = client->data();
  auto first_bookmark = data.find("BOOKMARK");
  EXPECT_LT(data.find("\"one\""), first_bookmark);
  EXPECT_LT(data.find("\"two\""), first_bookmark);
  EXPECT_NE(data.find(R"("k8s.io/initial-events-end":"true")"), std::string::npos) << data;
  EXPECT_NE(data.find(R"("resourceVersion":")" + std::to_string(store_.revision()) + "\""),
            std::string::npos);
  // sendInitialEvents=false: only what changes after.
  auto changes = std::make_shared<test_support::collected>();
  ASSERT_FALSE(handler_.watch(
      {"GET", ws_path + "?watch=true&sendInitialEvents=false&allowWatchBookmarks=true"
                        "&resourceVersionMatch=NotOlderThan&timeoutSeconds=2", "", ""},
      changes));
  create("three");
  ASSERT_TRUE(changes->wait_for("\"three\""));
  EXPECT_EQ(changes->data().find("\"one\""), std::string::npos) << changes->data();
}

TEST_F(api_conformance, write_options_are_checked_and_delete_propagation_is_background_only) {
  auto obj = R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"w"},)"
             R"("spec":{"image":"tiny"}})";
  EXPECT_EQ(call("POST", ws_path + "?dryRun=Yes", obj).status, 422);
  EXPECT_EQ(call("POST", ws_path + "?fieldManager=" + std::string(129, 'm'), obj).status, 422);
  EXPECT_EQ(call("POST", ws_path + "?fieldManager=a%01b", obj).status, 422);
  ASSERT_EQ(call("POST", ws_path + "?fieldManager=" + std::string(128, 'm'), obj).status, 201);
  EXPECT_EQ(call("PATCH", ws_path + "/w?force=true", R"({"spec":{"state":"Stopped"}})",
                 "application/merge-patch+json")
                .status,
            422)
      << "force is for apply patches only";
  EXPECT_EQ(call("DELETE", ws_path + "/w?propagationPolicy=Orphan").status, 422);
  auto fg = call("DELETE", ws_path + "/w", R"({"propagationPolicy":"Foreground"})");
  EXPECT_EQ(fg.status, 422);
  EXPECT_NE(fg.body.find("in the background only"), std::string::npos) << fg.body;
  EXPECT_EQ(call("DELETE", ws_path + "/w", R"({"orphanDependents":true})").status, 422);
  EXPECT_EQ(call("DELETE", ws_path + "/w?propagationPolicy=Sideways").status, 422);
  EXPECT_EQ(call("GET", ws_path + "/w").status, 200) << "refused deletes delete nothing";
  EXPECT_EQ(call("DELETE", ws_path + "/w", R"({"propagationPolicy":"Background"})").status, 200);
}

TEST_F(api_conformance, discovery_serves_groups_with_preferred_versions_and_full_resources) {
  auto groups = body_of(call("GET", "/apis"));
  ASSERT_EQ(groups.at("groups").as_array().size(), 3u)
      << "rockpool.dev, apiextensions.k8s.io, authorization.k8s.io";
  for (const auto& g : groups.at("groups").as_array())
    EXPECT_FALSE(specs::string_at(g, "preferredVersion.groupVersion").empty())
        << boost::json::serialize(g);
  auto group = body_of(call("GET", "/apis/rockpool.dev"));
  EXPECT_EQ(specs::string_at(group, "kind"), "APIGroup");
  EXPECT_EQ(specs::string_at(group, "preferredVersion.groupVersion"), "rockpool.dev/v1alpha1");
  EXPECT_EQ(call("GET", "/apis/nope.example").status, 404);
  auto list = body_of(call("GET", "/apis/rockpool.dev/v1alpha1"));
  std::map<std::string, specs::json::value> by_name;
  for (const auto& r : list.at("resources").as_array())
    by_name[specs::string_at(r, "name")] = r;
  ASSERT_TRUE(by_name.count("workspaces"));
  const auto& ws = by_name["workspaces"];
  EXPECT_EQ(specs::string_at(ws, "singularName"), "workspace");
  EXPECT_EQ(specs::string_at(ws, "kind"), "Workspace");
  EXPECT_FALSE(specs::find_path(ws, "namespaced")->as_bool());
  EXPECT_EQ(boost::json::serialize(*specs::find_path(ws, "categories")), R"(["rockpool"])");
  EXPECT_EQ(specs::string_at(ws, "storageVersionHash").size(), 12u) << "8 bytes in base64";
  ASSERT_TRUE(by_name.count("workspaces/status"));
  EXPECT_EQ(boost::json::serialize(*specs::find_path(by_name["workspaces/status"], "verbs")),
            R"(["get","patch","update"])");
  EXPECT_TRUE(by_name.count("nestedhosts/status"));
}

TEST_F(api_conformance, aggregated_discovery_is_served_to_clients_that_ask_for_it) {
  http_request req{"GET", "/apis", "", ""};
  req.accept =
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
      "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
  auto r = handler_.handle(req);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
  auto v = body_of(r);
  EXPECT_EQ(specs::string_at(v, "kind"), "APIGroupDiscoveryList");
  const auto& items = v.at("items").as_array();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(specs::string_at(items[0], "metadata.name"), "rockpool.dev");
  const auto& version = items[0].at("versions").as_array().at(0);
  EXPECT_EQ(specs::string_at(version, "freshness"), "Current");
  bool found = false;
  for (const auto& res : version.at("resources").as_array())
    if (specs::string_at(res, "resource") == "workspaces") {
      found = true;
      EXPECT_EQ(specs::string_at(res, "scope"), "Cluster");
      EXPECT_EQ(specs::string_at(res, "responseKind.kind"), "Workspace");
      EXPECT_EQ(specs::string_at(res.at("subresources").as_array().at(0), "subresource"), "status");
    }
  EXPECT_TRUE(found);
  req.target = "/api";
  auto core = handler_.handle(req);
  EXPECT_EQ(core.content_type, r.content_type);
  EXPECT_EQ(specs::string_at(body_of(core).at("items").as_array().at(0), "metadata.name"), "");
  req.accept = "application/json";
  EXPECT_EQ(specs::string_at(body_of(handler_.handle(req)), "kind"), "APIVersions");
}

TEST_F(api_conformance, version_carries_every_version_info_field) {
  auto v = body_of(call("GET", "/version"));
  for (const auto* f : {"major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate",
                        "goVersion", "compiler", "platform"})
    EXPECT_TRUE(specs::find_path(v, f) && specs::find_path(v, f)->is_string()) << f;
  EXPECT_EQ(specs::string_at(v, "gitVersion").front(), 'v');
  EXPECT_EQ(specs::string_at(v, "buildDate").size(), 20u) << specs::string_at(v, "buildDate");
}

TEST_F(api_conformance, crds_are_served_read_only_and_established) {
  const std::string crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
  auto list = body_of(call("GET", crds));
  EXPECT_EQ(specs::string_at(list, "kind"), "CustomResourceDefinitionList");
  EXPECT_EQ(list.at("items").as_array().size(), specs::kinds().size());
  auto ws = body_of(call("GET", crds + "/workspaces.rockpool.dev"));
  EXPECT_EQ(specs::string_at(ws, "spec.names.kind"), "Workspace");
  const auto& established = specs::find_path(ws, "status.conditions")->as_array().at(1);
  EXPECT_EQ(specs::string_at(established, "type"), "Established");
  EXPECT_EQ(specs::string_at(established, "status"), "True");
  EXPECT_EQ(boost::json::serialize(*specs::find_path(ws, "status.storedVersions")),
            R"(["v1alpha1"])");
  EXPECT_FALSE(specs::string_at(ws, "metadata.uid").empty());
  EXPECT_EQ(call("GET", crds + "/nope.rockpool.dev").status, 404);
  auto refused = call("DELETE", crds + "/workspaces.rockpool.dev");
  EXPECT_EQ(refused.status, 405);
  EXPECT_NE(refused.body.find("built into rockpoold"), std::string::npos);
  EXPECT_EQ(call("POST", crds, "{}").status, 405);
  EXPECT_EQ(call("GET", "/apis/apiextensions.k8s.io/v1").status, 200);
  // A watch: the current ones, then (here) the initial-events-end bookmark.
  auto client = std::make_shared<test_support::collected>();
  ASSERT_FALSE(handler_.watch(
      {"GET", crds + "?watch=true&sendInitialEvents=true&allowWatchBookmarks=true"
                     "&resourceVersionMatch=NotOlderThan&timeoutSeconds=1", "", ""},
      client));
  ASSERT_TRUE(client->wait_for("initial-events-end"));
  EXPECT_NE(client->data().find("workspaces.rockpool.dev"), std::string::npos);
  EXPECT_NE(client->data().find(R"("apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition")"),
            std::string::npos);
}

TEST_F(api_conformance, core_v1_event_lists_are_paged_too) {
  for (int i = 0; i < 3; ++i) {
    auto r = call("POST", "/apis/rockpool.dev/v1alpha1/events",
                  R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Event","metadata":{"name":"e)" +
                      std::to_string(i) +
                      R"("},"spec":{"type":"Normal","reason":"Test","involvedObject":)"
                      R"({"kind":"Workspace","name":"w"}}})");
    ASSERT_EQ(r.status, 201) << r.body;
  }
  auto first = body_of(call("GET", "/api/v1/events?limit=2"));
  EXPECT_EQ(specs::string_at(first, "kind"), "EventList");
  EXPECT_EQ(first.at("items").as_array().size(), 2u);
  auto token = specs::string_at(first, "metadata.continue");
  ASSERT_FALSE(token.empty());
  auto rest = body_of(call("GET", "/api/v1/events?limit=2&continue=" + token));
  EXPECT_EQ(rest.at("items").as_array().size(), 1u);
  EXPECT_TRUE(specs::string_at(rest, "metadata.continue").empty());
}

TEST_F(api_conformance, access_reviews_answer_that_a_signed_in_client_may_do_everything) {
  const std::string base = "/apis/authorization.k8s.io/v1/";
  auto r = call("POST", base + "selfsubjectaccessreviews",
                R"({"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview",)"
                R"("spec":{"resourceAttributes":{"group":"rockpool.dev","resource":"workspaces",)"
                R"("verb":"delete"}}})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto v = body_of(r);
  EXPECT_TRUE(specs::find_path(v, "status.allowed")->as_bool());
  EXPECT_EQ(specs::string_at(v, "spec.resourceAttributes.verb"), "delete") << "the spec comes back";
  auto rules = body_of(call("POST", base + "selfsubjectrulesreviews", R"({"spec":{}})"));
  EXPECT_EQ(specs::string_at(rules, "kind"), "SelfSubjectRulesReview");
  EXPECT_EQ(boost::json::serialize(*specs::find_path(rules, "status.resourceRules")),
            R"([{"verbs":["*"],"apiGroups":["*"],"resources":["*"]}])");
  EXPECT_EQ(call("GET", base + "selfsubjectaccessreviews").status, 405);
  EXPECT_EQ(call("POST", base + "subjectaccessreviews", "{}").status, 404);
  EXPECT_EQ(call("GET", "/apis/authorization.k8s.io/v1").status, 200);
}
