// The API handler in process, over the in-memory backend: routing by path and
// verb, content types, Status errors, write effects.
#include "rockpool/controller/api_handler.hpp"
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/actors/kinds.hpp"
#include "rockpool/runtime/fake.hpp"
#include "rockpool/specs/memory_backend.hpp"
#include "collected_watch.hpp"
#include "echo_kind.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <sstream>
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

// What the server may answer on its I/O thread: reads of one object and
// probes, nothing that can wait (lists, watches, writes, parameters).
TEST_F(api_handler_test, only_a_get_of_one_object_or_a_probe_is_answered_at_once) {
  auto at_once = [&](const char* method, const char* target) {
    return handler_.answers_at_once(http_request{method, target, "", ""});
  };
  const char* ws = "/apis/rockpool.dev/v1alpha1/workspaces";
  EXPECT_TRUE(at_once("GET", "/apis/rockpool.dev/v1alpha1/workspaces/demo"));
  EXPECT_TRUE(at_once("GET", "/apis/rockpool.dev/v1alpha1/workspaces/demo/status"));
  EXPECT_TRUE(at_once("GET", "/readyz"));
  EXPECT_FALSE(at_once("GET", ws));  // a list
  EXPECT_FALSE(at_once("GET", "/apis/rockpool.dev/v1alpha1/workspaces?watch=true"));
  EXPECT_FALSE(at_once("GET", "/apis/rockpool.dev/v1alpha1/workspaces/demo?resourceVersion=9"));
  EXPECT_FALSE(at_once("GET", "/apis/rockpool.dev/v1alpha1/workspaces/demo/exec"));
  EXPECT_FALSE(at_once("PUT", "/apis/rockpool.dev/v1alpha1/workspaces/demo"));
  EXPECT_FALSE(at_once("GET", "/metrics"));
  EXPECT_TRUE(store_.reads_locally());  // the memory backend; etcd's reads do not
}

TEST_F(api_handler_test, probes_and_discovery_answer_on_their_paths) {
  EXPECT_EQ(call("GET", "/healthz").body, "ok");
  EXPECT_EQ(call("GET", "/readyz").status, 200);
  EXPECT_NE(call("GET", "/version").body.find("rockpool.dev/v1alpha1"), std::string::npos);
  EXPECT_NE(call("GET", "/metrics").body.find("rockpool_store_revision 0"), std::string::npos);
  EXPECT_NE(call("GET", "/apis").body.find("APIGroupList"), std::string::npos);
  auto resources = call("GET", "/apis/rockpool.dev/v1alpha1");
  EXPECT_NE(resources.body.find("\"name\":\"workspaces\""), std::string::npos);
  // An ETag of the content, so clients' discovery caches revalidate.
  ASSERT_EQ(resources.headers.count("ETag"), 1u);
  EXPECT_EQ(resources.headers["ETag"], call("GET", "/apis/rockpool.dev/v1alpha1").headers["ETag"]);
  EXPECT_NE(resources.headers["ETag"], call("GET", "/apis").headers["ETag"]);
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

using test_support::collected;

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
    auto client = std::make_shared<collected>();
    auto refused = handler_.watch({"GET", target, "", ""}, client);
    return refused ? *refused : controller::http_response{};
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
    auto client = std::make_shared<collected>();
    EXPECT_FALSE(
        handler.watch({"GET", ws_path + "?watch=true&timeoutSeconds=1" + query, "", ""}, client));
    EXPECT_TRUE(client->wait_finished());
    auto data = client->data();
    std::size_t n = 0;
    for (auto at = data.find("BOOKMARK"); at != std::string::npos;
         at = data.find("BOOKMARK", at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(bookmarks(""), 0u);
  EXPECT_GE(bookmarks("&allowWatchBookmarks=true"), 5u);
}

// ---- issue 9, item 7: a label-selector watch sees objects enter and leave ----

namespace {
std::string labelled(const std::string& name, const std::string& tier) {
  return R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":")" + name +
         R"(","labels":{"tier":")" + tier + R"("}},"spec":{"image":"tiny"}})";
}
std::string relabel(const std::string& tier) {
  return R"({"metadata":{"labels":{"tier":")" + tier + R"("}}})";
}
// The event types in a stream, in order, as "TYPE name" lines.
std::vector<std::string> events_of(const std::string& stream) {
  std::vector<std::string> out;
  std::istringstream in(stream);
  for (std::string line; std::getline(in, line);) {
    auto v = specs::parse_json(line);
    if (v.ok())
      out.push_back(specs::string_at(*v, "type") + " " +
                    specs::string_at(*v, "object.metadata.name"));
  }
  return out;
}
}  // namespace

TEST_F(api_handler_test,
       a_selector_watch_gets_deleted_when_an_object_leaves_and_added_when_it_enters) {
  ASSERT_EQ(call("POST", ws_path, labelled("a", "web")).status, 201);
  auto client = std::make_shared<collected>();
  ASSERT_FALSE(
      handler_.watch({"GET", ws_path + "?watch=true&labelSelector=tier%3Dweb", "", ""}, client));
  const std::string merge = "application/merge-patch+json";
  ASSERT_EQ(call("PATCH", ws_path + "/a", relabel("db"), merge).status, 200);    // leaves
  ASSERT_EQ(call("PATCH", ws_path + "/a", relabel("web"), merge).status, 200);   // enters
  ASSERT_EQ(call("POST", ws_path, labelled("b", "db")).status, 201);             // never selected
  ASSERT_EQ(call("PATCH", ws_path + "/b", relabel("web"), merge).status, 200);   // enters
  ASSERT_EQ(call("PATCH", ws_path + "/b", relabel("web2"), merge).status, 200);  // leaves
  ASSERT_EQ(call("DELETE", ws_path + "/b").status, 200);  // not selected: nothing
  ASSERT_EQ(call("DELETE", ws_path + "/a").status, 200);
  ASSERT_TRUE(client->wait_for_lines(6)) << client->data();
  EXPECT_EQ(events_of(client->data()),
            (std::vector<std::string>{"ADDED a", "DELETED a", "ADDED a", "ADDED b", "DELETED b",
                                      "DELETED a"}));
}

TEST_F(api_handler_test, a_selector_watch_resumed_from_a_version_reports_objects_that_left_since) {
  ASSERT_EQ(call("POST", ws_path, labelled("a", "web")).status, 201);
  auto rv = std::to_string(store_.revision());
  const std::string merge = "application/merge-patch+json";
  ASSERT_EQ(call("PATCH", ws_path + "/a", relabel("db"), merge).status, 200);  // left meanwhile
  auto client = std::make_shared<collected>();
  ASSERT_FALSE(handler_.watch(
      {"GET", ws_path + "?watch=true&labelSelector=tier%3Dweb&resourceVersion=" + rv, "", ""},
      client));
  ASSERT_EQ(call("PATCH", ws_path + "/a", relabel("web"), merge).status, 200);
  ASSERT_TRUE(client->wait_for("ADDED"));
  EXPECT_EQ(events_of(client->data()), (std::vector<std::string>{"DELETED a", "ADDED a"}));
}

// ---- issue 9, item 5: a watcher's buffer is bounded by bytes ----

TEST(api_handler_watch_buffer, a_client_that_stops_reading_is_sent_no_more_than_its_buffer) {
  auto backend = specs::make_memory_backend();
  test_support::fake_clock clock;
  specs::object_store store(*backend, clock);
  controller::metrics m;
  controller::api_options options;
  options.watch_buffer_bytes = 64 << 10;
  controller::api_handler handler(store, m, options);
  auto stalled = std::make_shared<collected>(/*drains=*/false);
  auto reading = std::make_shared<collected>();
  ASSERT_FALSE(handler.watch({"GET", ws_path + "?watch=true", "", ""}, stalled));
  ASSERT_FALSE(handler.watch({"GET", ws_path + "?watch=true", "", ""}, reading));
  // 60 writes of ~20 KiB each: 1.2 MB of events.
  std::string big(20 << 10, 'x');
  for (int i = 0; i < 60; ++i) {
    auto obj = specs::parse_json(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace",)"
                                 R"("metadata":{"name":"w)" +
                                 std::to_string(i) + R"(","annotations":{"pad":")" + big +
                                 R"("}},"spec":{"image":"tiny"}})");
    ASSERT_TRUE(obj.ok());
    ASSERT_TRUE(store.create(std::move(*obj), {}).ok());
  }
  ASSERT_TRUE(reading->wait_for("\"name\":\"w59\""));
  // The stalled client holds at most its buffer plus the one event that crossed it.
  EXPECT_LE(stalled->size(), options.watch_buffer_bytes + (22u << 10));
  EXPECT_GE(reading->size(), 60u * (20u << 10));
}

// nestedhosts/NAME/credentials and /log, as the NestedHost kind registers them,
// read files inside the instance through Incus's file API.
TEST_F(api_handler_test, nested_host_credentials_and_logs_are_read_from_inside_the_instance) {
  runtime::fake_incus incus;
  incus.add_image("x");
  runtime::instance_spec dev;
  dev.name = "dev";
  dev.image = "x";
  ASSERT_TRUE(incus.create_instance(dev).ok());
  incus.put_file("dev", "/var/lib/rockpool/token", "s3cret-token\n");
  incus.put_file("dev", "/var/log/rockpool/rockpoold.log", "line 1\nline 2\nline 3\n");
  controller::api_options options;
  options.workspace_url = "http://127.0.0.1:18081";
  options.version = "0.1.0";
  options.role = "inner";
  options.nested_host = "outer-nh";
  auto kinds = actors::standard_kinds({});
  actors::subresource_services services{store_, &incus, options.workspace_url};
  options.subresources = kinds.subresources(services);
  controller::api_handler h(store_, metrics_, options);
  auto get = [&](const std::string& target) {
    return h.handle(http_request{"GET", target, "", ""});
  };
  const std::string nh = "/apis/rockpool.dev/v1alpha1/nestedhosts";
  EXPECT_EQ(get(nh + "/dev/credentials").status, 404);  // no such NestedHost
  ASSERT_EQ(h.handle(http_request{"POST", nh, "application/json",
                                  R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"NestedHost",)"
                                  R"("metadata":{"name":"dev"},"spec":{"image":"x"}})"})
                .status,
            201);
  auto creds = get(nh + "/dev/credentials");
  ASSERT_EQ(creds.status, 200) << creds.body;
  auto v = specs::parse_json(creds.body);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(specs::string_at(*v, "token"), "s3cret-token");
  EXPECT_EQ(specs::string_at(*v, "server"), "http://127.0.0.1:18081/workspace/dev/port/8080/api");
  EXPECT_EQ(get(nh + "/dev/log").body, "line 1\nline 2\nline 3\n");
  EXPECT_EQ(get(nh + "/dev/log?limitBytes=7").body, "line 3\n");
  EXPECT_EQ(get(nh + "/dev/log?component=caddy").status, 404);
  EXPECT_EQ(reason_of(get(nh + "/dev/log?component=../../etc/shadow")), "BadRequest");
  EXPECT_EQ(reason_of(get(nh + "/dev/log?limitBytes=-1")), "BadRequest");
  EXPECT_EQ(
      h.handle(http_request{"POST", nh + "/dev/credentials", "application/json", "{}"}).status,
      405);
  EXPECT_EQ(get(nh + "/dev/nothing").status, 404);
  // Without Incus (--runtime none) the subresources say so.
  actors::subresource_services no_incus{store_, nullptr, options.workspace_url};
  options.subresources = kinds.subresources(no_incus);
  controller::api_handler without(store_, metrics_, options);
  EXPECT_EQ(without.handle(http_request{"GET", nh + "/dev/credentials", "", ""}).status, 503);
  // /version says which Rockpool this is, in Kubernetes' version.Info shape.
  auto version = specs::parse_json(get("/version").body);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(specs::string_at(*version, "role"), "inner");
  EXPECT_EQ(specs::string_at(*version, "nestedHost"), "outer-nh");
  EXPECT_EQ(specs::string_at(*version, "gitVersion"), "v0.1.0");
  EXPECT_EQ(specs::string_at(*version, "major"), "0");
  EXPECT_EQ(specs::string_at(*version, "minor"), "1");
}

// /app/: the page, its assets under content-hashed names, strict headers.
TEST_F(api_handler_test, the_ui_is_served_with_hashed_assets_and_a_strict_policy) {
  controller::api_options options;
  options.role = "inner";
  options.nested_host = "nh<1>";
  controller::api_handler h(store_, metrics_, options);
  auto get = [&](const std::string& target) {
    return h.handle(http_request{"GET", target, "", ""});
  };
  auto index = get("/app/");
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(index.headers["Cache-Control"], "no-cache");
  EXPECT_NE(index.headers["Content-Security-Policy"].find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(index.headers["Content-Security-Policy"].find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(index.headers["X-Content-Type-Options"], "nosniff");
  // The inner Rockpool says so, escaped.
  EXPECT_NE(index.body.find("<title>Inner Rockpool — nested host nh&lt;1&gt;</title>"),
            std::string::npos);
  EXPECT_NE(index.body.find("class=\"inner-banner\""), std::string::npos);
  EXPECT_EQ(index.body.find("<script>"), std::string::npos) << "no inline script";
  EXPECT_EQ(index.body.find("{{"), std::string::npos) << "every placeholder filled";
  // The module it loads, by its hashed name, cached for good; the modules it
  // imports are named by hash too, so a change to one renames the importer.
  auto at = index.body.find("src=\"assets/app.");
  ASSERT_NE(at, std::string::npos);
  at += 5;
  auto src = index.body.substr(at, index.body.find('"', at) - at);
  auto app = get("/app/" + src);
  ASSERT_EQ(app.status, 200) << src;
  EXPECT_EQ(app.headers["Cache-Control"], "public, max-age=31536000, immutable");
  EXPECT_EQ(app.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(app.body.find("\"./api.js\""), std::string::npos);
  auto api_at = app.body.find("\"./api.");
  ASSERT_NE(api_at, std::string::npos);
  auto api_name = app.body.substr(api_at + 3, app.body.find('"', api_at + 1) - api_at - 3);
  EXPECT_EQ(get("/app/assets/" + api_name).status, 200) << api_name;
  EXPECT_EQ(get("/app/assets/app.js").status, 404) << "only hashed names";
  // Its errors are Status objects too (found by the HTTP fuzzer).
  EXPECT_NE(get("/app/api/v0/x").body.find("\"kind\":\"Status\""), std::string::npos);
  EXPECT_EQ(get("/app/assets/../../apis").status, 404);
  EXPECT_EQ(h.handle(http_request{"POST", "/app/", "application/json", "{}"}).status, 405);
  // The API answers under /api too, as the page calls it.
  EXPECT_EQ(get("/api/version").status, 200);
  EXPECT_EQ(get("/api/apis/rockpool.dev/v1alpha1/workspaces").status, 200);
}

// /openapi/v3: an index naming the group-version document by a hash of it,
// and the document with every kind's CRD schema and GVK.
TEST_F(api_handler_test, openapi_v3_documents_come_from_the_crds) {
  auto index = specs::parse_json(call("GET", "/openapi/v3").body);
  ASSERT_TRUE(index.ok());
  auto* entry = index->as_object()["paths"].as_object().if_contains("apis/rockpool.dev/v1alpha1");
  ASSERT_NE(entry, nullptr);
  auto url = specs::string_at(*entry, "serverRelativeURL");
  EXPECT_EQ(url.rfind("/openapi/v3/apis/rockpool.dev/v1alpha1?hash=", 0), 0u) << url;
  auto r = call("GET", url);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["ETag"], "\"" + url.substr(url.find("hash=") + 5) + "\"");
  auto doc = specs::parse_json(r.body);
  ASSERT_TRUE(doc.ok());
  const auto& schemas = doc->as_object()["components"].as_object()["schemas"].as_object();
  ASSERT_TRUE(schemas.contains("dev.rockpool.v1alpha1.Workspace"));
  const auto& ws = schemas.at("dev.rockpool.v1alpha1.Workspace");
  EXPECT_EQ(specs::string_at(ws, "properties.spec.properties.resources.properties.cpu.type"),
            "integer");
  EXPECT_EQ(specs::string_at(ws.at("x-kubernetes-group-version-kind").as_array()[0], "kind"),
            "Workspace");
  const auto& paths = doc->as_object()["paths"].as_object();
  ASSERT_TRUE(paths.contains("/apis/rockpool.dev/v1alpha1/workspaces/{name}"));
  bool field_validation = false;
  for (const auto& p : paths.at("/apis/rockpool.dev/v1alpha1/workspaces/{name}")
                           .at("patch")
                           .at("parameters")
                           .as_array())
    field_validation = field_validation || specs::string_at(p, "name") == "fieldValidation";
  EXPECT_TRUE(field_validation);
  EXPECT_EQ(call("GET", "/openapi/v2").status, 404);
  // Through the UI's prefix too.
  EXPECT_EQ(call("GET", "/api" + url).status, 200);
}

// PATCH with application/json-patch+json (RFC 6902), of an object and of its status.
TEST_F(api_handler_test, json_patches_change_objects_and_status_all_or_nothing) {
  ASSERT_EQ(call("POST", ws_path, demo).status, 201);
  const std::string type = "application/json-patch+json";
  auto r = call("PATCH", ws_path + "/demo",
                R"([{"op":"add","path":"/spec/resources","value":{"cpu":3}},)"
                R"({"op":"replace","path":"/spec/image","value":"tiny2"}])",
                type);
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = specs::parse_json(call("GET", ws_path + "/demo").body);
  EXPECT_EQ(specs::int_at(*v, "spec.resources.cpu"), 3);
  EXPECT_EQ(specs::string_at(*v, "spec.image"), "tiny2");
  auto rv = specs::string_at(*v, "metadata.resourceVersion");
  // A failed test changes nothing, not even the operations before it.
  r = call("PATCH", ws_path + "/demo",
           R"([{"op":"replace","path":"/spec/image","value":"x"},)"
           R"({"op":"test","path":"/spec/image","value":"other"}])",
           type);
  EXPECT_EQ(r.status, 422) << r.body;
  // Validation still applies to the result.
  r = call("PATCH", ws_path + "/demo",
           R"([{"op":"replace","path":"/spec/resources/cpu","value":999}])", type);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(reason_of(call("PATCH", ws_path + "/demo", R"({"op":"add"})", type)), "BadRequest");
  EXPECT_EQ(reason_of(call("PATCH", ws_path + "/demo",
                           R"([{"op":"replace","path":"/metadata/name","value":"x"}])", type)),
            "BadRequest");
  EXPECT_EQ(specs::string_at(*specs::parse_json(call("GET", ws_path + "/demo").body),
                             "metadata.resourceVersion"),
            rv);
  // Of the status, through the status subresource.
  r = call("PATCH", ws_path + "/demo/status",
           R"([{"op":"add","path":"/status","value":{"phase":"Running"}}])", type);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(
      specs::string_at(*specs::parse_json(call("GET", ws_path + "/demo").body), "status.phase"),
      "Running");
}

// kubectl get events -w: core v1 events are watched in their core shape,
// filtered by the involvedObject field selector.
TEST_F(api_handler_test, core_v1_events_can_be_watched) {
  auto ev = [](const std::string& name, const std::string& about) {
    return R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Event","metadata":{"name":")" + name +
           R"("},"spec":{"type":"Normal","reason":"InstanceCreated","message":"m","count":1,)"
           R"("involvedObject":{"kind":"Workspace","name":")" +
           about + R"(","uid":"u"}}})";
  };
  const std::string events = "/apis/rockpool.dev/v1alpha1/events";
  ASSERT_EQ(call("POST", events, ev("before", "demo")).status, 201);
  EXPECT_TRUE(handler_.is_watch({"GET", "/api/v1/namespaces/default/events?watch=true", "", ""}));
  auto all = std::make_shared<collected>();
  ASSERT_FALSE(handler_.watch({"GET", "/api/v1/events?watch=true", "", ""}, all));
  auto demo_only = std::make_shared<collected>();
  ASSERT_FALSE(handler_.watch(
      {"GET", "/api/v1/events?watch=true&fieldSelector=involvedObject.name%3Ddemo", "", ""},
      demo_only));
  ASSERT_EQ(call("POST", events, ev("other-1", "other")).status, 201);
  ASSERT_EQ(call("POST", events, ev("demo-1", "demo")).status, 201);
  ASSERT_TRUE(all->wait_for("demo-1"));
  ASSERT_TRUE(demo_only->wait_for("demo-1"));
  auto lines = [](const std::string& data) {
    std::vector<boost::json::value> out;
    std::istringstream in(data);
    for (std::string l; std::getline(in, l);)
      if (auto v = specs::parse_json(l); v.ok()) out.push_back(*v);
    return out;
  };
  auto seen = lines(all->data());
  ASSERT_EQ(seen.size(), 3u);  // the one there, then both new ones
  for (const auto& e : seen) {
    EXPECT_EQ(specs::string_at(e, "type"), "ADDED");
    EXPECT_EQ(specs::string_at(e, "object.apiVersion"), "v1");
    EXPECT_EQ(specs::string_at(e, "object.reason"), "InstanceCreated");
  }
  auto mine = lines(demo_only->data());
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(specs::string_at(mine[0], "object.metadata.name"), "before");
  EXPECT_EQ(specs::string_at(mine[1], "object.metadata.name"), "demo-1");
  auto bad = std::make_shared<collected>();
  auto refused =
      handler_.watch({"GET", "/api/v1/events?watch=true&fieldSelector=reason%3DX", "", ""}, bad);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
}

// Issue 14: kubectl get asks for a meta.k8s.io Table; its columns are the
// CRD's printer columns, the cells rendered as rpctl renders them.
TEST_F(api_handler_test, a_table_is_served_when_asked_for_with_the_crd_columns) {
  ASSERT_EQ(call("POST", ws_path, demo).status, 201);
  const std::string table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
  auto list = handler_.handle(http_request{"GET", ws_path, "", "", table});
  ASSERT_EQ(list.status, 200) << list.body;
  auto v = specs::parse_json(list.body);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(specs::string_at(*v, "kind"), "Table");
  EXPECT_EQ(specs::string_at(*v, "apiVersion"), "meta.k8s.io/v1");
  std::vector<std::string> names;
  for (const auto& c : v->at("columnDefinitions").as_array())
    names.emplace_back(c.at("name").as_string());
  ASSERT_GE(names.size(), 4u);
  EXPECT_EQ(names[0], "Name");
  EXPECT_EQ(names[1], "Phase");
  EXPECT_EQ(names.back(), "Age");
  const auto& row = v->at("rows").as_array().at(0);
  EXPECT_EQ(row.at("cells").as_array().at(0), "demo");
  EXPECT_EQ(specs::string_at(row, "object.kind"), "PartialObjectMetadata");
  EXPECT_EQ(specs::string_at(row, "object.metadata.name"), "demo");
  EXPECT_EQ(row.at("cells").as_array().size(), names.size());
  // One object, and the full object when asked for; plain JSON without the header.
  auto one =
      handler_.handle(http_request{"GET", ws_path + "/demo?includeObject=Object", "", "", table});
  auto o = specs::parse_json(one.body);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(specs::string_at(o->at("rows").as_array().at(0), "object.spec.image"), "tiny");
  EXPECT_EQ(specs::string_at(*specs::parse_json(call("GET", ws_path + "/demo").body), "kind"),
            "Workspace");
}

// Issue 14: fieldValidation=Strict refuses unknown fields (the default);
// Warn drops them with a Warning header per field; Ignore drops them quietly.
TEST_F(api_handler_test, field_validation_strict_warn_and_ignore) {
  const std::string body =
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"f",)"
      R"("colour":"red"},"spec":{"image":"tiny","bogus":1,"resources":{"cpu":1,"gpu":2}}})";
  auto strict = call("POST", ws_path + "?fieldValidation=Strict", body);
  EXPECT_EQ(strict.status, 422);
  EXPECT_NE(strict.body.find("spec.bogus"), std::string::npos) << strict.body;
  EXPECT_EQ(call("POST", ws_path, body).status, 422);
  auto warned = call("POST", ws_path + "?fieldValidation=Warn", body);
  ASSERT_EQ(warned.status, 201) << warned.body;
  auto w = warned.headers["Warning"];
  EXPECT_NE(w.find(R"(299 - "unknown field \"spec.bogus\"")"), std::string::npos) << w;
  EXPECT_NE(w.find("spec.resources.gpu"), std::string::npos) << w;
  EXPECT_NE(w.find("metadata.colour"), std::string::npos) << w;
  EXPECT_EQ(warned.body.find("bogus"), std::string::npos);
  auto ignored = call("PUT", ws_path + "/f?fieldValidation=Ignore", body);
  EXPECT_EQ(ignored.status, 200) << ignored.body;
  EXPECT_EQ(ignored.headers.count("Warning"), 0u);
  EXPECT_EQ(call("POST", ws_path + "?fieldValidation=Loose", body).status, 400);
}

// Issue 14: kubectl describe reads core v1 events for the object; they are
// made from Rockpool's Event objects (read-only).
TEST_F(api_handler_test, core_v1_events_are_served_for_kubectl_describe) {
  EXPECT_NE(call("GET", "/api").body.find("\"versions\":[\"v1\"]"), std::string::npos);
  EXPECT_NE(call("GET", "/api/v1").body.find("\"name\":\"events\""), std::string::npos);
  auto ev = [](const std::string& name, const std::string& about) {
    return R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Event","metadata":{"name":")" + name +
           R"("},"spec":{"type":"Normal","reason":"InstanceCreated","message":"m","count":2,)"
           R"("involvedObject":{"kind":"Workspace","name":")" +
           about + R"(","uid":"u-)" + about + R"("}}})";
  };
  ASSERT_EQ(call("POST", "/apis/rockpool.dev/v1alpha1/events", ev("e1", "demo")).status, 201);
  ASSERT_EQ(call("POST", "/apis/rockpool.dev/v1alpha1/events", ev("e2", "other")).status, 201);
  auto r = call("GET",
                "/api/v1/events?fieldSelector=involvedObject.name%3Ddemo%2CinvolvedObject.kind%3D"
                "Workspace%2CinvolvedObject.uid%3Du-demo%2CinvolvedObject.namespace%3D");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = specs::parse_json(r.body);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(specs::string_at(*v, "kind"), "EventList");
  ASSERT_EQ(v->at("items").as_array().size(), 1u);
  const auto& e = v->at("items").as_array()[0];
  EXPECT_EQ(specs::string_at(e, "apiVersion"), "v1");
  EXPECT_EQ(specs::string_at(e, "involvedObject.name"), "demo");
  EXPECT_EQ(specs::string_at(e, "reason"), "InstanceCreated");
  EXPECT_EQ(specs::int_at(e, "count"), 2);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/events").status, 200);
  // kubectl get events asks for a Table: the Event columns, core rows.
  auto table = handler_.handle(
      http_request{"GET", "/api/v1/namespaces/default/events", "", "",
                   "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"});
  ASSERT_EQ(table.status, 200) << table.body;
  auto tv = specs::parse_json(table.body);
  ASSERT_TRUE(tv.ok());
  EXPECT_EQ(specs::string_at(*tv, "kind"), "Table");
  std::vector<std::string> columns;
  for (const auto& c : tv->at("columnDefinitions").as_array())
    columns.emplace_back(c.at("name").as_string());
  EXPECT_NE(std::find(columns.begin(), columns.end(), "Reason"), columns.end());
  ASSERT_EQ(tv->at("rows").as_array().size(), 2u);
  const auto& row = tv->at("rows").as_array()[0];
  EXPECT_EQ(specs::string_at(row, "object.metadata.namespace"), "default");
  auto cells = boost::json::serialize(row.at("cells"));
  EXPECT_NE(cells.find("InstanceCreated"), std::string::npos) << cells;
  EXPECT_EQ(call("GET", "/api/v1/events?fieldSelector=reason%3DX").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/events", "{}").status, 405);
  EXPECT_EQ(call("GET", "/api/v1/pods").status, 404);
}


// The router finds a subresource in what the kinds registered; nothing outside
// the kind names it.
TEST_F(api_handler_test, a_kind_registered_with_a_subresource_is_reached_through_the_router) {
  actors::kind_registry kinds;
  kinds.add(std::make_unique<test_kinds::echo_kind>());
  actors::subresource_services services{store_, nullptr, ""};
  controller::api_options options;
  options.subresources = kinds.subresources(services);
  controller::api_handler h(store_, metrics_, options);
  const std::string wst = "/apis/rockpool.dev/v1alpha1/workspacetemplates";
  ASSERT_EQ(h.handle(http_request{"POST", wst, "application/json",
                                  R"({"apiVersion":"rockpool.dev/v1alpha1","kind":)"
                                  R"("WorkspaceTemplate","metadata":{"name":"t"},"spec":{}})"})
                .status,
            201);
  auto got = h.handle(http_request{"GET", wst + "/t/echo?say=hello", "", ""});
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "GET t hello ");
  EXPECT_EQ(h.handle(http_request{"POST", wst + "/t/echo", "text/plain", "body"}).body,
            "POST t  body");
  EXPECT_EQ(h.handle(http_request{"DELETE", wst + "/t/echo", "", ""}).status, 405);
  EXPECT_EQ(h.handle(http_request{"GET", wst + "/missing/echo", "", ""}).status, 404);
  EXPECT_EQ(h.handle(http_request{"GET", wst + "/t/other", "", ""}).status, 404);
  // Another kind does not have it.
  EXPECT_EQ(h.handle(http_request{"GET", ws_path + "/t/echo", "", ""}).status, 404);
}
