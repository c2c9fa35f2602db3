// The API handler in process, over the in-memory backend: routing by path and
// verb, content types, Status errors, write effects.
#include "rockpool/controller/api_handler.hpp"
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/specs/memory_backend.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <thread>

using namespace rockpool;
using controller::http_request;

namespace {

class api_handler_test : public ::testing::Test {
 protected:
  controller::http_response call(const std::string& method, const std::string& target,
                                 const std::string& body = "",
                                 const std::string& type = "application/json") {
    return handler_.handle(http_request{method, target, type, body});
  }
  static std::string reason_of(const controller::http_response& r) {
    auto v = specs::parse_json(r.body);
    return v.ok() ? specs::string_at(*v, "reason") : "";
  }

  std::unique_ptr<specs::kv_backend> backend_ = specs::make_memory_backend();
  test_support::fake_clock clock_;
  specs::object_store store_{*backend_, clock_, {}, &actors::kind_rules()};
  controller::metrics metrics_;
  controller::api_handler handler_{store_, metrics_, {}};
};

const std::string ws_path = "/apis/rockpool.dev/v1alpha1/workspaces";
const std::string demo =
    R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"demo"},)"
    R"("spec":{"image":"tiny"}})";

}  // namespace

TEST_F(api_handler_test, probes_and_discovery_answer_on_their_paths) {
  EXPECT_EQ(call("GET", "/healthz").body, "ok");
  EXPECT_EQ(call("GET", "/readyz").status, 200);
  EXPECT_NE(call("GET", "/version").body.find("rockpool.dev/v1alpha1"), std::string::npos);
  EXPECT_NE(call("GET", "/metrics").body.find("rockpool_store_revision 0"), std::string::npos);
  EXPECT_NE(call("GET", "/apis").body.find("APIGroupList"), std::string::npos);
  auto resources = call("GET", "/apis/rockpool.dev/v1alpha1");
  EXPECT_NE(resources.body.find("\"name\":\"workspaces\""), std::string::npos);
  EXPECT_EQ(call("POST", "/apis/rockpool.dev/v1alpha1").status, 405);
  EXPECT_EQ(call("GET", "/nope").status, 404);
  EXPECT_EQ(reason_of(call("GET", "/apis/rockpool.dev/v2/workspaces")), "NotFound");
  EXPECT_EQ(call("GET", "/apis/rockpool.dev/v1alpha1/pods").status, 404);
  EXPECT_EQ(call("GET", ws_path + "/demo/spec").status, 404);
}

TEST_F(api_handler_test, verbs_route_to_create_get_list_update_patch_and_delete) {
  auto created = call("POST", ws_path, demo);
  EXPECT_EQ(created.status, 201);
  EXPECT_EQ(created.headers["Rockpool-Effect"], "created");
  EXPECT_EQ(call("POST", ws_path, demo).status, 409);
  EXPECT_EQ(call("GET", ws_path + "/demo").status, 200);
  EXPECT_NE(call("GET", ws_path + "?fieldSelector=metadata.name=demo").body.find("WorkspaceList"),
            std::string::npos);
  EXPECT_EQ(call("GET", ws_path + "?fieldSelector=spec.image=x").status, 400);
  auto merged = call("PATCH", ws_path + "/demo", R"({"spec":{"state":"Stopped"}})",
                     "application/merge-patch+json");
  EXPECT_EQ(merged.status, 200);
  EXPECT_EQ(merged.headers["Rockpool-Effect"], "configured");
  auto status = call("PATCH", ws_path + "/demo/status", R"({"status":{"phase":"Running"}})",
                     "application/merge-patch+json");
  EXPECT_EQ(status.status, 200);
  auto obj = specs::parse_json(call("GET", ws_path + "/demo").body);
  EXPECT_EQ(specs::string_at(*obj, "status.phase"), "Running");
  EXPECT_EQ(specs::int_at(*obj, "metadata.generation"), 2) << "status writes keep the generation";
  EXPECT_EQ(call("PUT", ws_path + "/other", demo).status, 400) << "body and URL name differ";
  EXPECT_EQ(call("DELETE", ws_path + "/demo/status").status, 405);
  auto deleted = call("DELETE", ws_path + "/demo");
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(deleted.headers["Rockpool-Effect"], "deleted");
  EXPECT_EQ(call("GET", ws_path + "/demo").status, 404);
}

TEST_F(api_handler_test, content_types_and_methods_are_checked) {
  EXPECT_EQ(call("PATCH", ws_path + "/demo", "{}", "text/plain").status, 415);
  auto apply = call("PATCH", ws_path + "/demo", demo, "application/apply-patch+yaml");
  EXPECT_EQ(apply.status, 400) << "an apply patch needs a fieldManager";
  auto applied =
      call("PATCH", ws_path + "/demo?fieldManager=test", demo, "application/apply-patch+yaml");
  EXPECT_EQ(applied.status, 201);
  EXPECT_EQ(call("PATCH", ws_path + "/demo/status?fieldManager=test", demo,
                 "application/apply-patch+yaml")
                .status,
            415);
  EXPECT_EQ(call("PUT", ws_path, demo).status, 405) << "PUT on a collection";
  EXPECT_EQ(call("OPTIONS", ws_path + "/demo").status, 405);
  EXPECT_EQ(call("POST", ws_path, "{not json").status, 400);
  EXPECT_EQ(call("POST", ws_path + "?dryRun=All",
                 R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace",)"
                 R"("metadata":{"name":"dry"},"spec":{"image":"x"}})")
                .status,
            201);
  EXPECT_EQ(call("GET", ws_path + "/dry").status, 404) << "a dry run writes nothing";
}

TEST_F(api_handler_test, semantic_rules_apply_on_admission) {
  ASSERT_EQ(call("POST", ws_path, demo).status, 201);
  auto pr = R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"PortRoute","metadata":{"name":"p"},)"
            R"("spec":{"workspace":"demo","port":8080}})";
  auto r = call("POST", "/apis/rockpool.dev/v1alpha1/portroutes", pr);
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("IDE port"), std::string::npos) << r.body;
}

TEST_F(api_handler_test, only_collection_gets_with_watch_are_streams) {
  EXPECT_TRUE(handler_.is_watch({"GET", ws_path + "?watch=true", "", ""}));
  EXPECT_TRUE(handler_.is_watch({"GET", ws_path + "?watch=1", "", ""}));
  EXPECT_FALSE(handler_.is_watch({"GET", ws_path + "/demo?watch=true", "", ""}));
  EXPECT_FALSE(handler_.is_watch({"POST", ws_path + "?watch=true", "", ""}));
  EXPECT_FALSE(handler_.is_watch({"GET", ws_path, "", ""}));
}

// ---- issue 9, items 8, 9 and 11: Kubernetes' behaviour at the edges ----

namespace {
struct collected : controller::chunk_sink {
  std::string data;
  bool send(std::string_view d) override {
    data.append(d);
    return true;
  }
};
}  // namespace

TEST_F(api_handler_test, bodies_that_are_not_json_or_yaml_get_415) {
  EXPECT_EQ(call("POST", ws_path, demo, "text/plain").status, 415);
  EXPECT_EQ(call("POST", ws_path, demo, "application/xml").status, 415);
  EXPECT_EQ(call("PUT", ws_path + "/demo", demo, "text/plain; charset=utf-8").status, 415);
  EXPECT_EQ(call("POST", ws_path, demo, "application/json; charset=utf-8").status, 201);
}

TEST_F(api_handler_test, create_refuses_a_resource_version_and_names_must_be_strings) {
  auto with_rv =
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"a",)"
      R"("resourceVersion":"7"},"spec":{"image":"x"}})";
  auto r = call("POST", ws_path, with_rv);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("resourceVersion"), std::string::npos);
  auto numeric =
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":42},)"
      R"("spec":{"image":"x"}})";
  r = call("POST", ws_path, numeric);
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("must be a string, got 42"), std::string::npos) << r.body;
}

TEST_F(api_handler_test, concurrent_status_merge_patches_without_a_version_all_succeed) {
  ASSERT_EQ(call("POST", ws_path, demo).status, 201);
  std::atomic<int> conflicts{0}, ok{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto patch = R"({"status":{"restarts":)" + std::to_string(t * 100 + i) + "}}";
        auto r = call("PATCH", ws_path + "/demo/status", patch, "application/merge-patch+json");
        (r.status == 200 ? ok : conflicts)++;
      }
    });
  for (auto& w : writers) w.join();
  EXPECT_EQ(conflicts, 0);
  EXPECT_EQ(ok, 200);
}

TEST_F(api_handler_test, watch_versions_must_be_numbers_not_from_the_future_on_a_known_version) {
  ASSERT_EQ(call("POST", ws_path, demo).status, 201);
  auto watch = [&](const std::string& target) {
    controller::http_response head;
    collected sink;
    handler_.stream(
        {"GET", target, "", ""},
        [&](const controller::http_response& r) {
          head = r;
          return true;
        },
        sink);
    return head;
  };
  EXPECT_EQ(watch(ws_path + "?watch=true&resourceVersion=-5").status, 400);
  EXPECT_EQ(watch(ws_path + "?watch=true&resourceVersion=abc").status, 400);
  EXPECT_EQ(watch(ws_path + "?watch=true&resourceVersion=99").status, 400) << "from the future";
  EXPECT_EQ(watch("/apis/rockpool.dev/v2/workspaces?watch=true").status, 404);
}

TEST(api_handler_bookmarks, bookmarks_only_when_the_client_allows_them) {
  auto backend = specs::make_memory_backend();
  test_support::fake_clock clock;
  specs::object_store store(*backend, clock);
  controller::metrics m;
  controller::api_options options;
  options.bookmark_interval = std::chrono::milliseconds(50);
  controller::api_handler handler(store, m, options);
  auto bookmarks = [&](const std::string& query) {
    collected sink;
    handler.stream(
        {"GET", ws_path + "?watch=true&timeoutSeconds=1" + query, "", ""},
        [](const controller::http_response&) { return true; }, sink);
    std::size_t n = 0;
    for (auto at = sink.data.find("BOOKMARK"); at != std::string::npos;
         at = sink.data.find("BOOKMARK", at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(bookmarks(""), 0u);
  EXPECT_GE(bookmarks("&allowWatchBookmarks=true"), 5u);
}
