// Workspaces and port routes end to end against the real incusd and a real
// Caddy: rockpoold --runtime=incus in an Incus project of its own, Caddy on
// free loopback ports, rpctl and curl as a user would. Under CI=true a missing
// Incus or Caddy fails; elsewhere these tests are skipped.
#include "real_runtime_fixture.hpp"
#include "raw_socket.hpp"

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <functional>
#include <thread>

using namespace rockpool;
using test_support::command_result;
using test_support::ide_page;
using test_support::port_page;
using test_support::run_command;
using test_support::samples;

using rockpool::test_support::real_runtime;

namespace {}  // namespace

TEST_F(real_runtime,
       quickstart_serves_the_ide_and_the_port_through_caddy_only_on_the_workspace_port) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
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
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0);
  auto stopped = write("stopped.yaml",
                       "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: "
                       "demo\n  labels: {app: tiny-demo}\nspec:\n  image: rockpool-tiny\n  "
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
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0);
  EXPECT_GE(seconds_until("/workspace/demo/port/9000/", port_page, 30), 0);
}

TEST_F(real_runtime, delete_removes_routes_devices_ports_and_the_instance) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
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
  // The workspace's and the port route's reconcilers are gone; Host/local's stays.
  EXPECT_NE(ports.find("rockpool_reconcilers 1\n"), std::string::npos) << ports;
}

TEST_F(real_runtime, an_instance_stopped_or_deleted_behind_the_controllers_back_comes_back) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
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
  // Settled: Ready again, both restarts counted, the vanishing recorded. (A
  // delete --force of a running instance stops it first, so the pass may see
  // it stopped before it is gone and count that too: two or three.)
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 30s").exit_code, 0);
  auto ws = specs::parse_json(rpctl("get ws demo -o json").out);
  ASSERT_TRUE(ws.ok());
  EXPECT_GE(specs::int_at(*ws, "status.restarts").value_or(0), 2)
      << rpctl("get ws demo -o yaml").out << rpctl("events").out << daemon_->log();
  auto events = rpctl("events").out;
  EXPECT_NE(events.find("InstanceVanished"), std::string::npos) << events;
}

TEST_F(real_runtime, caddy_restarted_empty_or_edited_by_hand_gets_its_routes_back) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
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

namespace {

// A listener on 127.0.0.1:port, as another program on the host would hold it.
class loopback_listener {
 public:
  explicit loopback_listener(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<unsigned short>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ =
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd_, 4) == 0;
  }
  ~loopback_listener() { ::close(fd_); }
  bool ok() const { return ok_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

const std::string demo_yaml =
    "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: demo\nspec:\n  "
    "image: rockpool-tiny\n";

}  // namespace

TEST_F(real_runtime, a_host_port_taken_by_another_process_moves_the_workspace_to_another_port) {
  ASSERT_EQ(rpctl("apply -f " + write("demo.yaml", demo_yaml + "  state: Running\n")).exit_code, 0);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0);
  auto host_port = [&] {
    auto ws = specs::parse_json(rpctl("get ws demo -o json").out);
    return ws.ok() ? specs::int_at(*ws, "status.hostPort").value_or(0) : 0;
  };
  auto first = host_port();
  ASSERT_GT(first, 0);
  ASSERT_EQ(rpctl("apply -f " + write("demo.yaml", demo_yaml + "  state: Stopped\n")).exit_code, 0);
  for (int i = 0; i < 300 && phase("demo") != "Stopped"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(phase("demo"), "Stopped");
  // While it is stopped, another program starts listening on its host port.
  loopback_listener squatter(static_cast<int>(first));
  ASSERT_TRUE(squatter.ok());
  ASSERT_EQ(rpctl("apply -f " + write("demo.yaml", demo_yaml + "  state: Running\n")).exit_code, 0);
  auto r = rpctl("wait ws demo --for=condition=Ready --timeout 60s");
  ASSERT_EQ(r.exit_code, 0) << rpctl("describe ws demo").out;
  EXPECT_NE(host_port(), first);
  EXPECT_GE(seconds_until("/workspace/demo/", ide_page, 10), 0);
  auto events = rpctl("events").out;
  EXPECT_NE(events.find("HostPortInUse"), std::string::npos) << events;
}

TEST_F(real_runtime, a_port_route_for_an_already_routed_port_is_refused_and_changes_nothing) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  auto dup = write("dup.yaml",
                   "apiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\nmetadata:\n  name: "
                   "demo-9000-again\nspec:\n  workspace: demo\n  port: 9000\n");
  auto r = rpctl("apply -f " + dup);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("dup.yaml: document 1 (PortRoute \"demo-9000-again\")"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("spec.port: port 9000 of workspace \"demo\" is already routed by "
                       "portroute/demo-9000"),
            std::string::npos)
      << r.err;
  EXPECT_NE(rpctl("get pr demo-9000-again").exit_code, 0);
}

TEST_F(real_runtime, resource_changes_reach_the_running_instance_without_restarting_it) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0);
  auto pid = [&] {
    auto st = specs::parse_json(
        run_command("incus query '/1.0/instances/demo/state?project=" + project_ + "'").out);
    return st.ok() ? specs::int_at(*st, "pid").value_or(0) : 0;
  };
  auto before = pid();
  ASSERT_GT(before, 0);
  auto bigger = write("bigger.yaml", demo_yaml + "  resources: {cpu: 2, memory: 384Mi}\n");
  ASSERT_EQ(rpctl("apply -f " + bigger).exit_code, 0);
  std::string memory;
  for (int i = 0; i < 100 && memory != "384MiB"; ++i) {
    memory = incus("config get demo limits.memory").out;
    if (!memory.empty() && memory.back() == '\n') memory.pop_back();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(memory, "384MiB");
  EXPECT_EQ(incus("config get demo limits.cpu").out, "2\n");
  EXPECT_EQ(pid(), before) << "a live change restarted the instance";
  ASSERT_EQ(rpctl("wait ws demo --for=condition=ConfigApplied --timeout 30s").exit_code, 0);
  // Nesting takes effect at the next start: reported, not forced.
  ASSERT_EQ(
      rpctl("apply -f " + write("nested.yaml", demo_yaml + "  resources: {cpu: 2, memory: 384Mi}\n"
                                                           "  nesting: true\n"))
          .exit_code,
      0);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=ConfigApplied=false --timeout 30s").exit_code, 0);
  EXPECT_NE(rpctl("describe ws demo").out.find("RestartRequired"), std::string::npos);
  EXPECT_EQ(pid(), before);
  EXPECT_EQ(incus("config get demo security.nesting").out, "false\n");
  EXPECT_GE(seconds_until("/workspace/demo/", ide_page, 5), 0) << "it keeps serving";
}

TEST_F(real_runtime, sigkill_while_applying_twenty_workspaces_converges_without_leaks) {
  std::string manifest;
  for (int i = 0; i < 20; ++i)
    manifest += "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: w" +
                std::to_string(i) +
                "\nspec:\n  image: rockpool-tiny\n  resources: {cpu: 1, memory: 128Mi}\n---\n";
  auto file = write("twenty.yaml", manifest);
  leftovers_allowed_ = false;
  std::thread applier([&] { rpctl("apply -f " + file); });
  // Kill it while instances are being created.
  for (int i = 0; i < 100 && incus("list -c n -f csv").out.size() < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  daemon_->kill9();
  applier.join();
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  ASSERT_EQ(rpctl("apply -f " + file).exit_code, 0);  // what a user does after a failed apply
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(
        rpctl("wait ws w" + std::to_string(i) + " --for=condition=Ready --timeout 120s").exit_code,
        0)
        << i;
  auto names = incus("list -c n -f csv").out;
  EXPECT_EQ(std::count(names.begin(), names.end(), '\n'), 20) << names;
  // One proxy device per workspace, each on its own host port, and one route each.
  std::set<std::string> listens;
  for (int i = 0; i < 20; ++i) {
    std::istringstream lines(incus("config device list w" + std::to_string(i)).out);
    std::set<std::string> devices;
    for (std::string d; std::getline(lines, d);) devices.insert(d);
    EXPECT_EQ(devices, (std::set<std::string>{"home", "rockpool-ide", "root"})) << "w" << i;
    listens.insert(incus("config device get w" + std::to_string(i) + " rockpool-ide listen").out);
  }
  EXPECT_EQ(listens.size(), 20u);
  auto routes = run_command("curl -fsS http://" + caddy_.admin() +
                            "/config/apps/http/servers/rockpool-workspaces/routes")
                    .out;
  int count = 0;
  for (auto at = routes.find("rockpool-ws-"); at != std::string::npos;
       at = routes.find("rockpool-ws-", at + 1))
    ++count;
  EXPECT_EQ(count, 20) << routes;
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(rpctl("delete ws w" + std::to_string(i) + " --wait --timeout 60s").exit_code, 0);
  EXPECT_EQ(incus("list -c n -f csv").out, "");
  // Nor a home volume, even of a workspace whose first pass the kill cut short.
  auto volumes = run_command("incus storage volume list default -f csv -c n").out;
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(volumes.find("home-w" + std::to_string(i) + "-"), std::string::npos) << volumes;
}

TEST_F(real_runtime, preflight_reports_each_check_and_passes_for_containers) {
  command_result r;
  for (int i = 0; i < 50; ++i) {  // the first probe runs right after start-up
    r = rpctl("preflight");
    if (r.out.find("CaddyReachable") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("PASS  IncusReachable: Incus "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PASS  ContainersOperational"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PASS  CaddyReachable"), std::string::npos) << r.out;
  for (const char* check : {"VirtualMachinesOperational", "KVMPresent", "NestedKVM", "VhostVsock"})
    EXPECT_NE(r.out.find(check), std::string::npos) << check;
}

// Sign-in on the workspace server (issue 22): nothing under /workspace/ answers
// a browser that has not signed in, except a public port; a link works once
// and only leads to a workspace path; the session cookie never reaches the
// workspace.
TEST_F(real_runtime, the_workspace_server_answers_only_signed_in_browsers_and_public_ports) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  ASSERT_EQ(rpctl("wait pr demo-9000 --for=condition=Ready --timeout 60s").exit_code, 0)
      << rpctl("describe pr demo-9000").out;
  // Anonymous: 401 with a page that says how to sign in.
  auto anon = get_with_cookie(workspaces_, "/workspace/demo/", "");
  EXPECT_EQ(anon.status, 401);
  EXPECT_NE(anon.body.find("rpctl open"), std::string::npos) << anon.body;
  EXPECT_EQ(get_with_cookie(workspaces_, "/workspace/demo/port/9000/", "").status, 401);
  // A forged cookie is no better.
  EXPECT_EQ(get_with_cookie(workspaces_, "/workspace/demo/", "rockpool_x=1.2.3").status, 401);
  // A link signs in once.
  auto link = rpctl("open demo --print-url");
  ASSERT_EQ(link.exit_code, 0) << link.err;
  auto url = link.out.substr(0, link.out.find('\n'));
  auto path = url.substr(url.find("/.rockpool/"));
  auto first = get_with_cookie(workspaces_, path, "");
  ASSERT_EQ(first.status, 303) << first.body;
  EXPECT_EQ(first.headers["location"], "/workspace/demo/");
  auto set = first.headers["set-cookie"];
  EXPECT_NE(set.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set.find("SameSite=Lax"), std::string::npos);
  auto cookie = set.substr(0, set.find(';'));
  EXPECT_EQ(get_with_cookie(workspaces_, path, "").status, 401) << "a used link";
  auto page = get_with_cookie(workspaces_, "/workspace/demo/", cookie);
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find(ide_page), std::string::npos);
  EXPECT_EQ(get_with_cookie(workspaces_, "/workspace/demo/port/9000/", cookie).status, 200);
  // Only to a workspace path, never elsewhere.
  for (const std::string to : {"//elsewhere.example/", "https://elsewhere.example/"}) {
    auto l = rpctl("open demo --print-url");
    auto u = l.out.substr(0, l.out.find('\n'));
    auto p = u.substr(u.find("/.rockpool/"), u.find("&to=") - u.find("/.rockpool/"));
    auto r = get_with_cookie(workspaces_, p + "&to=" + to, "");
    EXPECT_EQ(r.status, 400) << to;
    EXPECT_EQ(r.headers.count("set-cookie"), 0u) << to;
  }
  // /workspace/demo redirects to /workspace/demo/.
  auto bare = get_with_cookie(workspaces_, "/workspace/demo", cookie);
  EXPECT_EQ(bare.status, 308);
  EXPECT_EQ(bare.headers["location"], "/workspace/demo/");
  // A public port answers anyone.
  ASSERT_EQ(rpctl("apply -f " + write("public.yaml",
                                       "apiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\n"
                                       "metadata:\n  name: demo-9000\n  labels: {app: tiny-demo}\n"
                                       "spec:\n  workspace: demo\n  port: 9000\n  public: true\n"))
                .exit_code,
            0);
  long status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    status = get_with_cookie(workspaces_, "/workspace/demo/port/9000/", "").status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status, 200) << "a public port without sign-in";
  EXPECT_EQ(get_with_cookie(workspaces_, "/workspace/demo/", "").status, 401);
}

// The home volume (issue 22, item 3): made before the instance, mounted at
// /home/dev, kept when a new image re-creates the instance, deleted with the
// workspace.
TEST_F(real_runtime, the_home_volume_outlives_a_recreated_instance_and_goes_with_the_workspace) {
  auto fingerprint = run_command("incus image list rockpool-tiny -f csv -c F").out;
  fingerprint = fingerprint.substr(0, fingerprint.find('\n'));
  ASSERT_FALSE(fingerprint.empty());
  run_command("incus image alias delete rockpool-tiny-b");
  ASSERT_EQ(run_command("incus image alias create rockpool-tiny-b " + fingerprint).exit_code, 0);
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0)
      << rpctl("describe ws demo").out;
  auto ws = specs::parse_json(rpctl("get ws demo -o json").out);
  ASSERT_TRUE(ws.ok());
  auto volume = specs::string_at(*ws, "status.home.volume");
  ASSERT_FALSE(volume.empty());
  EXPECT_NE(run_command("incus storage volume list default -f csv").out.find(volume),
            std::string::npos);
  auto in_demo = [&](const std::string& command) {
    return run_command("incus exec --project " + project_ + " demo -- " + command);
  };
  ASSERT_EQ(in_demo("sh -c 'echo kept > /home/dev/proof'").exit_code, 0);
  auto changed = write("b.yaml",
                       "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: "
                       "demo\n  labels: {app: tiny-demo}\nspec:\n  image: rockpool-tiny-b\n  "
                       "resources: {cpu: 1, memory: 256Mi}\n");
  ASSERT_EQ(rpctl("apply -f " + changed).exit_code, 0);
  bool recreated = false;
  for (int i = 0; i < 300 && !recreated; ++i) {
    recreated = incus("config get demo user.rockpool.image").out.find("rockpool-tiny-b") !=
                std::string::npos;
    if (!recreated) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(recreated) << rpctl("describe ws demo").out;
  // (Ready may still be the old instance's for a moment: look until the new one runs.)
  std::string proof;
  for (int i = 0; i < 100 && proof != "kept\n"; ++i) {
    proof = in_demo("cat /home/dev/proof").out;
    if (proof != "kept\n") std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(proof, "kept\n");
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0);
  EXPECT_NE(rpctl("describe ws demo").out.find("Recreated"), std::string::npos);
  ASSERT_EQ(rpctl("delete ws demo --wait --timeout 60s").exit_code, 0);
  EXPECT_EQ(run_command("incus storage volume list default -f csv").out.find(volume),
            std::string::npos)
      << "the home volume goes with the workspace";
  run_command("incus image alias delete rockpool-tiny-b");
}

// Sleeping workspaces (issue 23): with no traffic for idleAfter the instance
// is stopped and the workspace shows Sleeping; an anonymous request gets 401
// and wakes nothing; a signed-in one is held until the workspace serves, and
// then answered (the time it took is printed); rockpoold killed during a wake
// finishes it after its restart.
TEST_F(real_runtime, an_idle_workspace_sleeps_and_a_signed_in_request_wakes_it) {
  ASSERT_EQ(rpctl("apply -f " + write("nap.yaml",
                                       "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\n"
                                       "metadata: {name: nap}\n"
                                       "spec: {image: rockpool-tiny, lifecycle: {idleAfter: 10s}}\n"))
                .exit_code,
            0);
  // Deleted however the test ends: its home volume lives outside the project.
  struct remove_nap {
    std::function<void()> remove;
    ~remove_nap() { remove(); }
  } remove{[this] { rpctl("delete ws nap --wait --timeout 60s"); }};
  ASSERT_EQ(rpctl("wait ws nap --for=condition=Ready --timeout 60s").exit_code, 0)
      << rpctl("describe ws nap").out;
  auto cookie = sign_in("nap");
  ASSERT_FALSE(cookie.empty());
  auto phase = [&] {
    auto v = specs::parse_json(rpctl("get ws nap -o json").out);
    return v.ok() ? specs::string_at(*v, "status.phase") : std::string();
  };
  auto instance_state = [&] {
    auto s = run_command("incus list --project " + project_ + " nap -f csv -c s").out;
    return s.substr(0, s.find('\n'));
  };
  auto t = std::chrono::steady_clock::now();
  for (int i = 0; i < 400 && phase() != "Sleeping"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(phase(), "Sleeping") << rpctl("describe ws nap").out;
  // (Sleeping is written first, then the instance is stopped.)
  for (int i = 0; i < 300 && instance_state() != "STOPPED"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::fprintf(stderr, "  asleep %.1f s after Ready (idleAfter 10s)\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
  EXPECT_EQ(instance_state(), "STOPPED");
  // Anonymous: refused, and the workspace sleeps on.
  EXPECT_EQ(get_with_cookie(workspaces_, "/workspace/nap/", "").status, 401);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(phase(), "Sleeping") << "an anonymous request woke it";
  // Signed in: held while it wakes, then the page.
  runtime::http_call c;
  c.url = "http://127.0.0.1:" + std::to_string(workspaces_) + "/workspace/nap/";
  c.timeout_ms = 70000;
  c.headers.push_back("Cookie: " + cookie);
  t = std::chrono::steady_clock::now();
  auto r = runtime::http_perform(c);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find(ide_page), std::string::npos) << r->body;
  std::fprintf(stderr, "  first byte after a wake: %.2f s\n", took);
  EXPECT_EQ(phase(), "Running");
  EXPECT_EQ(instance_state(), "RUNNING");
  auto events = rpctl("events").out;
  EXPECT_NE(events.find("Sleeping"), std::string::npos) << events;
  EXPECT_NE(events.find("Woken"), std::string::npos) << events;

  // rockpoold killed in the middle of a wake: after the restart the wake is
  // finished (the request to wake is in the store), the phase and the
  // instance agree, and a signed-in request is served.
  for (int i = 0; i < 400 && phase() != "Sleeping"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(phase(), "Sleeping");
  std::thread waker([&] { (void)runtime::http_perform(c); });
  for (int i = 0; i < 200 && rpctl("get ws nap -o yaml").out.find("rockpool.dev/wake") ==
                                  std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  daemon_->kill9();
  waker.join();
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  std::string settled;
  for (int i = 0; i < 300; ++i) {
    settled = phase() + "/" + instance_state();
    if (settled == "Running/RUNNING") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(settled, "Running/RUNNING") << rpctl("describe ws nap").out;
  r = runtime::http_perform(c);
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->status, 200) << r->body;
}

// Snapshots (issue 23): a WorkspaceSnapshot takes Incus snapshots of the
// instance and its home at one moment (the container frozen meanwhile);
// rpctl restore brings both back, also when rockpoold is killed in the
// middle of it; a clone starts from it; a retained one outlives the
// workspace; deleting the snapshot, then the workspace, leaves nothing.
TEST_F(real_runtime, a_snapshot_restores_the_home_and_the_root_disk_even_after_a_kill_9) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0)
      << rpctl("describe ws demo").out;
  auto in_demo = [&](const std::string& command) {
    return run_command("incus exec --project " + project_ + " demo -- sh -c '" + command + "'");
  };
  auto both = [&] { return in_demo("cat /home/dev/proof /etc/proof").out; };
  ASSERT_EQ(in_demo("echo home-1 > /home/dev/proof; echo root-1 > /etc/proof").exit_code, 0);
  auto snapshot = [&](const std::string& name) {
    return write(name + ".yaml", "apiVersion: rockpool.dev/v1alpha1\nkind: WorkspaceSnapshot\n"
                                 "metadata: {name: " + name + "}\nspec: {workspace: demo}\n");
  };
  ASSERT_EQ(rpctl("apply -f " + snapshot("s1")).exit_code, 0);
  ASSERT_EQ(rpctl("wait wss s1 --for=condition=Ready --timeout 60s").exit_code, 0)
      << rpctl("describe wss s1").out;
  auto snap = specs::parse_json(rpctl("get wss s1 -o json").out);
  ASSERT_TRUE(snap.ok());
  auto volume = specs::string_at(*snap, "status.homeVolume");
  ASSERT_FALSE(volume.empty());
  std::cout << "snapshot of a running tiny workspace: paused "
            << specs::int_at(*snap, "status.pauseMilliseconds").value_or(-1) << " ms\n";
  EXPECT_NE(incus("snapshot list demo -f csv").out.find("rockpool-s1"), std::string::npos);
  EXPECT_NE(run_command("incus storage volume snapshot list default " + volume + " -f csv").out.find(
                "rockpool-s1"),
            std::string::npos);
  EXPECT_EQ(incus("list demo -c s -f csv").out, "RUNNING\n") << "thawed after the snapshot";

  ASSERT_EQ(in_demo("echo home-2 > /home/dev/proof; echo root-2 > /etc/proof").exit_code, 0);
  auto restored = rpctl("restore s1 --wait --timeout 90s");
  EXPECT_EQ(restored.exit_code, 0) << restored.err << rpctl("describe ws demo").out;
  EXPECT_EQ(both(), "home-1\nroot-1\n");
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0);

  // Killed just after asking for a restore: after the restart it is done, once.
  ASSERT_EQ(in_demo("echo home-3 > /home/dev/proof; echo root-3 > /etc/proof").exit_code, 0);
  ASSERT_EQ(rpctl("restore s1").exit_code, 0);
  for (int i = 0; i < 40 && incus("list demo -c s -f csv").out == "RUNNING\n"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  daemon_->kill9();
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  std::string result;
  for (int i = 0; i < 300 && result != "Restored"; ++i) {
    auto ws = specs::parse_json(rpctl("get ws demo -o json").out);
    result = ws.ok() ? specs::string_at(*ws, "status.restored.result") : "";
    auto id = ws.ok() ? specs::string_at(*ws, "spec.restore.id") : "";
    if (ws.ok() && specs::string_at(*ws, "status.restored.id") != id) result.clear();
    if (result != "Restored") std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(result, "Restored") << rpctl("describe ws demo").out;
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0)
      << rpctl("describe ws demo").out;
  EXPECT_EQ(both(), "home-1\nroot-1\n");
  EXPECT_EQ(incus("list demo -c s -f csv").out, "RUNNING\n");

  // A clone starts with the snapshot's home and root disk, in a home of its own.
  ASSERT_EQ(in_demo("echo home-4 > /home/dev/proof").exit_code, 0);
  ASSERT_EQ(rpctl("apply -f " + write("copy.yaml", "apiVersion: rockpool.dev/v1alpha1\n"
                                                   "kind: Workspace\nmetadata: {name: other}\n"
                                                   "spec: {image: rockpool-tiny, source: "
                                                   "{snapshot: s1}}\n"))
                .exit_code,
            0);
  ASSERT_EQ(rpctl("wait ws other --for=condition=Ready --timeout 60s").exit_code, 0)
      << rpctl("describe ws other").out;
  EXPECT_EQ(run_command("incus exec --project " + project_ +
                        " other -- cat /home/dev/proof /etc/proof")
                .out,
            "home-1\nroot-1\n");
  EXPECT_EQ(in_demo("cat /home/dev/proof").out, "home-4\n") << "the original is untouched";
  ASSERT_EQ(rpctl("delete ws other --wait --timeout 60s").exit_code, 0);

  ASSERT_EQ(rpctl("delete wss s1 --wait --timeout 60s").exit_code, 0);
  EXPECT_EQ(incus("snapshot list demo -f csv").out, "");
  EXPECT_EQ(run_command("incus storage volume snapshot list default " + volume + " -f csv").out, "");
  // A snapshot goes with its workspace, and so do the Incus snapshots; a
  // retained one is copied out and kept until it is deleted.
  ASSERT_EQ(rpctl("apply -f " + snapshot("s2")).exit_code, 0);
  ASSERT_EQ(rpctl("apply -f " + write("s3.yaml", "apiVersion: rockpool.dev/v1alpha1\n"
                                                 "kind: WorkspaceSnapshot\nmetadata: {name: s3}\n"
                                                 "spec: {workspace: demo, retain: true}\n"))
                .exit_code,
            0);
  ASSERT_EQ(rpctl("wait wss s2 --for=condition=Ready --timeout 60s").exit_code, 0);
  ASSERT_EQ(rpctl("wait wss s3 --for=condition=Ready --timeout 60s").exit_code, 0);
  ASSERT_EQ(rpctl("delete ws demo --wait --timeout 120s").exit_code, 0)
      << rpctl("describe wss s3").out;
  for (int i = 0; i < 100 && rpctl("get wss -o name").out != "workspacesnapshot/s3\n"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(rpctl("get wss -o name").out, "workspacesnapshot/s3\n");
  auto kept = specs::parse_json(rpctl("get wss s3 -o json").out);
  ASSERT_TRUE(kept.ok());
  auto holder = specs::string_at(*kept, "status.instance");
  auto holder_home = specs::string_at(*kept, "status.homeVolume");
  EXPECT_EQ(incus("list " + holder + " -c s -f csv").out, "STOPPED\n") << holder;
  EXPECT_EQ(run_command("incus exec --project " + project_ + " " + holder + " -- true").exit_code == 0,
            false) << "the holder never runs";
  ASSERT_EQ(rpctl("delete wss s3 --wait --timeout 60s").exit_code, 0);
  EXPECT_EQ(incus("list -c n -f csv").out, "");
  auto volumes = run_command("incus storage volume list default -f csv").out;
  EXPECT_EQ(volumes.find(volume), std::string::npos) << volumes;
  EXPECT_EQ(volumes.find(holder_home), std::string::npos) << volumes;
}

// An open WebSocket keeps a workspace awake (issue 23): a port route to a
// server in the workspace that accepts the upgrade (101) and keeps the
// connection; while a signed-in client holds it open through Caddy, the
// workspace does not sleep past idleAfter; once it closes, it does.
TEST_F(real_runtime, an_open_websocket_keeps_a_workspace_awake) {
  ASSERT_EQ(rpctl("apply -f " + write("hold.yaml",
                                       "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\n"
                                       "metadata: {name: demo}\n"
                                       "spec: {image: rockpool-tiny, lifecycle: {idleAfter: 10s}}\n"
                                       "---\napiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\n"
                                       "metadata: {name: demo-9123}\n"
                                       "spec: {workspace: demo, port: 9123}\n"))
                .exit_code,
            0);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0);
  // The server: each connection gets a 101 and is kept for 60 s.
  auto script = write("ws.sh",
                      "#!/bin/sh\nprintf 'HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: "
                      "websocket\\r\\nConnection: Upgrade\\r\\n\\r\\n'\nsleep 60\n");
  ASSERT_EQ(run_command("incus file push --project " + project_ + " --mode 0755 " + script +
                        " demo/tmp/ws.sh")
                .exit_code,
            0);
  ASSERT_EQ(run_command("incus exec --project " + project_ +
                        " demo -- sh -c 'nc -ll -p 9123 -e /tmp/ws.sh >/dev/null 2>&1 &'")
                .exit_code,
            0);
  ASSERT_EQ(rpctl("wait pr demo-9123 --for=condition=Ready --timeout 60s").exit_code, 0)
      << rpctl("describe pr demo-9123").out;
  auto cookie = sign_in("demo");
  int fd = test_support::connect_tcp(workspaces_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(test_support::send_all(
      fd, "GET /workspace/demo/port/9123/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + cookie +
              "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"));
  auto upgraded = test_support::read_reply(fd, std::chrono::seconds(10));
  ASSERT_EQ(upgraded.status(), 101) << upgraded.text;
  auto phase = [&] {
    auto v = specs::parse_json(rpctl("get ws demo -o json").out);
    return v.ok() ? specs::string_at(*v, "status.phase") : std::string();
  };
  // Three times idleAfter with the WebSocket open: awake.
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(phase(), "Running") << "slept with a WebSocket open, after " << i << " s";
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ::close(fd);
  std::string now;
  for (int i = 0; i < 300 && now != "Sleeping"; ++i) {
    now = phase();
    if (now != "Sleeping") std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(now, "Sleeping") << rpctl("describe ws demo").out;
}

// Upgrading rockpoold (issue 26, item 4) is: stop it, start the new binary on
// the same data directory. Workspaces keep serving signed-in browsers
// throughout an outage of 30 s (the standby gate checks their sessions while
// rockpoold is down, decision 87, and counts their activity), and after the
// start no instance was restarted and no Caddy route went missing, even for
// one look of the admin API every 50 ms.
TEST_F(real_runtime, a_controller_stopped_and_started_again_leaves_running_workspaces_untouched) {
  constexpr int n = 5;
  std::string yaml;
  for (int i = 0; i < n; ++i)
    yaml += "---\napiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata: {name: up" +
            std::to_string(i) + "}\nspec: {image: rockpool-tiny, ide: {port: 8080}}\n";
  ASSERT_EQ(rpctl("apply -f " + write("five.yaml", yaml)).exit_code, 0);
  auto pids = [&] {
    std::vector<long> out;
    for (int i = 0; i < n; ++i) out.push_back(instance_pid("up" + std::to_string(i)));
    return out;
  };
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(rpctl("wait ws up" + std::to_string(i) + " --for=condition=Ready --timeout 90s")
                  .exit_code,
              0)
        << rpctl("describe ws up" + std::to_string(i)).out;
  for (int i = 0; i < n; ++i)
    ASSERT_GE(seconds_until("/workspace/up" + std::to_string(i) + "/", ide_page, 30), 0);
  auto before = pids();
  for (auto p : before) ASSERT_GT(p, 0) << "every instance runs";
  auto caddy_config = [&] {
    runtime::http_call c;
    c.url = "http://" + caddy_.admin() + "/config/apps/http";
    c.timeout_ms = 3000;
    auto r = runtime::http_perform(c);
    return r.ok() && r->status == 200 ? r->body : std::string();
  };
  auto config_before = caddy_config();
  ASSERT_FALSE(config_before.empty());

  std::atomic<bool> done{false};
  std::atomic<int> requests{0}, failures{0}, route_gaps{0};
  std::atomic<double> slowest{0};
  std::string first_failure;
  std::mutex mu;
  // Each workspace every 100 ms, as a signed-in browser.
  std::thread poller([&] {
    while (!done) {
      for (int i = 0; i < n && !done; ++i) {
        runtime::http_call c;
        c.url = "http://127.0.0.1:" + std::to_string(workspaces_) + "/workspace/up" +
                std::to_string(i) + "/";
        c.timeout_ms = 20000;
        c.headers.push_back("Cookie: " + cookie_);
        auto start = std::chrono::steady_clock::now();
        auto r = runtime::http_perform(c);
        double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (took > slowest) slowest = took;
        ++requests;
        if (!r.ok() || r->status != 200 || r->body.find(ide_page) == std::string::npos) {
          ++failures;
          std::lock_guard lk(mu);
          if (first_failure.empty())
            first_failure = r.ok() ? std::to_string(r->status) + " " + r->body.substr(0, 200)
                                   : r.err().message;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  // Every workspace's route, in each look at Caddy's live config.
  std::thread watcher([&] {
    while (!done) {
      auto config = caddy_config();
      for (int i = 0; i < n; ++i)
        if (config.find("\"/workspace/up" + std::to_string(i) + "/*\"") == std::string::npos)
          ++route_gaps;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ASSERT_EQ(daemon_->stop(), 0) << daemon_->log();
  auto activity_file = (tmp_ / "db") + "/gate-activity";
  std::filesystem::remove(activity_file);
  std::this_thread::sleep_for(std::chrono::seconds(30));  // twice Caddy's 15 s of retries
  // The standby gate let them through, and wrote down their activity.
  auto seen = test_support::read_file(activity_file);
  for (int i = 0; i < n; ++i)
    EXPECT_NE(seen.find("up" + std::to_string(i) + " "), std::string::npos) << seen;
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  std::this_thread::sleep_for(std::chrono::seconds(5));  // the new one reconciles everything
  done = true;
  poller.join();
  watcher.join();
  std::cout << "restart: " << requests << " requests, " << failures
            << " failed, slowest " << slowest << " s\n";
  EXPECT_EQ(failures, 0) << first_failure;
  EXPECT_GT(requests, 5 * n) << "the workspaces were polled throughout";
  EXPECT_EQ(route_gaps, 0) << "a route was missing from Caddy's config";
  EXPECT_EQ(pids(), before) << "an instance was restarted";
  EXPECT_EQ(caddy_config(), config_before) << "Caddy's routes changed";
  for (int i = 0; i < n; ++i) {
    auto described = rpctl("describe ws up" + std::to_string(i)).out;
    EXPECT_EQ(described.find("Recreated"), std::string::npos) << described;
  }
  for (int i = 0; i < n; ++i)
    rpctl("delete ws up" + std::to_string(i) + " --wait --timeout 60s");
}

// Backup and restore on the real Incus (issue 26, item 3): a workspace made
// after the backup keeps running through the restore, is reported on the
// Host as an orphan, and is never deleted; the backed-up workspace is
// adopted as it runs (same instance, not restarted), and so is the orphan
// once its Workspace is applied again with rockpool.dev/adopt-instance.
TEST_F(real_runtime, a_restore_leaves_newer_workspaces_running_reports_them_and_deletes_them_when_asked) {
  ASSERT_EQ(rpctl("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0)
      << rpctl("describe ws demo").out;
  auto backup = rpctl("backup -o " + (tmp_ / "store.backup"));
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  ASSERT_EQ(rpctl("apply -f " + write("other.yaml",
                                       "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\n"
                                       "metadata: {name: other}\nspec: {image: rockpool-tiny}\n"))
                .exit_code,
            0);
  ASSERT_EQ(rpctl("wait ws other --for=condition=Ready --timeout 60s").exit_code, 0);
  auto pid = [&](const std::string& name) { return instance_pid(name); };
  auto other_home = specs::string_at(*specs::parse_json(rpctl("get ws other -o json").out),
                                     "status.home.volume");
  ASSERT_FALSE(other_home.empty());
  auto demo_pid = pid("demo"), other_pid = pid("other");
  ASSERT_GT(demo_pid, 0);
  ASSERT_GT(other_pid, 0);

  ASSERT_EQ(daemon_->stop(), 0);
  std::filesystem::rename(tmp_ / "db", tmp_ / "db.before-restore");
  auto restored = run_command(std::string(ROCKPOOLD_PATH) + " restore --from " +
                              (tmp_ / "store.backup") + " --data-dir " + (tmp_ / "db"));
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0)
      << rpctl("describe ws demo").out;
  EXPECT_NE(rpctl("get ws other").exit_code, 0) << "not in the backup";
  std::string orphans;
  for (int i = 0; i < 300 && orphans.find("\"other\"") == std::string::npos; ++i) {
    auto host = specs::parse_json(rpctl("get host local -o json").out);
    if (host.ok())
      if (const auto* o = specs::find_path(*host, "status.orphans"))
        orphans = boost::json::serialize(*o);
    if (orphans.find("\"other\"") == std::string::npos)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(orphans.find("\"instance\":\"other\""), std::string::npos) << orphans;
  EXPECT_EQ(orphans.find("\"demo\""), std::string::npos) << orphans;
  EXPECT_NE(rpctl("describe host local").out.find("NoOrphans"), std::string::npos);
  EXPECT_EQ(pid("other"), other_pid) << "the newer workspace kept running";
  EXPECT_EQ(pid("demo"), demo_pid) << "the restored workspace was adopted as it runs";
  // Adopt the orphan as it runs: its Workspace again, annotated, with its home.
  ASSERT_EQ(rpctl("apply -f " + write("adopt.yaml",
                                       "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\n"
                                       "metadata:\n  name: other\n  annotations: "
                                       "{rockpool.dev/adopt-instance: \"true\"}\n"
                                       "spec: {image: rockpool-tiny, home: {fromVolume: " +
                                           other_home + "}}\n"))
                .exit_code,
            0);
  ASSERT_EQ(rpctl("wait ws other --for=condition=Ready --timeout 60s").exit_code, 0)
      << rpctl("describe ws other").out;
  EXPECT_EQ(pid("other"), other_pid) << "adopted, not replaced";
  auto described = rpctl("describe ws other").out;
  EXPECT_NE(described.find("InstanceAdopted"), std::string::npos) << described;
  EXPECT_NE(described.find("HomeAdopted"), std::string::npos) << described;

  // --delete-orphans: the same backup restored again, asking for what it does
  // not know to go. "other" (adopted since) goes, with its home; demo stays.
  ASSERT_EQ(daemon_->stop(), 0);
  std::filesystem::rename(tmp_ / "db", tmp_ / "db.adopted");
  auto pruned = run_command(std::string(ROCKPOOLD_PATH) + " restore --from " +
                            (tmp_ / "store.backup") + " --data-dir " + (tmp_ / "db") +
                            " --incus-project " + project_ + " --delete-orphans");
  ASSERT_EQ(pruned.exit_code, 0) << pruned.err;
  EXPECT_NE(pruned.out.find("deleted orphan instance other"), std::string::npos) << pruned.out;
  EXPECT_NE(incus("info other").exit_code, 0) << "the orphan's instance is gone";
  EXPECT_NE(incus("storage volume show default " + other_home).exit_code, 0)
      << "its own home volume is gone";
  EXPECT_EQ(pid("demo"), demo_pid) << "the workspace in the backup is untouched";
  ASSERT_TRUE(daemon_->start()) << daemon_->log();
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0);
  EXPECT_EQ(pid("demo"), demo_pid);
}
