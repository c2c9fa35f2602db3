// The API handler in process, over the in-memory backend: routing by path and
// verb, content types, Status errors, write effects.
#include "rockpool/controller/api_handler.hpp"
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/specs/memory_backend.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

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
