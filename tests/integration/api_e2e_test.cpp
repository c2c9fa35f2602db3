// End to end: a real rockpoold on a temporary directory and socket, driven by
// the real rpctl binary and by the client library.
#include "rockpool/cli/client.hpp"
#include "rockpool/specs/codec.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <fstream>
#include <sstream>
#include <thread>

using namespace rockpool;
using test_support::command_result;
using test_support::daemon_process;
using test_support::run_command;
using test_support::temp_dir;

namespace {

class api_e2e : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<daemon_process>(ROCKPOOLD_PATH, tmp_ / "db", tmp_ / "api.sock",
                                               extra_args());
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }
  void TearDown() override {
    if (daemon_) {
      EXPECT_EQ(daemon_->stop(), 0) << daemon_->log();
    }
  }
  virtual std::vector<std::string> extra_args() { return {"--bookmark-interval", "1"}; }

  command_result rpctl(const std::string& args) {
    return run_command("ROCKPOOL_SERVER=" + daemon_->server_url() + " " RPCTL_PATH " " + args);
  }
  std::string write(const std::string& name, const std::string& text) {
    auto path = tmp_ / name;
    std::ofstream(path) << text;
    return path;
  }
  cli::api_client client() {
    return cli::api_client({daemon_->server_url(), "", 10000});
  }

  temp_dir tmp_;
  std::unique_ptr<daemon_process> daemon_;
};

const std::string samples = SAMPLES_DIR;

std::string ws(const std::string& name, int cpu, const std::string& labels = "") {
  return "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: " + name +
         (labels.empty() ? "" : "\n  labels: " + labels) +
         "\nspec:\n  image: tiny\n  resources:\n    cpu: " + std::to_string(cpu) + "\n";
}

}  // namespace

TEST_F(api_e2e, apply_reports_created_then_unchanged_then_configured) {
  auto r = rpctl("apply -f " + samples + "/tiny.yaml");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "workspace/demo created\nportroute/demo-9000 created\n");
  r = rpctl("apply -f " + samples + "/tiny.yaml");
  EXPECT_EQ(r.out, "workspace/demo unchanged\nportroute/demo-9000 unchanged\n");
  r = rpctl("apply -f " + write("demo.yaml", ws("demo", 3, "{app: tiny-demo}")));
  EXPECT_EQ(r.out, "workspace/demo configured\n") << r.err;
  r = rpctl("get workspace demo -o json");
  auto v = specs::parse_json(r.out);
  ASSERT_TRUE(v.ok()) << r.out;
  EXPECT_EQ(*specs::int_at(*v, "spec.resources.cpu"), 3);
  EXPECT_EQ(*specs::int_at(*v, "metadata.generation"), 2);
}

TEST_F(api_e2e, invalid_input_reports_every_problem_and_writes_nothing) {
  auto r = rpctl("apply -f " + samples + "/invalid.yaml");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(samples +
                       "/invalid.yaml: document 2 (Workspace \"demo\"): spec.resources.cpu: must "
                       "be an integer between 1 and 64, got \"lots\" (line 17, column 10)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("document 3 (PortRoute \"Bad_Name\"): metadata.name"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("nothing applied: 5 problems"), std::string::npos) << r.err;
  // Document 1 is valid, but the input as a whole was rejected.
  r = rpctl("get workspace good");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("NotFound"), std::string::npos);
}

TEST_F(api_e2e, get_prints_table_wide_yaml_json_and_name) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  auto table = rpctl("get ws");
  EXPECT_EQ(table.out.substr(0, table.out.find('\n')), "NAME   PHASE   READY   AGE");
  EXPECT_NE(table.out.find("demo "), std::string::npos);
  auto wide = rpctl("get pr -o wide");
  EXPECT_NE(wide.out.find("WORKSPACE"), std::string::npos);
  EXPECT_NE(wide.out.find("9000"), std::string::npos);
  EXPECT_EQ(rpctl("get portroutes -o name").out, "portroute/demo-9000\n");
  auto yaml = rpctl("get workspace demo -o yaml");
  auto decoded = specs::decode_documents(yaml.out, "-");
  ASSERT_EQ(decoded.documents.size(), 1u) << yaml.out;
  EXPECT_EQ(specs::string_at(decoded.documents[0].value, "spec.image"), "rockpool-tiny");
  auto list = specs::parse_json(rpctl("get ws -o json -l app=tiny-demo").out);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(specs::find_path(*list, "items")->as_array().size(), 1u);
  EXPECT_EQ(rpctl("get ws -l app=other").err, "No resources found\n");
}

TEST_F(api_e2e, output_of_get_applies_back_unchanged) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  auto yaml = rpctl("get workspace demo -o yaml").out;
  auto r = rpctl("apply -f " + write("roundtrip.yaml", yaml));
  EXPECT_EQ(r.out, "workspace/demo unchanged\n") << r.err;
}

TEST_F(api_e2e, describe_shows_metadata_spec_and_conditions) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  auto r = rpctl("describe ws demo");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Name:                demo"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Managed By:          rpctl"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  image: rockpool-tiny"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Conditions:\n  <none>"), std::string::npos) << r.out;
}

TEST_F(api_e2e, diff_exits_zero_when_same_one_when_different_two_on_error) {
  auto f = write("d.yaml", ws("d", 1));
  auto r = rpctl("diff -f " + f);
  EXPECT_EQ(r.exit_code, 1) << r.err;  // not there yet: everything is new
  ASSERT_EQ(rpctl("apply -f " + f).exit_code, 0);
  r = rpctl("diff -f " + f);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  r = rpctl("diff -f " + write("d2.yaml", ws("d", 2)));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("-    cpu: 1\n+    cpu: 2\n"), std::string::npos) << r.out;
  EXPECT_EQ(rpctl("diff -f " + samples + "/invalid.yaml").exit_code, 2);
  EXPECT_EQ(*specs::int_at(*specs::parse_json(rpctl("get ws d -o json").out), "spec.resources.cpu"),
            1);
}

TEST_F(api_e2e, server_dry_run_validates_without_writing) {
  auto r = rpctl("apply --dry-run=server -f " + samples + "/tiny.yaml");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      "workspace/demo created (server dry run)\nportroute/demo-9000 created (server dry run)\n");
  EXPECT_EQ(rpctl("get ws").err, "No resources found\n");
}

TEST_F(api_e2e, server_side_rules_are_enforced) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  // A second route for the same port, in a separate apply.
  auto r =
      rpctl("apply -f " + write("dup.yaml",
                                "apiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\nmetadata:\n  "
                                "name: other\nspec:\n  workspace: demo\n  port: 9000\n"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already routed by portroute/demo-9000"), std::string::npos) << r.err;
  r = rpctl("apply -f " + write("ide.yaml",
                                "apiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\nmetadata:\n  "
                                "name: ide\nspec:\n  workspace: demo\n  port: 8080\n"));
  EXPECT_NE(r.err.find("IDE port"), std::string::npos) << r.err;
  r = rpctl("apply -f " + write("tmpl.yaml",
                                "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  "
                                "name: t\nspec:\n  template: nope\n"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("WorkspaceTemplate \"nope\" does not exist"), std::string::npos) << r.err;
  r = rpctl("apply -f " + samples + "/template.yaml");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(api_e2e, field_manager_conflicts_unless_forced) {
  auto f = write("c.yaml", ws("c", 1));
  ASSERT_EQ(rpctl("apply -f " + f).exit_code, 0);
  auto r = rpctl("apply --field-manager gitops:repo -f " + write("c2.yaml", ws("c", 2)));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Conflict"), std::string::npos) << r.err;
  r = rpctl("apply --field-manager gitops:repo --force-conflicts -f " + tmp_ / "c2.yaml");
  EXPECT_EQ(r.out, "workspace/c configured\n") << r.err;
}

TEST_F(api_e2e, prune_deletes_only_what_this_manager_applied_and_no_longer_has) {
  auto dir = tmp_ / "repo";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/a.yaml") << ws("a", 1, "{set: one}");
  std::ofstream(dir + "/b.yaml") << ws("b", 1, "{set: one}");
  ASSERT_EQ(rpctl("apply -f " + dir).exit_code, 0);
  ASSERT_EQ(
      rpctl("apply --field-manager someone-else -f " + write("x.yaml", ws("x", 1, "{set: one}")))
          .exit_code,
      0);
  std::filesystem::remove(dir + "/b.yaml");
  auto r = rpctl("apply --prune -l set=one -f " + dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "workspace/a unchanged\nworkspace/b pruned\n");
  EXPECT_EQ(rpctl("get ws -o name").out, "workspace/a\nworkspace/x\n");
  EXPECT_EQ(rpctl("apply --prune -f " + dir).exit_code, 2);  // prune without a selector is refused
}

TEST_F(api_e2e, delete_removes_and_reports) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  auto r = rpctl("delete ws demo");
  EXPECT_EQ(r.out, "workspace.rockpool.dev \"demo\" deleted\n") << r.err;
  r = rpctl("get ws demo");
  EXPECT_EQ(r.exit_code, 1);
  r = rpctl("delete -f " + samples + "/tiny.yaml");
  EXPECT_EQ(r.exit_code, 1);  // the workspace is already gone
  EXPECT_NE(r.out.find("portroute.rockpool.dev \"demo-9000\" deleted"), std::string::npos) << r.out;
}

TEST_F(api_e2e, delete_wait_returns_once_finalizers_are_removed) {
  auto f = write("fin.yaml",
                 "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: fin\n  "
                 "finalizers: [rockpool.dev/cleanup]\nspec:\n  image: x\n");
  ASSERT_EQ(rpctl("apply -f " + f).exit_code, 0);
  std::thread remover([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto c = client();
    auto r = c.request("PATCH", "/apis/rockpool.dev/v1alpha1/workspaces/fin",
                       R"({"metadata":{"finalizers":null}})", "application/merge-patch+json");
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.err().message);
  });
  auto r = rpctl("delete ws fin --wait --timeout 20s");
  remover.join();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("waiting for finalizers"), std::string::npos);
  EXPECT_EQ(rpctl("get ws fin").exit_code, 1);
}

TEST_F(api_e2e, explain_prints_schema_documentation) {
  auto r = rpctl("explain workspace.spec.resources");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("cpu\t<integer>"), std::string::npos) << r.out;
  EXPECT_EQ(rpctl("explain workspace.spec.nothing").exit_code, 1);
}

TEST_F(api_e2e, version_reports_client_and_server) {
  auto r = rpctl("version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Client Version: "), std::string::npos);
  EXPECT_NE(r.out.find("Server Version: "), std::string::npos);
}

TEST_F(api_e2e, watch_streams_changes_and_resumes_from_a_revision) {
  auto c = client();
  ASSERT_EQ(rpctl("apply -f " + write("w1.yaml", ws("w1", 1))).exit_code, 0);
  auto list = c.request("GET", "/apis/rockpool.dev/v1alpha1/workspaces");
  auto rv = specs::string_at(*specs::parse_json(list->body), "metadata.resourceVersion");
  std::vector<std::string> seen;
  std::string last_rv = rv;
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    rpctl("apply -f " + write("w2.yaml", ws("w2", 1)));
    rpctl("apply -f " + write("w1b.yaml", ws("w1", 2)));
    rpctl("delete ws w2");
  });
  auto st = c.stream("/apis/rockpool.dev/v1alpha1/workspaces?watch=true&resourceVersion=" + rv,
                     [&](std::string_view line) {
                       auto ev = specs::parse_json(line);
                       auto type = specs::string_at(*ev, "type");
                       if (type == "BOOKMARK") return true;
                       seen.push_back(type + " " + specs::string_at(*ev, "object.metadata.name"));
                       last_rv = specs::string_at(*ev, "object.metadata.resourceVersion");
                       return seen.size() < 2;  // disconnect after two events
                     });
  writer.join();
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], "ADDED w2");
  EXPECT_EQ(seen[1], "MODIFIED w1");
  // Resume from the last revision seen: exactly the remaining event.
  auto st2 = c.stream(
      "/apis/rockpool.dev/v1alpha1/workspaces?watch=true&timeoutSeconds=2&resourceVersion=" +
          last_rv,
      [&](std::string_view line) {
        auto ev = specs::parse_json(line);
        auto type = specs::string_at(*ev, "type");
        if (type != "BOOKMARK")
          seen.push_back(type + " " + specs::string_at(*ev, "object.metadata.name"));
        return true;
      });
  ASSERT_TRUE(st2.ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2], "DELETED w2");
}

TEST_F(api_e2e, watch_sends_bookmarks_and_honours_label_selectors) {
  auto c = client();
  std::vector<std::string> types;
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    rpctl("apply -f " + write("l1.yaml", ws("l1", 1, "{team: a}")));
    rpctl("apply -f " + write("l2.yaml", ws("l2", 1, "{team: b}")));
  });
  auto st = c.stream(
      "/apis/rockpool.dev/v1alpha1/workspaces?watch=true&allowWatchBookmarks=true&timeoutSeconds=3&"
      "labelSelector=team%3Db",
      [&](std::string_view line) {
        auto ev = specs::parse_json(line);
        types.push_back(specs::string_at(*ev, "type") + " " +
                        specs::string_at(*ev, "object.metadata.name"));
        return true;
      });
  writer.join();
  ASSERT_TRUE(st.ok());
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types[0], "ADDED l2");
  EXPECT_NE(std::find(types.begin(), types.end(), "BOOKMARK "), types.end());
  EXPECT_EQ(std::count_if(types.begin(), types.end(),
                          [](auto& t) { return t.find("l1") != std::string::npos; }),
            0);
}

TEST_F(api_e2e, rpctl_get_watch_prints_changes) {
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    rpctl("apply -f " + write("g1.yaml", ws("g1", 1)));
  });
  auto r = rpctl("get ws -w -o name --timeout 3s");
  writer.join();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "workspace/g1\n");
}

TEST_F(api_e2e, oversized_bodies_get_413) {
  auto c = client();
  std::string big =
      "{\"apiVersion\":\"rockpool.dev/"
      "v1alpha1\",\"kind\":\"Workspace\",\"metadata\":{\"name\":\"big\",\"annotations\":{\"x\":\"" +
      std::string(4 << 20, 'x') + "\"}},\"spec\":{\"image\":\"x\"}}";
  auto r = c.request("POST", "/apis/rockpool.dev/v1alpha1/workspaces", big, "application/json");
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->status, 413) << r->body;
  EXPECT_NE(r->body.find("RequestEntityTooLarge"), std::string::npos);
}

TEST_F(api_e2e, errors_are_kubernetes_status_objects_with_causes) {
  auto c = client();
  auto r = c.request(
      "POST", "/apis/rockpool.dev/v1alpha1/workspaces",
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"x"},"spec":{"image":"i","resources":{"cpu":0}}})",
      "application/json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 422);
  auto v = specs::parse_json(r->body);
  EXPECT_EQ(specs::string_at(*v, "kind"), "Status");
  EXPECT_EQ(specs::string_at(*v, "reason"), "Invalid");
  EXPECT_EQ(specs::string_at(specs::find_path(*v, "details.causes")->as_array()[0], "field"),
            "spec.resources.cpu");
  EXPECT_EQ(c.request("GET", "/apis/rockpool.dev/v1alpha1/pods")->status, 404);
  EXPECT_EQ(c.request("GET", "/apis/rockpool.dev/v1alpha1/workspaces/none")->status, 404);
  EXPECT_EQ(
      c.request("PATCH", "/apis/rockpool.dev/v1alpha1/workspaces/x", "{}", "text/plain")->status,
      415);
}

// Issue 26: the package's group. With --socket-group the socket is 0660 and
// the group's: a process in the group connects, one outside it is refused.
TEST(api_e2e_flags, socket_group_members_may_connect_and_others_may_not) {
  if (::getuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  struct group* adm = ::getgrnam("adm");
  struct passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(adm, nullptr);
  ASSERT_NE(nobody, nullptr);
  temp_dir tmp;
  ::chmod(tmp.path().c_str(), 0755);  // the directory must let others reach the socket
  daemon_process d(ROCKPOOLD_PATH, tmp / "db", tmp / "api.sock", {"--socket-group", "adm"});
  ASSERT_TRUE(d.start()) << d.log();
  struct stat st {};
  ASSERT_EQ(::stat(d.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_gid, adm->gr_gid);
  // connect() as nobody, with or without the group: 0 connected, else errno.
  auto connect_as = [&](bool in_group) {
    pid_t pid = ::fork();
    if (pid == 0) {
      gid_t groups[] = {adm->gr_gid};
      ::setgroups(in_group ? 1 : 0, groups);
      if (::setgid(nobody->pw_gid) != 0 || ::setuid(nobody->pw_uid) != 0) std::_Exit(100);
      int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", d.socket().c_str());
      int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      std::_Exit(rc == 0 ? 0 : errno);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(connect_as(true), 0) << "a member of the group connects";
  EXPECT_EQ(connect_as(false), EACCES) << "anyone else is refused";
  EXPECT_EQ(d.stop(), 0);
}

TEST_F(api_e2e, unix_socket_is_owner_only) {
  struct stat st {};
  ASSERT_EQ(::stat(daemon_->socket().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(api_e2e, health_version_and_metrics_endpoints) {
  auto c = client();
  EXPECT_EQ(c.request("GET", "/healthz")->body, "ok");
  EXPECT_EQ(c.request("GET", "/readyz")->status, 200);
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  auto m = c.request("GET", "/metrics")->body;
  EXPECT_NE(m.find("rockpool_http_requests_total{method=\"PATCH\",code=\"201\"} 2"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("rockpool_objects{kind=\"Workspace\"} 1"), std::string::npos);
  EXPECT_NE(m.find("rockpool_store_write_duration_seconds_count 2"), std::string::npos);
  EXPECT_NE(m.find("rockpool_http_request_duration_seconds_bucket{method=\"PATCH\",le=\"+Inf\"} 2"),
            std::string::npos);
}

// Issue 26, item 5: the log level changes while running (kube-apiserver's
// /debug/flags/v), and --log-format json writes one JSON object per line.
TEST(api_e2e_logging, json_log_lines_and_the_level_changed_through_the_api) {
  temp_dir tmp;
  daemon_process d(ROCKPOOLD_PATH, tmp / "db", tmp / "api.sock", {"--log-format", "json"});
  ASSERT_TRUE(d.start()) << d.log();
  cli::api_client c({d.server_url(), "", 10000});
  EXPECT_EQ(c.request("GET", "/debug/flags/v")->body, "warning\n");
  auto bad = c.request("PUT", "/debug/flags/v", "loud");
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("got \\\"loud\\\""), std::string::npos) << bad->body;
  auto set = c.request("PUT", "/debug/flags/v", "debug\n");
  EXPECT_EQ(set->status, 200) << set->body;
  EXPECT_EQ(c.request("GET", "/debug/flags/v")->body, "debug\n");
  EXPECT_EQ(d.stop(), 0);
  std::istringstream lines(d.log());
  int parsed = 0;
  bool changed = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    auto v = boost::json::parse(line);  // throws (fails the test) on a line that is not JSON
    for (const char* field : {"time", "level", "component", "message"})
      EXPECT_TRUE(v.as_object().contains(field)) << field << " in " << line;
    changed = changed || v.at("message").as_string() == "log level warning -> debug (PUT /debug/flags/v)";
    ++parsed;
  }
  EXPECT_GT(parsed, 1) << d.log();
  EXPECT_TRUE(changed) << d.log();
}

TEST_F(api_e2e, a_second_daemon_on_the_same_directory_fails_clearly) {
  daemon_process second(ROCKPOOLD_PATH, tmp_ / "db", tmp_ / "other.sock");
  EXPECT_FALSE(second.start());
  EXPECT_NE(second.log().find("in use by another rockpoold"), std::string::npos) << second.log();
  daemon_process same_socket(ROCKPOOLD_PATH, tmp_ / "db2", tmp_ / "api.sock");
  EXPECT_FALSE(same_socket.start());
  EXPECT_NE(same_socket.log().find("served by a running process"), std::string::npos)
      << same_socket.log();
}

TEST_F(api_e2e, acknowledged_apply_survives_kill_9_of_the_daemon) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  daemon_->kill9();
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  EXPECT_EQ(rpctl("get ws -o name").out, "workspace/demo\n");
}

namespace {
class api_e2e_tcp : public api_e2e {
 protected:
  std::vector<std::string> extra_args() override {
    port_ = test_support::free_port();
    std::ofstream(tmp_ / "token") << "s3cret-token-0123456789\n";
    std::filesystem::permissions(tmp_ / "token", std::filesystem::perms::owner_read);
    return {"--listen", "127.0.0.1:" + std::to_string(port_), "--token-file", tmp_ / "token"};
  }
  unsigned short port_ = 0;
};

class api_e2e_retention : public api_e2e {
 protected:
  std::vector<std::string> extra_args() override { return {"--event-retention", "5"}; }
};
}  // namespace

TEST_F(api_e2e_tcp, tcp_requires_the_bearer_token) {
  std::string url = "https://127.0.0.1:" + std::to_string(port_);
  auto ca = tmp_ / "db/tls/ca.crt";
  cli::api_client anonymous({url, "", 5000, ca});
  EXPECT_EQ(anonymous.request("GET", "/apis/rockpool.dev/v1alpha1/workspaces")->status, 401);
  EXPECT_EQ(anonymous.request("GET", "/healthz")->status, 200);
  cli::api_client wrong({url, "s3cret-token-0123456780", 5000, ca});
  EXPECT_EQ(wrong.request("GET", "/apis/rockpool.dev/v1alpha1/workspaces")->status, 401);
  cli::api_client right({url, "s3cret-token-0123456789", 5000, ca});
  EXPECT_EQ(right.request("GET", "/apis/rockpool.dev/v1alpha1/workspaces")->status, 200);
  auto env = "ROCKPOOL_SERVER=" + url + " ROCKPOOL_CA_FILE=" + ca + " ";
  auto r = run_command(env + "ROCKPOOL_TOKEN=s3cret-token-0123456789 " RPCTL_PATH " apply -f " +
                       samples + "/tiny.yaml");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_command(env + RPCTL_PATH " get ws");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Unauthorized"), std::string::npos) << r.err;
  // Issue 9, item 11: auth schemes are case-insensitive.
  auto lower = run_command("curl -s --cacert " + ca +
                           " -o /dev/null -w '%{http_code}' -H 'Authorization: bearer "
                           "s3cret-token-0123456789' " +
                           url + "/apis/rockpool.dev/v1alpha1/workspaces");
  EXPECT_EQ(lower.out, "200");
}

// Issue 14: --listen is HTTPS by default, with a CA and a server certificate
// made in DATA_DIR/tls, kept across restarts and rotated by deleting it.
TEST_F(api_e2e_tcp, listen_is_https_with_a_certificate_made_once_and_rotated_by_deleting_it) {
  auto ca = tmp_ / "db/tls/ca.crt";
  auto https = "https://127.0.0.1:" + std::to_string(port_);
  cli::api_client trusted({https, "s3cret-token-0123456789", 5000, ca});
  EXPECT_EQ(trusted.request("GET", "/version")->status, 200);
  // Without the CA the certificate is not trusted; plain HTTP gets no answer.
  cli::api_client untrusted({https, "s3cret-token-0123456789", 5000});
  EXPECT_FALSE(untrusted.request("GET", "/version").ok());
  cli::api_client plain({"http://127.0.0.1:" + std::to_string(port_), "", 5000});
  auto p = plain.request("GET", "/healthz");
  EXPECT_TRUE(!p.ok() || p->status != 200);
  auto san =
      run_command("openssl x509 -noout -ext subjectAltName -in " + (tmp_ / "db/tls/server.crt"));
  EXPECT_NE(san.out.find("IP Address:127.0.0.1"), std::string::npos) << san.out;
  EXPECT_NE(san.out.find("DNS:localhost"), std::string::npos) << san.out;
  struct stat st {};
  ASSERT_EQ(::stat((tmp_ / "db/tls/server.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto ca_before = test_support::read_file(ca);
  auto cert_before = test_support::read_file(tmp_ / "db/tls/server.crt");
  ASSERT_EQ(daemon_->stop(), 0);
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  EXPECT_EQ(test_support::read_file(tmp_ / "db/tls/server.crt"), cert_before);
  std::filesystem::remove(tmp_ / "db/tls/server.crt");
  ASSERT_EQ(daemon_->stop(), 0);
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  EXPECT_NE(test_support::read_file(tmp_ / "db/tls/server.crt"), cert_before);
  EXPECT_EQ(test_support::read_file(ca), ca_before);  // clients keep trusting it
  cli::api_client again({https, "s3cret-token-0123456789", 5000, ca});
  EXPECT_EQ(again.request("GET", "/version")->status, 200);
}

namespace {
class api_e2e_kubectl : public api_e2e_tcp {
 protected:
  std::vector<std::string> extra_args() override {
    auto args = api_e2e_tcp::extra_args();
    args.insert(args.end(), {"--runtime", "fake", "--sweep-interval", "0"});
    return args;
  }
};
}  // namespace

// Issue 14: the machine's kubectl, with only the kubeconfig rpctl prints.
TEST_F(api_e2e_kubectl, kubectl_works_with_only_a_kubeconfig) {
  if (run_command("kubectl version --client").exit_code != 0) {
    if (std::getenv("CI") != nullptr) FAIL() << "kubectl is missing (scripts/install-deps.sh)";
    GTEST_SKIP() << "no kubectl on this machine";
  }
  // kubectl before 1.27 reads OpenAPI only as protobuf v2, which rockpoold
  // does not serve (docs/user-guide.md#using-kubectl).
  auto client = specs::parse_json(run_command("kubectl version --client -o json").out);
  auto minor = client.ok() ? specs::string_at(*client, "clientVersion.minor") : std::string();
  if (!minor.empty() && std::atoi(minor.c_str()) < 27)
    GTEST_SKIP() << "kubectl 1." << minor << " needs --validate=false here (OpenAPI v2 protobuf)";
  auto kc = tmp_ / "kubeconfig";
  auto made = run_command(
      "ROCKPOOL_SERVER=https://127.0.0.1:" + std::to_string(port_) +
      " ROCKPOOL_CA_FILE=" + tmp_.path().string() + "/db/tls/ca.crt" +
      " ROCKPOOL_TOKEN=s3cret-token-0123456789 " RPCTL_PATH " config kubeconfig > " + kc);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto kubectl = [&](const std::string& args) {
    return run_command("HOME=" + tmp_.path().string() + " kubectl --kubeconfig " + kc +
                       " --request-timeout=20s " + args);
  };
  auto v = kubectl("version -o json");
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find("serverVersion"), std::string::npos) << v.out;
  auto resources = kubectl("api-resources");
  EXPECT_NE(resources.out.find("workspaces"), std::string::npos) << resources.err;
  EXPECT_NE(resources.out.find("gitsyncs"), std::string::npos);
  auto applied = kubectl("apply -f " + samples + "/tiny.yaml");
  EXPECT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_NE(applied.out.find("workspace.rockpool.dev/demo created"), std::string::npos)
      << applied.out;
  auto again = kubectl("apply -f " + samples + "/tiny.yaml");
  EXPECT_NE(again.out.find("workspace.rockpool.dev/demo unchanged"), std::string::npos)
      << again.out << again.err;
  // Server-side apply, twice: no "failed to migrate last-applied" warning.
  for (int i = 0; i < 2; ++i) {
    auto ssa = kubectl("apply --server-side -f " + samples + "/tiny.yaml");
    EXPECT_EQ(ssa.exit_code, 0) << ssa.err;
    EXPECT_EQ(ssa.err.find("failed to migrate"), std::string::npos) << ssa.err;
    EXPECT_NE(ssa.out.find("serverside-applied"), std::string::npos) << ssa.out;
  }
  EXPECT_EQ(kubectl("diff -f " + samples + "/tiny.yaml").exit_code, 0);
  auto merged = kubectl("patch ws demo --type=merge -p '{\"spec\":{\"resources\":{\"cpu\":2}}}'");
  EXPECT_EQ(merged.exit_code, 0) << merged.err;
  auto jsonp = kubectl(
      "patch ws demo --type=json -p '[{\"op\":\"replace\",\"path\":\"/spec/resources/cpu\","
      "\"value\":3}]'");
  EXPECT_EQ(jsonp.exit_code, 0) << jsonp.err;
  EXPECT_EQ(kubectl("get ws demo -o jsonpath={.spec.resources.cpu}").out, "3");
  EXPECT_EQ(kubectl("diff -f " + samples + "/tiny.yaml").exit_code, 1);
  auto waited = kubectl("wait ws/demo --for=condition=Ready --timeout=20s");
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  // Table output: the CRD's columns, and a watch prints one header.
  auto table = kubectl("get ws");
  EXPECT_NE(table.out.find("PHASE"), std::string::npos) << table.out << table.err;
  EXPECT_NE(table.out.find("READY"), std::string::npos) << table.out;
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    run_command(
        "printf 'apiVersion: rockpool.dev/v1alpha1\\nkind: Workspace\\nmetadata:\\n"
        "  name: later\\nspec:\\n  image: x\\n' | ROCKPOOL_SERVER=" +
        daemon_->server_url() + " " RPCTL_PATH " apply -f -");
  });
  auto watched = kubectl("get ws -w --request-timeout=3s");
  later.join();
  EXPECT_NE(watched.out.find("later"), std::string::npos) << watched.out << watched.err;
  std::size_t headers = 0;
  for (auto at = watched.out.find("PHASE"); at != std::string::npos;
       at = watched.out.find("PHASE", at + 1))
    ++headers;
  EXPECT_EQ(headers, 1u) << watched.out;
  for (auto at = watched.out.find('\n'); at != std::string::npos && at + 1 < watched.out.size();
       at = watched.out.find('\n', at + 1))
    EXPECT_NE(watched.out[at + 1], '\n') << "a blank row: " << watched.out;
  auto described = kubectl("describe ws demo");
  EXPECT_NE(described.out.find("InstanceCreated"), std::string::npos)
      << "describe lists the events: " << described.out << described.err;
  // kubectl get events resolves to the core group: the Event columns.
  auto events = kubectl("get events");
  EXPECT_NE(events.out.find("REASON"), std::string::npos) << events.out << events.err;
  EXPECT_NE(events.out.find("InstanceCreated"), std::string::npos) << events.out;
  auto events_watched = kubectl("get events -w --request-timeout=3s");
  EXPECT_NE(events_watched.out.find("REASON"), std::string::npos) << events_watched.err;
  EXPECT_NE(events_watched.out.find("InstanceCreated"), std::string::npos) << events_watched.out;
  auto yaml = kubectl("get ws demo -o yaml");
  EXPECT_NE(yaml.out.find("image: rockpool-tiny"), std::string::npos) << yaml.err;
  auto explain = kubectl("explain workspace.spec.resources");
  EXPECT_NE(explain.out.find("cpu"), std::string::npos) << explain.err;
  auto bad = run_command(
      "printf 'apiVersion: rockpool.dev/v1alpha1\\nkind: Workspace\\n"
      "metadata:\\n  name: bad\\nspec:\\n  image: x\\n  resources:\\n"
      "    cpu: 1000\\n' | HOME=" +
      tmp_.path().string() + " kubectl --kubeconfig " + kc + " apply -f -");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("spec.resources.cpu"), std::string::npos) << bad.err;
  // fieldValidation: kubectl --validate=warn gets the unknown field as a warning.
  auto warned = run_command(
      "printf 'apiVersion: rockpool.dev/v1alpha1\\nkind: Workspace\\n"
      "metadata:\\n  name: warned\\nspec:\\n  image: x\\n  bogus: 1\\n' | HOME=" +
      tmp_.path().string() + " kubectl --kubeconfig " + kc + " apply --validate=warn -f -");
  EXPECT_EQ(warned.exit_code, 0) << warned.err;
  EXPECT_NE(warned.err.find("unknown field \"spec.bogus\""), std::string::npos) << warned.err;
  // Issue 24: CRDs, chunked lists, the full version, categories, and the
  // aggregated discovery kubectl 1.30+ asks for (used when served).
  auto crds = kubectl("get crd");
  EXPECT_NE(crds.out.find("workspaces.rockpool.dev"), std::string::npos) << crds.out << crds.err;
  auto established = kubectl(
      "get crd workspaces.rockpool.dev -o 'jsonpath={.status.conditions[?(@.type==\"Established\")].status}'");
  EXPECT_EQ(established.out, "True") << established.err;
  EXPECT_NE(kubectl("delete crd workspaces.rockpool.dev").exit_code, 0) << "CRDs are read-only";
  std::string templates;
  for (int i = 0; i < 5; ++i)
    templates += "---\napiVersion: rockpool.dev/v1alpha1\nkind: WorkspaceTemplate\nmetadata: {name: chunk-" +
                 std::to_string(i) + "}\nspec: {image: x}\n";
  ASSERT_EQ(kubectl("create -f " + write("chunks.yaml", templates)).exit_code, 0);
  auto chunked = kubectl("get wst --chunk-size=2 -o name -v=6");
  std::size_t names = 0, pages = 0;
  for (auto at = chunked.out.find("workspacetemplate.rockpool.dev/chunk-");
       at != std::string::npos; at = chunked.out.find("workspacetemplate.rockpool.dev/chunk-", at + 1))
    ++names;
  for (auto at = chunked.err.find("continue="); at != std::string::npos;
       at = chunked.err.find("continue=", at + 1))
    ++pages;
  EXPECT_EQ(names, 5u) << chunked.out;
  EXPECT_GE(pages, 2u) << "kubectl followed the continue tokens: " << chunked.err;
  auto raw_version = kubectl("get --raw /version");
  for (const auto* field : {"\"gitCommit\"", "\"buildDate\"", "\"goVersion\"", "\"compiler\""})
    EXPECT_NE(raw_version.out.find(field), std::string::npos) << field << raw_version.out;
  // Issue 23: snapshots through kubectl, taken by the controller.
  ASSERT_EQ(kubectl("create -f " + write("wss.yaml", "apiVersion: rockpool.dev/v1alpha1\n"
                                                    "kind: WorkspaceSnapshot\n"
                                                    "metadata: {name: k1}\nspec: {workspace: demo}\n"))
                .exit_code,
            0);
  auto taken = kubectl("wait --for=condition=Ready workspacesnapshot/k1 --timeout=30s");
  EXPECT_EQ(taken.exit_code, 0) << taken.out << taken.err;
  auto listed = kubectl("get wss");
  EXPECT_NE(listed.out.find("k1"), std::string::npos) << listed.out << listed.err;
  EXPECT_NE(listed.out.find("demo"), std::string::npos) << listed.out;
  auto category = kubectl("get rockpool -o name");
  EXPECT_NE(category.out.find("workspace.rockpool.dev/demo"), std::string::npos)
      << category.out << category.err;
  // kubectl auth can-i sends its review as protobuf, which rockpoold does not
  // read: a clear 415, not a wrong answer (JSON clients get the review).
  auto can_i = kubectl("auth can-i delete workspaces");
  EXPECT_NE(can_i.err.find("UnsupportedMediaType"), std::string::npos) << can_i.out << can_i.err;
  auto aggregated = kubectl("api-resources -v=8");
  EXPECT_NE(aggregated.err.find("as=APIGroupDiscoveryList"), std::string::npos) << aggregated.err;
  EXPECT_EQ(aggregated.err.find("/apis/rockpool.dev/v1alpha1 200"), std::string::npos)
      << "kubectl used the aggregated document, not the per-group lists";
  auto deleted = kubectl("delete pr demo-9000");
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  // rpctl refuses to print a kubeconfig for a server kubectl cannot use.
  auto unix_only =
      run_command("ROCKPOOL_SERVER=unix:///x ROCKPOOL_TOKEN=t " RPCTL_PATH " config kubeconfig");
  EXPECT_EQ(unix_only.exit_code, 1);
}

TEST(api_e2e_flags, listen_refuses_non_loopback_addresses) {
  temp_dir tmp;
  std::ofstream(tmp / "token") << "s3cret-token-0123456789\n";
  std::filesystem::permissions(tmp / "token", std::filesystem::perms::owner_read);
  daemon_process d(ROCKPOOLD_PATH, tmp / "db", tmp / "s.sock",
                   {"--listen", "0.0.0.0:1", "--token-file", tmp / "token"});
  EXPECT_FALSE(d.start());
  EXPECT_NE(d.log().find("loopback only"), std::string::npos) << d.log();
}

// Issue 9, items 3, 12 and 13: early exits are one clear line and exit 1 (no
// abort), nothing out of range is bound, and a failed second daemon leaves
// the running daemon's socket alone.
TEST(api_e2e_flags, bad_flags_exit_1_with_one_line_and_never_abort) {
  temp_dir tmp;
  auto token = tmp / "token";
  std::ofstream(token) << "s3cret-token-0123456789\n";
  std::filesystem::permissions(token, std::filesystem::perms::owner_read);
  auto short_token = tmp / "short";
  std::ofstream(short_token) << "short\n";
  std::filesystem::permissions(short_token, std::filesystem::perms::owner_read);
  auto open_token = tmp / "open";
  std::ofstream(open_token) << "s3cret-token-0123456789\n";
  std::filesystem::permissions(open_token, std::filesystem::perms::owner_read |
                                               std::filesystem::perms::group_read |
                                               std::filesystem::perms::others_read);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--listen 0.0.0.0:1 --token-file " + token, "loopback only"},
      {"--listen 127.0.0.1:65536 --token-file " + token, "1-65535"},
      {"--listen 127.0.0.1:83572 --token-file " + token, "1-65535"},
      {"--listen 127.0.0.1:1 --token-file " + short_token, "shorter than 16"},
      {"--listen 127.0.0.1:1 --token-file " + open_token, "chmod 600"},
  };
  for (const auto& [flags, words] : cases) {
    auto r = run_command(std::string(ROCKPOOLD_PATH) + " --runtime none --data-dir " +
                         (tmp / "db") + " --socket " + (tmp / "s.sock") + " " + flags);
    EXPECT_EQ(r.exit_code, 1) << flags << "\n" << r.out << r.err;
    EXPECT_NE((r.out + r.err).find(words), std::string::npos) << flags << "\n" << r.out << r.err;
  }
}

TEST(api_e2e_flags, a_second_daemon_that_fails_leaves_the_first_ones_socket_and_data_private) {
  temp_dir tmp;
  daemon_process first(ROCKPOOLD_PATH, tmp / "db", tmp / "s.sock");
  ASSERT_TRUE(first.start()) << first.log();
  auto mode = std::filesystem::status(tmp / "db").permissions();
  EXPECT_EQ(mode & std::filesystem::perms::all, std::filesystem::perms::owner_all);
  // Same socket, another data dir: its start fails on the socket in use.
  auto r = run_command(std::string(ROCKPOOLD_PATH) + " --runtime none --data-dir " + (tmp / "db2") +
                       " --socket " + (tmp / "s.sock"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("served by a running process"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::exists(tmp / "s.sock"));
  cli::api_client c({"unix://" + (tmp / "s.sock"), "", 5000});
  auto health = c.request("GET", "/healthz");
  ASSERT_TRUE(health.ok()) << health.err().message;
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(first.stop(), 0);
}

TEST_F(api_e2e_retention, watch_from_a_compacted_revision_gets_410_gone) {
  for (int i = 0; i < 12; ++i)
    ASSERT_EQ(rpctl("apply -f " + write("r.yaml", ws("r", 1 + i))).exit_code, 0);
  auto c = client();
  std::string body;
  auto st = c.stream(
      "/apis/rockpool.dev/v1alpha1/workspaces?watch=true&resourceVersion=1",
      [](std::string_view) { return true; }, &body);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*st, 410);
  EXPECT_NE(body.find("Gone"), std::string::npos) << body;
}

#include "rockpool/specs/object_store.hpp"
#include "rockpool/specs/rocksdb_backend.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {
// A raw watch on the API socket whose receive buffer is tiny, so the server
// blocks on it as soon as the client stops reading. -1 on failure.
int open_unread_watch(const std::string& socket) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket.c_str());
  std::string req =
      "GET /apis/rockpool.dev/v1alpha1/workspaces?watch=true HTTP/1.1\r\nHost: x\r\n\r\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}
}  // namespace

TEST_F(api_e2e, a_watcher_that_never_reads_does_not_block_writers) {
  // A client opens a watch and never reads from it.
  int fd = open_unread_watch(daemon_->socket());
  ASSERT_GE(fd, 0);

  // Meanwhile a reading watcher counts events.
  std::atomic<int> seen{0};
  std::thread reader([&] {
    auto c = client();
    (void)c.stream("/apis/rockpool.dev/v1alpha1/workspaces?watch=true&timeoutSeconds=60",
                   [&](std::string_view line) {
                     if (line.find("\"ADDED\"") != std::string_view::npos) ++seen;
                     return seen < 300;
                   });
  });
  // 300 objects of ~16 KiB each: far more than the stalled socket can buffer.
  auto c = client();
  std::string pad(16000, 'p');
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 300; ++i) {
    auto name = "w" + std::to_string(i);
    auto body = R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":")" +
                name + R"(","annotations":{"pad":")" + pad + R"("}},"spec":{"image":"x"}})";
    auto r = c.request("POST", "/apis/rockpool.dev/v1alpha1/workspaces", body, "application/json");
    ASSERT_TRUE(r.ok() && r->status == 201) << i;
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  reader.join();
  EXPECT_EQ(seen, 300);
  EXPECT_LT(elapsed, std::chrono::seconds(20));
  ::close(fd);
}

TEST_F(api_e2e, apply_reads_stdin_and_recursive_directories) {
  auto r = rpctl("apply -f - < " + samples + "/tiny.yaml");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "workspace/demo created\nportroute/demo-9000 created\n");
  auto dir = tmp_ / "tree";
  std::filesystem::create_directories(dir + "/nested/deeper");
  std::ofstream(dir + "/top.yaml") << ws("top", 1);
  std::ofstream(dir + "/nested/deeper/low.yml") << ws("low", 1);
  std::ofstream(dir + "/nested/notes.txt") << "not a manifest";
  EXPECT_EQ(rpctl("apply -f " + dir).out, "workspace/top created\n");
  EXPECT_EQ(rpctl("apply -R -f " + dir).out, "workspace/low created\nworkspace/top unchanged\n");
}

TEST_F(api_e2e_retention, rpctl_get_watch_survives_a_restart_and_relists_after_gone) {
  command_result watch;
  std::thread watcher([&] { watch = rpctl("get ws -w -o name --timeout 8s"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(rpctl("apply -f " + write("before.yaml", ws("before", 1))).exit_code, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(daemon_->stop(), 0);
  {
    // While the daemon is down, more changes than the event log retains.
    auto backend = specs::open_rocksdb(tmp_ / "db", [] { specs::rocksdb_options o; o.event_retention = 5; return o; }());
    ASSERT_TRUE(backend.ok()) << backend.err().message;
    specs::object_store store(**backend, specs::system_clock());
    for (int i = 0; i < 12; ++i) {
      auto obj = specs::parse_json(
          R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"gap-)" +
          std::to_string(i) + R"("},"spec":{"image":"x"}})");
      ASSERT_TRUE(store.create(*obj, {false, "test"}).ok());
    }
  }
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  watcher.join();
  EXPECT_EQ(watch.exit_code, 0) << watch.err;
  EXPECT_NE(watch.out.find("workspace/before\n"), std::string::npos) << watch.out;
  EXPECT_NE(watch.out.find("workspace/gap-0\n"), std::string::npos) << watch.out;
  EXPECT_NE(watch.out.find("workspace/gap-11\n"), std::string::npos) << watch.out;
}

namespace {
class actor_runtime_e2e : public api_e2e {
 protected:
  std::vector<std::string> extra_args() override {
    return {"--runtime", "fake", "--sweep-interval", "0"};
  }
};
}  // namespace

TEST_F(actor_runtime_e2e, applied_workspace_becomes_ready_and_wait_returns) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  auto r = rpctl("wait ws demo --for=condition=Ready --timeout 10s");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "workspace.rockpool.dev/demo condition met\n");
  EXPECT_EQ(rpctl("wait pr demo-9000 --for=condition=Ready --timeout 10s").exit_code, 0);
  auto table = rpctl("get ws demo").out;
  EXPECT_NE(table.find("demo   Running   True"), std::string::npos) << table;
  auto d = rpctl("describe ws demo").out;
  EXPECT_NE(d.find("Events:\n  TYPE     REASON            AGE"), std::string::npos) << d;
  EXPECT_NE(d.find("InstanceCreated"), std::string::npos) << d;
  EXPECT_NE(rpctl("events").out.find("workspace/demo"), std::string::npos);
  // The control loop's metrics, by kind, next to the API's.
  auto m = client().request("GET", "/metrics")->body;
  for (const char* line :
       {"rockpool_reconcile_total{kind=\"Workspace\",result=\"converged\"}",
        "rockpool_reconcile_total{kind=\"PortRoute\",result=\"converged\"}",
        "rockpool_reconcile_time_seconds_bucket{kind=\"Workspace\",le=\"+Inf\"}",
        "rockpool_workqueue_depth ", "rockpool_watches "})
    EXPECT_NE(m.find(line), std::string::npos) << line << " in\n" << m;
}

TEST_F(actor_runtime_e2e, wait_times_out_with_exit_1_and_a_terminal_condition_is_visible) {
  ASSERT_EQ(
      rpctl("apply -f " + write("bad.yaml", ws("bad", 1).replace(ws("bad", 1).find("image: tiny"),
                                                                 11, "image: no-such-image")))
          .exit_code,
      0);
  auto r = rpctl("wait ws bad --for=condition=Ready --timeout 1s");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: timed out waiting for the condition on workspaces/bad\n");
  EXPECT_EQ(rpctl("wait ws bad --for=condition=Ready=false --timeout 5s").exit_code, 0);
  auto d = rpctl("describe ws bad").out;
  EXPECT_NE(d.find("ImageNotFound"), std::string::npos) << d;
  EXPECT_EQ(rpctl("wait ws nothing --for=condition=Ready --timeout 1s").exit_code, 1);
}

TEST_F(actor_runtime_e2e, delete_wait_tears_down_and_collects_owned_port_routes) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  ASSERT_EQ(rpctl("wait pr demo-9000 --for=condition=Ready --timeout 10s").exit_code, 0);
  auto r = rpctl("delete ws demo --wait --timeout 10s");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(rpctl("wait pr demo-9000 --for=delete --timeout 10s").exit_code, 0);
  EXPECT_EQ(rpctl("get pr").err, "No resources found\n");
  EXPECT_NE(rpctl("events").out.find("InstanceDeleted"), std::string::npos);
}

TEST_F(actor_runtime_e2e, events_watch_prints_new_events) {
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    rpctl("apply -f " + samples + "/tiny.yaml");
  });
  auto r = rpctl("events -w --timeout 3s");
  writer.join();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("InstanceCreated"), std::string::npos) << r.out;
}

// A watcher that falls behind the retention window while its stream is open
// gets an in-stream ERROR event carrying 410, then the stream ends: it must
// relist (as rpctl get -w does).
TEST_F(api_e2e_retention, a_watcher_that_falls_behind_mid_stream_gets_an_error_event_with_410) {
  int fd = open_unread_watch(daemon_->socket());
  ASSERT_GE(fd, 0);
  // While it does not read, far more changes than the socket holds, and far
  // more than the 5 events kept.
  auto c = client();
  std::string pad(16000, 'p');
  for (int i = 0; i < 100; ++i) {
    auto body =
        R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"w)" +
        std::to_string(i) + R"(","annotations":{"pad":")" + pad + R"("}},"spec":{"image":"x"}})";
    auto r = c.request("POST", "/apis/rockpool.dev/v1alpha1/workspaces", body, "application/json");
    ASSERT_TRUE(r.ok() && r->status == 201) << i;
  }
  // Now it reads: what was in flight, then the ERROR.
  std::string got;
  char buf[65536];
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (got.find("\"type\":\"ERROR\"") == std::string::npos &&
         std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  auto at = got.find("\"type\":\"ERROR\"");
  ASSERT_NE(at, std::string::npos) << got.size() << " bytes, no ERROR event";
  auto line_end = got.find('\n', at);
  auto line = got.substr(got.rfind('{', at), line_end - got.rfind('{', at));
  EXPECT_NE(line.find("\"code\":410"), std::string::npos) << line;
  EXPECT_NE(got.find("\"type\":\"ADDED\""), std::string::npos) << "events before it were delivered";
}

// Issue 9, item 1: one ~33 KB request used to kill the daemon (SIGSEGV in a
// recursive std::regex), and rpctl apply/diff of such a file the same way.
TEST_F(api_e2e, huge_patterned_fields_are_refused_and_nothing_crashes) {
  auto c = client();
  auto body = R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"PortRoute","metadata":{"name":"p"},)"
              R"("spec":{"workspace":")" +
              std::string(40000, 'a') + R"(","port":9000}})";
  for (const char* query : {"", "?dryRun=All"}) {
    auto r = c.request("POST", std::string("/apis/rockpool.dev/v1alpha1/portroutes") + query, body,
                       "application/json");
    ASSERT_TRUE(r.ok()) << r.err().message << daemon_->log();
    EXPECT_EQ(r->status, 422) << r->body.substr(0, 300);
  }
  auto memory = write("memory.yaml",
                      "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\n"
                      "metadata:\n  name: m\nspec:\n  image: x\n  resources:\n"
                      "    memory: \"1" +
                          std::string(100000, '0') + "Mi\"\n");
  auto route = write("route.yaml",
                     "apiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\n"
                     "metadata:\n  name: p\nspec:\n  workspace: " +
                         std::string(40000, 'a') + "\n  port: 9000\n");
  for (const auto& file : {memory, route}) {
    auto applied = rpctl("apply -f " + file);
    EXPECT_EQ(applied.exit_code, 1) << applied.err.substr(0, 300);
    EXPECT_NE(applied.err.find("at most"), std::string::npos) << applied.err.substr(0, 300);
    EXPECT_EQ(rpctl("diff -f " + file).exit_code, 2);
  }
  EXPECT_EQ(c.request("GET", "/healthz")->status, 200) << "the daemon is still up";
  EXPECT_EQ(rpctl("get pr").err, "No resources found\n");
}

namespace {

// rpctl exec against rockpoold --runtime fake (the fake Incus runs a few
// commands: echo, cat, sh -c 'exit N', sleep): the WebSocket, the protocol,
// exit codes, stdin, the session limit and refusals (issue 22, item 4).
class exec_e2e : public api_e2e {
 protected:
  std::vector<std::string> extra_args() override { return {"--runtime", "fake", "--bridge", "none"}; }
  void SetUp() override {
    api_e2e::SetUp();
    ASSERT_EQ(rpctl("apply -f " + write("ws.yaml", "apiVersion: rockpool.dev/v1alpha1\n"
                                                    "kind: Workspace\nmetadata: {name: demo}\n"
                                                    "spec: {image: rockpool-tiny}\n"))
                  .exit_code,
              0);
    ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 30s").exit_code, 0);
  }
};

TEST_F(exec_e2e, exec_streams_output_and_stdin_and_returns_the_remote_exit_code) {
  auto echo = rpctl("exec demo -- echo hello world");
  EXPECT_EQ(echo.exit_code, 0) << echo.err;
  EXPECT_EQ(echo.out, "hello world\n");
  auto code = rpctl("exec demo -- sh -c 'exit 7'");
  EXPECT_EQ(code.exit_code, 7) << code.err;
  auto missing = rpctl("exec demo -- cat /nope");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("No such file"), std::string::npos) << missing.err;
  auto piped = run_command("seq 1 20000 | ROCKPOOL_SERVER=" + daemon_->server_url() +
                           " " RPCTL_PATH " exec -i demo -- cat | wc -l");
  EXPECT_EQ(piped.out, "20000\n") << piped.err;
  auto nosuch = rpctl("exec nosuch -- echo");
  EXPECT_EQ(nosuch.exit_code, 1);
  EXPECT_NE(nosuch.err.find("NotFound"), std::string::npos) << nosuch.err;
  // A plain GET (no WebSocket upgrade) says what exec is.
  auto r = client().request("GET", "/apis/rockpool.dev/v1alpha1/workspaces/demo/exec");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("WebSocket"), std::string::npos);
}

TEST_F(exec_e2e, sessions_per_workspace_are_bounded_and_a_closed_client_ends_its_command) {
  std::vector<pid_t> held;
  for (int i = 0; i < 8; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setenv("ROCKPOOL_SERVER", daemon_->server_url().c_str(), 1);
      ::execl(RPCTL_PATH, "rpctl", "exec", "demo", "--", "sleep", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    held.push_back(pid);
  }
  // The ninth is refused while eight are open. The sleepers get two seconds
  // to connect first: an echo among them would take a slot one of them
  // should have had (seen once in CI, where one echo also ended without its
  // exit code: docs/operations.md, "Known problems").
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (auto pid : held) EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), 0) << "a sleeper was refused";
  auto ninth = rpctl("exec demo -- echo ninth");
  EXPECT_EQ(ninth.exit_code, 1);
  EXPECT_NE(ninth.err.find("exec sessions open already"), std::string::npos) << ninth.err;
  // Killing the clients ends their commands and frees the slots.
  for (auto pid : held) ::kill(pid, SIGKILL);
  for (auto pid : held) ::waitpid(pid, nullptr, 0);
  command_result after;
  for (int i = 0; i < 100; ++i) {
    after = rpctl("exec demo -- echo again");
    if (after.exit_code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(after.out, "again\n") << after.err;
}

}  // namespace

namespace {

// The same over HTTPS with the bearer token: the upgraded TLS connection is
// handed to the session and closed by it (a crash here once: the connection
// closed its moved-from TLS stream).
class exec_https_e2e : public api_e2e_tcp {
 protected:
  std::vector<std::string> extra_args() override {
    auto args = api_e2e_tcp::extra_args();
    for (const char* a : {"--runtime", "fake", "--bridge", "none"}) args.emplace_back(a);
    return args;
  }
  command_result over_https(const std::string& args, const std::string& token) {
    return run_command("ROCKPOOL_SERVER=https://127.0.0.1:" + std::to_string(port_) +
                       " ROCKPOOL_CA_FILE=" + (tmp_ / "db/tls/ca.crt") + " ROCKPOOL_TOKEN=" +
                       token + " " RPCTL_PATH " " + args);
  }
};

TEST_F(exec_https_e2e, exec_over_https_needs_the_token_and_leaves_the_server_serving) {
  ASSERT_EQ(rpctl("apply -f " + write("ws.yaml", "apiVersion: rockpool.dev/v1alpha1\n"
                                                  "kind: Workspace\nmetadata: {name: demo}\n"
                                                  "spec: {image: rockpool-tiny}\n"))
                .exit_code,
            0);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 30s").exit_code, 0);
  for (int i = 0; i < 3; ++i) {
    auto r = over_https("exec demo -- echo over-https", "s3cret-token-0123456789");
    EXPECT_EQ(r.out, "over-https\n") << r.err;
    EXPECT_EQ(r.exit_code, 0);
  }
  auto refused = over_https("exec demo -- echo no", "wrong-token-0123456789");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("Unauthorized"), std::string::npos) << refused.err;
  EXPECT_EQ(over_https("get ws -o name", "s3cret-token-0123456789").out, "workspace/demo\n");
}

// The oldest events beyond --events-kept go after a burst, from the
// recorder's own thread, not in the passes that record them.
class events_trim_e2e : public api_e2e {
 protected:
  std::vector<std::string> extra_args() override {
    return {"--runtime", "fake", "--bridge", "none", "--events-kept", "3",
            "--events-trim-after", "5"};
  }
  std::size_t events() {
    auto out = rpctl("get events -o name").out;
    return static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n'));
  }
};

TEST_F(events_trim_e2e, events_beyond_the_limit_go_within_the_trim_period_after_a_burst) {
  std::string all;
  for (int i = 0; i < 6; ++i)
    all += "---\napiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata: {name: w" +
           std::to_string(i) + "}\nspec: {image: rockpool-tiny}\n";
  ASSERT_EQ(rpctl("apply -f " + write("six.yaml", all)).exit_code, 0);
  for (int i = 0; i < 6; ++i)
    ASSERT_EQ(rpctl("wait ws w" + std::to_string(i) + " --for=condition=Ready --timeout 30s")
                  .exit_code,
              0);
  // Six workspaces recorded at least six events, all still there: the
  // trimmer waits 5 s after the first surplus.
  EXPECT_GE(events(), 6u);
  std::size_t left = 0;
  for (int i = 0; i < 150 && (left = events()) != 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(left, 3u);
}

}  // namespace
