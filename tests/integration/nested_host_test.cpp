// Rockpool-on-Rockpool end to end (issue 11), the seed's validation checklist
// as one test, each row timed and printed: a NestedHost on the real outer
// Incus and Caddy runs a whole inner Rockpool (Incus, Caddy, rockpoold) from
// the rockpool-nested-host image (runtime/images/nested-host/build.sh; test.sh
// builds it from this build's binaries), reached only through the outer routes.
// Traffic goes to 127.0.0.1 and nowhere else: the inner workspaces are
// reached through both Caddies.
#include "real_runtime_fixture.hpp"
#include "rockpool/specs/validation.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

using namespace rockpool;
using test_support::ide_page;
using test_support::port_page;
using test_support::run_command;
using test_support::samples;

namespace {

const std::string nh = "rp-nested";
using steady = std::chrono::steady_clock;

// A TCP listener on the test bridge's gateway (this host, on a bridge the
// test made) that counts the connections it accepts.
class gateway_listener {
 public:
  explicit gateway_listener(const std::string& address) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0)
      return;
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        int c = ::accept(fd_, nullptr, nullptr);
        if (c >= 0) {
          ++accepted_;
          ::close(c);
        }
      }
    });
  }
  ~gateway_listener() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  unsigned short port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  int fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

class nested_host : public test_support::real_runtime {
 protected:
  std::vector<std::string> network_args() override { return own_bridge_args(); }
  void TearDown() override {
    if (daemon_) rpctl("delete nh " + nh + " --wait --timeout 60s");
    real_runtime::TearDown();
  }
  // A command inside the nested host.
  int in_nested(const std::string& command) {
    auto r = run_command("incus exec --project " + project_ + " " + nh + " -- " + command);
    if (r.exit_code != 0) std::cerr << command << ": " << r.err;
    return r.exit_code;
  }

  // One row of the checklist: what it checked and how long it took.
  void row(const std::string& what, steady::time_point since) {
    double s = std::chrono::duration<double>(steady::now() - since).count();
    std::fprintf(stderr, "  %-64s %7.2f s\n", what.c_str(), s);
  }
  // rpctl against the inner control plane, through the outer route.
  test_support::command_result inner(const std::string& args) {
    return run_command("eval \"$(ROCKPOOL_SERVER=" + daemon_->server_url() +
                       " " RPCTL_PATH " nestedhost credentials " + nh + ")\" && " RPCTL_PATH " " +
                       args);
  }
  std::string nested_apply(const std::string& extra = "") {
    return write("nh.yaml",
                 "apiVersion: rockpool.dev/v1alpha1\nkind: NestedHost\nmetadata:\n"
                 "  name: " +
                     nh + "\nspec:\n  innerNetwork: 10.123.0.0/24\n" + extra);
  }
};

}  // namespace

TEST_F(nested_host, the_seed_checklist_from_preflight_to_teardown) {
  if (incus("image info rockpool-nested-host").exit_code != 0) {
    if (test_support::in_ci())
      FAIL() << "the rockpool-nested-host image is missing (test.sh builds it)";
    GTEST_SKIP() << "no rockpool-nested-host image (runtime/images/nested-host/build.sh)";
  }
  std::fprintf(stderr, "Rockpool-on-Rockpool checklist\n");
  auto networks_before = run_command("incus network list -f csv -c n").out;
  // 1. Preflight tells the truth about VMs here, with remedies, and a VM
  //    nested host gets a terminal condition naming what is missing.
  auto t = steady::now();
  ASSERT_EQ(rpctl("wait host local --for=condition=BridgeReady --timeout 30s").exit_code, 0);
  auto preflight = rpctl("preflight").out;
  bool vms = preflight.find("PASS  VirtualMachinesOperational") != std::string::npos &&
             preflight.find("PASS  VhostVsock") != std::string::npos;
  EXPECT_NE(preflight.find("ContainersOperational"), std::string::npos) << preflight;
  if (!vms) {
    EXPECT_NE(preflight.find("remedy"), std::string::npos) << preflight;
    ASSERT_EQ(rpctl("apply -f " + write("vm.yaml",
                                        "apiVersion: rockpool.dev/v1alpha1\nkind: NestedHost\n"
                                        "metadata:\n  name: rp-vm\nspec:\n  type: virtual-machine\n"
                                        "  innerNetwork: 10.124.0.0/24\n"))
                  .exit_code,
              0);
    EXPECT_EQ(rpctl("wait nh rp-vm --for=condition=PreflightPassed=False --timeout 10s").exit_code,
              0)
        << rpctl("describe nh rp-vm").out;
    auto d = rpctl("describe nh rp-vm").out;
    EXPECT_NE(d.find("HostCannotRunType"), std::string::npos) << d;
    EXPECT_NE(d.find("VhostVsock"), std::string::npos) << d;
    EXPECT_EQ(incus("info rp-vm").exit_code, 1) << "no instance for a VM this host cannot run";
    ASSERT_EQ(rpctl("delete nh rp-vm --wait --timeout 30s").exit_code, 0);
  }
  row(std::string("1. preflight: VMs ") + (vms ? "available" : "not here, with remedies"), t);

  // 2. apply -> the nested host is Ready (its inner control plane answers).
  t = steady::now();
  ASSERT_EQ(rpctl("apply -f " + nested_apply()).exit_code, 0);
  auto ready = rpctl("wait nh " + nh + " --for=condition=Ready --timeout 90s");
  ASSERT_EQ(ready.exit_code, 0) << rpctl("describe nh " + nh).out
                                << rpctl("logs nestedhost/" + nh + " --component init").out;
  double to_ready = std::chrono::duration<double>(steady::now() - t).count();
  row("2. apply -> NestedHost Ready (target <= 30 s)", t);
  EXPECT_LE(to_ready, 30.0);
  auto info = incus("config show " + nh).out;
  EXPECT_NE(info.find("security.nesting: \"true\""), std::string::npos) << info;
  // A shell reaches the nested host too (as root: its image has no dev user).
  auto whoami = rpctl("exec nestedhost/" + nh + " -- sh -c 'id -un; incus version >/dev/null && echo incus'");
  EXPECT_EQ(whoami.out, "root\nincus\n") << whoami.err;

  // 3 and 4. The inner Caddy's two servers, through the outer routes: the
  // control plane on inner :8080 (/api to rockpoold, /app to rockpoold), the
  // workspaces on inner :8081.
  t = steady::now();
  long status = 0;
  auto base = "/workspace/" + nh + "/port/";
  EXPECT_EQ(get(workspaces_, base + "8080/api/readyz", &status), "ok");
  EXPECT_EQ(status, 200);
  auto app = get(workspaces_, base + "8080/app/", &status);
  EXPECT_EQ(status, 200) << "the inner rockpoold serves its UI at /app/: " << app;
  EXPECT_NE(app.find("Inner Rockpool — nested host " + nh), std::string::npos) << app;
  EXPECT_EQ(get(workspaces_, base + "8080/api/apis/rockpool.dev/v1alpha1/workspaces", &status)
                .find("WorkspaceList"),
            std::string::npos);
  EXPECT_EQ(status, 401) << "the inner API needs the inner token";
  EXPECT_EQ(get(workspaces_, base + "8081/", &status), "not found\n");
  EXPECT_EQ(status, 404) << "the inner workspace server answers for paths it does not route";
  auto version = inner("version");
  EXPECT_NE(version.out.find("inner Rockpool of nestedhost/" + nh), std::string::npos)
      << version.out << version.err;
  row("3-4. inner :8080 (/api, the inner UI at /app/) and :8081 via the outer routes", t);

  // 5. An inner workspace, applied through the outer route, answers through
  //    both Caddies.
  t = steady::now();
  // On the inner bridge (network: bridge is chosen once, when the workspace
  // is first reconciled, so wait until the inner Host has the bridge ready).
  ASSERT_EQ(inner("wait host local --for=condition=BridgeReady --timeout 60s").exit_code, 0)
      << inner("describe host local").out;
  ASSERT_EQ(inner("apply -f " + samples + "/tiny.yaml").exit_code, 0);
  ASSERT_EQ(inner("wait pr demo-9000 --for=condition=Ready --timeout 60s").exit_code, 0)
      << inner("describe ws demo").out;
  auto inner_ws = base + "8081/workspace/demo/";
  // Signed in to the outer Rockpool only, the inner one asks for its own sign-in.
  long inner_status = 0;
  get(workspaces_, inner_ws, &inner_status);
  EXPECT_EQ(inner_status, 401) << "signed in to the outer Rockpool only";
  // The inner link, followed through the outer route: the inner cookie is set
  // under the outer prefix, with a name of its own, and both work together.
  auto link = inner("open demo --print-url");
  ASSERT_EQ(link.exit_code, 0) << link.err;
  auto signin = base + "8081" + link.out.substr(link.out.find("/.rockpool/"));
  signin = signin.substr(0, signin.find('\n'));
  auto answer = get_with_cookie(workspaces_, signin, cookie_);
  ASSERT_EQ(answer.status, 303) << answer.body;
  EXPECT_EQ(answer.headers["location"], inner_ws);
  auto set = answer.headers["set-cookie"];
  EXPECT_NE(set.find("Path=" + base + "8081/;"), std::string::npos) << set;
  EXPECT_NE(set.substr(0, set.find('=')), cookie_.substr(0, cookie_.find('=')))
      << "the inner and outer cookies are named apart";
  cookie_ += "; " + set.substr(0, set.find(';'));
  EXPECT_NE(get(workspaces_, inner_ws).find(ide_page), std::string::npos);
  EXPECT_NE(get(workspaces_, inner_ws + "port/9000/").find(port_page), std::string::npos);
  row("5. inner workspace apply -> answers through both Caddies", t);

  // Inner workspaces reach no private network: not the outer bridge (here its
  // gateway, this host), while the nested host itself does.
  t = steady::now();
  auto gateway = cidr_.substr(0, cidr_.rfind('.')) + ".1";
  gateway_listener listener(gateway);
  ASSERT_NE(listener.port(), 0) << "cannot listen on " << gateway;
  auto probe = [&](const std::string& nc) {
    return " sh -c 'printf x | " + nc + " -w 2 " + gateway + " " + std::to_string(listener.port()) +
           "'";
  };
  // The inner workspace's default route comes with its DHCP lease, which may
  // lag its first page: without it the probe would fail for another reason.
  bool routed = false;
  for (int i = 0; i < 100 && !routed; ++i) {
    routed = run_command("incus exec --project " + project_ + " " + nh +
                         " -- incus exec demo -- ip route")
                 .out.find("default") != std::string::npos;
    if (!routed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(routed) << "the inner workspace has no default route";
  in_nested(probe("busybox nc"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(listener.accepted(), 1) << "the nested host reaches its gateway (the probe works)";
  in_nested("incus exec demo --" + probe("nc"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(listener.accepted(), 1) << "an inner workspace reached the outer bridge's gateway";
  // The rule is what stops it: without it the same probe gets through (the
  // nested host's restart below puts it back).
  ASSERT_EQ(in_nested("nft delete table inet rockpool_nested"), 0);
  in_nested("incus exec demo --" + probe("nc"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(listener.accepted(), 2) << "without the rule the inner workspace gets through";
  row("5b. inner workspace cannot reach the outer bridge (private ranges dropped)", t);
  EXPECT_EQ(rpctl("wait nh " + nh + " --for=condition=Ready --timeout 20s").exit_code, 0);
  // The outer status counts what runs inside (looked at every 10 s).
  bool counted = false;
  for (int i = 0; i < 150 && !counted; ++i) {
    auto v = specs::parse_json(rpctl("get nh " + nh + " -o json").out);
    counted = v.ok() && specs::int_at(*v, "status.inner.readyWorkspaces") == 1;
    if (!counted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(counted) << rpctl("get nh " + nh + " -o yaml").out;
  auto logs = rpctl("logs nestedhost/" + nh + " --component rockpoold");
  EXPECT_NE(logs.out.find("serving"), std::string::npos) << logs.out << logs.err;

  // 5c. The inner Rockpool gets its own specs by GitOps: a GitSync, applied
  //     to the inner control plane, of a directory inside the nested host.
  t = steady::now();
  ASSERT_EQ(in_nested("mkdir -p /srv/specs"), 0);
  auto synced = write("synced.yaml",
                      "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n"
                      "  name: synced\nspec:\n  image: rockpool-tiny\n  resources:\n"
                      "    cpu: 1\n    memory: 256Mi\n");
  ASSERT_EQ(run_command("incus file push --project " + project_ + " " + synced + " " + nh +
                        "/srv/specs/synced.yaml")
                .exit_code,
            0);
  ASSERT_EQ(inner("apply -f " + write("gs.yaml",
                                      "apiVersion: rockpool.dev/v1alpha1\nkind: GitSync\n"
                                      "metadata:\n  name: inner-specs\nspec:\n"
                                      "  path: /srv/specs\n"))
                .exit_code,
            0);
  auto gs_ready = inner("wait gs inner-specs --for=condition=Ready --timeout 60s");
  EXPECT_EQ(gs_ready.exit_code, 0) << inner("describe gs inner-specs").out;
  EXPECT_EQ(inner("wait ws synced --for=condition=Ready --timeout 60s").exit_code, 0)
      << inner("describe ws synced").out;
  EXPECT_NE(get(workspaces_, base + "8081/workspace/synced/").find(ide_page), std::string::npos);
  row("5c. inner GitSync of a directory inside the nested host -> its workspace answers", t);

  // 6. Self-healing at both levels, each until the inner workspace answers.
  t = steady::now();
  ASSERT_EQ(in_nested("sh -c 'kill -9 $(cat /run/rockpool/rockpoold.pid)'"), 0);
  EXPECT_GE(seconds_until(base + "8080/api/readyz", "ok", 30), 0);
  EXPECT_EQ(inner("get ws demo").exit_code, 0);
  row("6a. inner rockpoold killed -> inner API answers again", t);
  t = steady::now();
  ASSERT_EQ(in_nested("incus stop --force demo"), 0);
  EXPECT_GE(seconds_until(inner_ws, ide_page, 60), 0) << inner("describe ws demo").out;
  row("6b. inner workspace force-stopped -> answers again", t);
  t = steady::now();
  ASSERT_EQ(incus_retrying("stop --force " + nh), 0);
  EXPECT_GE(seconds_until(inner_ws, ide_page, 90), 0) << rpctl("describe nh " + nh).out;
  EXPECT_GE(seconds_until(inner_ws + "port/9000/", port_page, 30), 0);
  row("6c. nested host force-stopped -> inner workspace answers again", t);
  EXPECT_EQ(in_nested("nft list table inet rockpool_nested"), 0) << "the boot put the rule back";
  // The inner controller's data survived the restart of the nested host (its
  // API may answer a moment after the workspace does: the inner Caddy kept
  // serving the routes rockpoold wrote as soon as it was back).
  EXPECT_GE(seconds_until(base + "8080/api/readyz", "ok", 30), 0);
  auto kept = inner("get pr demo-9000");
  for (int i = 0; i < 20 && kept.exit_code != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    kept = inner("get pr demo-9000");
  }
  EXPECT_EQ(kept.exit_code, 0) << kept.out << kept.err;

  // Delete: nothing of it is left in the outer Incus or Caddy.
  t = steady::now();
  ASSERT_EQ(rpctl("delete nh " + nh + " --wait --timeout 90s").exit_code, 0)
      << rpctl("describe nh " + nh).out;
  row("delete -> gone", t);
  EXPECT_EQ(incus("list -c n -f csv").out, "");
  EXPECT_EQ(rpctl("get ws -o name").out, "");
  EXPECT_EQ(rpctl("get pr -o name").out, "");
  auto routes = run_command("curl -fsS http://" + caddy_.admin() +
                            "/config/apps/http/servers/rockpool-workspaces/routes")
                    .out;
  EXPECT_EQ(routes.find(nh), std::string::npos) << routes;
  // (The inner bridge lives inside the nested host, never in the outer Incus.)
  EXPECT_EQ(run_command("incus network list -f csv -c n").out, networks_before);
}

// The seed's developer flow, in a browser: a nested host made from the
// developer image (runtime/images/nested-host/build.sh --dev) serves VS Code
// at /workspace/NH/; in its terminal a developer clones this repository (its
// committed state, from a `git daemon` on the test bridge's gateway), builds
// it with what the image holds (no network) and ./run.sh brings up a second
// inner Rockpool on ports of its own, beside the nested host's own, whose UI
// then answers through the outer Caddy with its "Inner Rockpool" banner.
TEST_F(nested_host, rockpool_builds_rockpool_in_the_browser_inside_a_developer_nested_host) {
  if (incus("image info rockpool-nested-host-dev").exit_code != 0) {
    if (test_support::in_ci())
      FAIL() << "the rockpool-nested-host-dev image is missing (test.sh builds it)";
    GTEST_SKIP() << "no rockpool-nested-host-dev image (runtime/images/nested-host/build.sh --dev)";
  }
  std::fprintf(stderr, "Rockpool builds Rockpool\n");
  auto t = steady::now();
  // On the test's bridge (the clone comes from its gateway).
  ASSERT_EQ(rpctl("wait host local --for=condition=BridgeReady --timeout 30s").exit_code, 0);
  // Its IDE on 13337; 9080 is where the developer's Rockpool will answer.
  ASSERT_EQ(rpctl("apply -f " + nested_apply("  image: rockpool-nested-host-dev\n"
                                            "  ide:\n    port: 13337\n"
                                            "  exposedPorts: [8080, 8081, 9080]\n"))
                .exit_code,
            0);
  ASSERT_EQ(rpctl("wait nh " + nh + " --for=condition=Ready --timeout 180s").exit_code, 0)
      << rpctl("describe nh " + nh).out;
  ASSERT_EQ(rpctl("wait ws " + nh + " --for=condition=IDEReady --timeout 120s").exit_code, 0)
      << rpctl("describe ws " + nh).out;
  row("apply (developer image) -> NestedHost Ready, its IDE answers", t);

  // This repository's committed state, served read-only on the gateway.
  auto gateway = cidr_.substr(0, cidr_.rfind('.')) + ".1";
  auto repos = tmp_ / "git";
  ASSERT_EQ(run_command("git clone -q --bare " REPO_DIR " " + repos + "/rockpool.git").exit_code, 0);
  auto git_port = std::to_string(test_support::free_port());
  auto daemon = run_command("git daemon --detach --reuseaddr --export-all --listen=" + gateway +
                            " --port=" + git_port + " --base-path=" + repos +
                            " --pid-file=" + repos + "/pid " + repos);
  ASSERT_EQ(daemon.exit_code, 0) << daemon.err;
  struct stop_git {
    std::string pidfile;
    ~stop_git() { run_command("kill $(cat " + pidfile + ")"); }
  } stop{repos + "/pid"};

  // Its own ports, project and bridge: the nested host's inner Rockpool keeps
  // 2019, 7080, 8080, 8081 and rockpoolbr0. Control on every address: the
  // outer route to port 9080 reaches it over the outer bridge.
  const std::string command =
      "git clone -q git://" + gateway + ":" + git_port + "/rockpool.git ~/rockpool && "
      "cd ~/rockpool && ROCKPOOL_API_PORT=7170 ROCKPOOL_CADDY_ADMIN=127.0.0.1:2119 "
      "ROCKPOOL_CONTROL_LISTEN=0.0.0.0:9080 ROCKPOOL_WORKSPACE_LISTEN=127.0.0.1:9081 "
      "ROCKPOOL_INCUS_PROJECT=rockpool-dev ROCKPOOL_BRIDGE=rpdev0 ROCKPOOL_GATE_STANDBY=127.0.0.1:9082 "
      "ROCKPOOL_DEMO=samples/tiny.yaml "
      "./run.sh >~/run.log 2>&1; echo $? >~/run.rc";
  auto signin = rpctl("open " + nh + " --print-url");
  ASSERT_EQ(signin.exit_code, 0) << signin.err;
  auto signin_url = signin.out.substr(0, signin.out.find_first_of("\r\n"));
  auto inner_url = "http://127.0.0.1:" + std::to_string(workspaces_) + "/workspace/" + nh +
                   "/port/9080/app/";
  t = steady::now();
  auto flow = run_command("/usr/bin/python3 " REPO_DIR "/tests/ui/dev_flow.py '" +
                          signin_url + "' '" + inner_url +
                          "' 'Inner Rockpool — nested host " + nh + "' 1500 '" + ARTIFACT_DIR +
                          "' '" + command + "' 'incus exec --project " + project_ + " " + nh +
                          " -- cat /root/run.rc 2>/dev/null'");
  std::cerr << flow.out << flow.err;
  auto log = [&] { return run_command("incus exec --project " + project_ + " " + nh +
                                      " -- sh -c 'tail -n 40 /root/run.log'").out; };
  if (flow.exit_code == 77 && !test_support::in_ci()) GTEST_SKIP() << "no Chromium";
  ASSERT_EQ(flow.exit_code, 0) << log();
  row("Chromium: IDE -> terminal -> git clone -> ./run.sh -> inner UI", t);
  EXPECT_EQ(run_command("incus exec --project " + project_ + " " + nh + " -- cat /root/run.rc").out,
            "0\n")
      << log();
  EXPECT_NE(log().find("http://127.0.0.1:9081/workspace/demo/   (HTTP 401 without signing in)"),
            std::string::npos)
      << log();
  // Signed in with the link run.sh's rpctl makes, as a browser would.
  auto page = run_command(
      "incus exec --project " + project_ + " " + nh +
      " -- sh -c 'cd /root/rockpool && curl -s -m 5 -L -c /tmp/jar -b /tmp/jar "
      "\"$(ROCKPOOL_SERVER=unix:///root/rockpool/.run/rockpoold.sock"
      " build/cli/rpctl open demo --print-url)\"'");
  EXPECT_NE(page.out.find(ide_page), std::string::npos) << page.out << page.err;
  // The nested host's own inner Rockpool is untouched beside it.
  long status = 0;
  EXPECT_EQ(get(workspaces_, "/workspace/" + nh + "/port/8080/api/readyz", &status), "ok");
}
