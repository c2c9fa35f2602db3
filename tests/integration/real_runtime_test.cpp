// Workspaces and port routes end to end against the real incusd and a real
// Caddy: rockpoold --runtime=incus in an Incus project of its own, Caddy on
// free loopback ports, rpctl and curl as a user would. Under CI=true a missing
// Incus or Caddy fails; elsewhere these tests are skipped.
#include "rockpool/controller/client.hpp"
#include "rockpool/runtime/incus_rest.hpp"
#include "rockpool/specs/codec.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <thread>

using namespace rockpool;
using test_support::command_result;
using test_support::run_command;

namespace {

class real_runtime : public ::testing::Test {
 protected:
  void SetUp() override {
    auto version = runtime::incus_rest({}).server_version();
    if (!version.ok()) {
      if (test_support::in_ci())
        FAIL() << "Incus is required under CI=true: " << version.err().message;
      GTEST_SKIP() << "no incusd";
    }
    if (!caddy_.start()) {
      if (test_support::in_ci()) FAIL() << "Caddy is required under CI=true";
      GTEST_SKIP() << "no caddy";
    }
    project_ = "rockpool-it-" + std::to_string(::getpid());
    control_ = test_support::free_port();
    workspaces_ = test_support::free_port();
    // Parallel tests must not share host ports: start at one the kernel just
    // reported free (the ephemeral range is wide; 50 ports are plenty here).
    int base = test_support::free_port();
    if (base > 65000) base = 64000;
    daemon_ = std::make_unique<test_support::daemon_process>(
        ROCKPOOLD_PATH, tmp_ / "db", tmp_ / "api.sock",
        std::vector<std::string>{
            "--runtime", "incus", "--incus-project", project_, "--caddy-admin", caddy_.admin(),
            "--caddy-control-listen", "127.0.0.1:" + std::to_string(control_),
            "--caddy-workspace-listen", "127.0.0.1:" + std::to_string(workspaces_), "--host-ports",
            std::to_string(base) + "-" + std::to_string(base + 99), "--sweep-interval", "30"});
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }
  void TearDown() override {
    if (!daemon_) return;
    for (const auto& name : {"demo", "other", "bad", "taken"})
      rpctl(std::string("delete ws ") + name + " --wait --timeout 30s");
    daemon_->stop();
    runtime::incus_rest_options o;
    o.project = project_;
    runtime::incus_rest incus(o);
    auto left = incus.list_instances();
    if (left.ok()) {
      EXPECT_TRUE(left->empty() || leftovers_allowed_)
          << left->size() << " instance(s) left in " << project_;
      for (const auto& n : *left) (void)incus.delete_instance(n);
    }
    (void)runtime::incus_rest({}).delete_project(project_);
  }

  command_result rpctl(const std::string& args) {
    return run_command("ROCKPOOL_SERVER=" + daemon_->server_url() + " " RPCTL_PATH " " + args);
  }
  command_result incus(const std::string& args) {
    return run_command("incus " + args + " --project " + project_);
  }
  // Incus runs one operation per instance at a time: retry while it is busy.
  int incus_retrying(const std::string& args) {
    command_result r;
    for (int i = 0; i < 50; ++i) {
      r = incus(args);
      if (r.exit_code == 0 || r.err.find("busy") == std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (r.exit_code != 0) std::cerr << "incus " << args << ": " << r.err;
    return r.exit_code;
  }
  std::string get(unsigned short port, const std::string& path, long* status = nullptr) {
    controller::api_client c({"http://127.0.0.1:" + std::to_string(port), "", 3000});
    auto r = c.request("GET", path);
    if (status) *status = r.ok() ? r->status : 0;
    return r.ok() ? r->body : std::string();
  }
  // Polls until GET through Caddy's workspace server returns `want`, up to `limit`.
  double seconds_until(const std::string& path, const std::string& want, double limit) {
    auto start = std::chrono::steady_clock::now();
    while (true) {
      auto elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (get(workspaces_, path).find(want) != std::string::npos) return elapsed;
      if (elapsed > limit) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::string phase(const std::string& ws) {
    auto v = specs::parse_json(rpctl("get ws " + ws + " -o json").out);
    return v.ok() ? specs::string_at(*v, "status.phase") : std::string();
  }
  std::string write(const std::string& name, const std::string& text) {
    auto path = tmp_ / name;
    std::ofstream(path) << text;
    return path;
  }

  test_support::temp_dir tmp_;
  test_support::caddy_process caddy_;
  std::unique_ptr<test_support::daemon_process> daemon_;
  std::string project_;
  unsigned short control_ = 0, workspaces_ = 0;
  bool leftovers_allowed_ = false;
};

const std::string samples = SAMPLES_DIR;
const std::string ide_page = "rockpool-tiny IDE";
const std::string port_page = "rockpool-tiny port 9000";

}  // namespace

TEST_F(real_runtime,
       quickstart_serves_the_ide_and_the_port_through_caddy_only_on_the_workspace_port) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/quickstart.yaml").exit_code, 0);
  auto r = rpctl("wait ws demo --for=condition=Ready --timeout 60s");
  ASSERT_EQ(r.exit_code, 0) << r.err << rpctl("describe ws demo").out;
  ASSERT_EQ(rpctl("wait pr demo-9000 --for=condition=Ready --timeout 30s").exit_code, 0)
      << rpctl("describe pr demo-9000").out;
  EXPECT_NE(incus("list -c ns -f csv").out.find("demo,RUNNING"), std::string::npos);
  long status = 0;
  EXPECT_NE(get(workspaces_, "/workspace/demo/", &status).find(ide_page), std::string::npos);
  EXPECT_EQ(status, 200);
  EXPECT_NE(get(workspaces_, "/workspace/demo/port/9000/").find(port_page), std::string::npos);
  get(control_, "/workspace/demo/", &status);
  EXPECT_EQ(status, 404) << "workspace content on the control-plane origin";
  get(workspaces_, "/api/version", &status);
  EXPECT_EQ(status, 404) << "control plane on the workspace origin";
}

TEST_F(real_runtime, stopping_stops_the_instance_and_the_route_then_running_restarts_it) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/quickstart.yaml").exit_code, 0);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0);
  auto stopped = write("stopped.yaml",
                       "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: "
                       "demo\n  labels: {app: quickstart}\nspec:\n  image: rockpool-tiny\n  "
                       "resources: {cpu: 1, memory: 256Mi}\n  state: Stopped\n");
  ASSERT_EQ(rpctl("apply -f " + stopped).exit_code, 0);
  for (int i = 0; i < 300 && phase("demo") != "Stopped"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(phase("demo"), "Stopped") << rpctl("describe ws demo").out;
  ASSERT_EQ(rpctl("wait pr demo-9000 --for=condition=Ready=false --timeout 30s").exit_code, 0);
  EXPECT_NE(incus("list -c ns -f csv").out.find("demo,STOPPED"), std::string::npos);
  long status = 0;
  get(workspaces_, "/workspace/demo/", &status);
  EXPECT_EQ(status, 404);
  ASSERT_EQ(rpctl("apply -f " + samples + "/quickstart.yaml").exit_code, 0);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0);
  EXPECT_GE(seconds_until("/workspace/demo/port/9000/", port_page, 30), 0);
}

TEST_F(real_runtime, delete_removes_routes_devices_ports_and_the_instance) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/quickstart.yaml").exit_code, 0);
  ASSERT_EQ(rpctl("wait pr demo-9000 --for=condition=Ready --timeout 60s").exit_code, 0);
  ASSERT_EQ(rpctl("delete ws demo --wait --timeout 60s").exit_code, 0);
  EXPECT_EQ(rpctl("get pr").err, "No resources found\n");
  EXPECT_EQ(incus("list -c n -f csv").out, "");
  auto config = run_command("curl -fsS http://" + caddy_.admin() +
                            "/config/apps/http/servers/rockpool-workspaces/routes")
                    .out;
  EXPECT_EQ(config.find("rockpool-ws-demo"), std::string::npos) << config;
  EXPECT_EQ(config.find("rockpool-pr-demo-9000"), std::string::npos) << config;
  auto ports =
      run_command("curl -fsS --unix-socket " + daemon_->socket() + " http://x/metrics").out;
  EXPECT_NE(ports.find("rockpool_reconcilers 0"), std::string::npos) << ports;
}

TEST_F(real_runtime, an_instance_stopped_or_deleted_behind_the_controllers_back_comes_back) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/quickstart.yaml").exit_code, 0);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0);
  ASSERT_GE(seconds_until("/workspace/demo/", ide_page, 10), 0);
  ASSERT_EQ(incus_retrying("stop --force demo"), 0);
  auto after_stop = seconds_until("/workspace/demo/", ide_page, 20);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 30s").exit_code, 0);
  ASSERT_EQ(incus_retrying("delete --force demo"), 0);
  auto after_delete = seconds_until("/workspace/demo/", ide_page, 20);
  std::cout << "self-heal: back after stop --force in " << after_stop
            << " s, after delete --force in " << after_delete << " s\n";
  EXPECT_GE(after_stop, 0);
  EXPECT_GE(after_delete, 0);
  EXPECT_LT(after_stop, 5);
  auto ws = specs::parse_json(rpctl("get ws demo -o json").out);
  EXPECT_EQ(specs::int_at(*ws, "status.restarts"), 2)
      << rpctl("describe ws demo").out << rpctl("events").out;
  auto events = rpctl("events").out;
  EXPECT_NE(events.find("InstanceCrashed"), std::string::npos) << events;
  EXPECT_NE(events.find("InstanceVanished"), std::string::npos) << events;
}

TEST_F(real_runtime, caddy_restarted_empty_or_edited_by_hand_gets_its_routes_back) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/quickstart.yaml").exit_code, 0);
  ASSERT_EQ(rpctl("wait pr demo-9000 --for=condition=Ready --timeout 60s").exit_code, 0);
  // A route removed by hand through the admin API.
  ASSERT_EQ(
      run_command("curl -fsS -X DELETE http://" + caddy_.admin() + "/id/rockpool-pr-demo-9000")
          .exit_code,
      0);
  EXPECT_GE(seconds_until("/workspace/demo/port/9000/", port_page, 10), 0);
  // Caddy restarted with an empty config (same admin address).
  caddy_.kill9();
  ASSERT_TRUE(caddy_.start());
  EXPECT_GE(seconds_until("/workspace/demo/", ide_page, 10), 0);
  EXPECT_GE(seconds_until("/workspace/demo/port/9000/", port_page, 10), 0);
}

TEST_F(real_runtime, bad_input_becomes_conditions_and_foreign_instances_are_untouched) {
  ASSERT_EQ(
      rpctl("apply -f " + write("bad.yaml",
                                "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  "
                                "name: bad\nspec:\n  image: no-such-image\n"))
          .exit_code,
      0);
  ASSERT_EQ(rpctl("wait ws bad --for=condition=Ready=false --timeout 30s").exit_code, 0);
  EXPECT_NE(rpctl("describe ws bad").out.find("ImageNotFound"), std::string::npos);
  // An instance the controller does not own, with the name a workspace wants.
  ASSERT_EQ(incus("init rockpool-tiny taken").exit_code, 0);
  ASSERT_EQ(
      rpctl("apply -f " + write("taken.yaml",
                                "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  "
                                "name: taken\nspec:\n  image: rockpool-tiny\n"))
          .exit_code,
      0);
  ASSERT_EQ(rpctl("wait ws taken --for=condition=Ready=false --timeout 30s").exit_code, 0);
  EXPECT_NE(rpctl("describe ws taken").out.find("NameConflict"), std::string::npos);
  ASSERT_EQ(rpctl("delete ws taken --wait --timeout 30s").exit_code, 0);
  EXPECT_NE(incus("list -c ns -f csv").out.find("taken,STOPPED"), std::string::npos)
      << "the foreign instance was touched";
  incus("delete --force taken");
}
