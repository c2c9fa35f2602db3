// Workspaces on the real incusd and Caddy, side by side in one run, against
// the same incusd and Caddy process, with proxy devices and on a bridge:
//   - manual_workspaces.sh seq: incus init, proxy device, start and one Caddy
//     route per workspace, one workspace after another (the by-hand baseline);
//   - manual_workspaces.sh par: the same with every workspace's steps at once;
//   - manual_workspaces.sh par on a bridge: a NIC with a static address
//     instead of the proxy device, the route straight to it;
//   - Rockpool: `rpctl apply -f` of N Workspaces, network: proxy, then
//     network: bridge (a bridge this benchmark creates and deletes).
// Each figure is the time from the first command until every workspace's IDE
// page answers HTTP 200 through Caddy's workspace server.
//
// Then self-healing, each workspace with a PortRoute attached: the time from
// `incus stop --force` returning until the IDE answers through Caddy again,
// for Rockpool (both modes) and for an operator who runs `incus start` the
// moment the stop returns.
//
// Usage: workspace_bench [--reps R] [--counts 1,20] [--heals 10]
// Needs a running incusd with the rockpool-tiny image (scripts/start-incus.sh,
// runtime/images/build-tiny.sh) and caddy on PATH. Run by hand; see
// docs/benchmarks.md.
#include "rockpool/cli/client.hpp"
#include "rockpool/controller/daemon.hpp"
#include "rockpool/runtime/incus_rest.hpp"
#include "test_support.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace rockpool;
using steady = std::chrono::steady_clock;
using test_support::run_command;

namespace {

const std::string ide_page = "rockpool-tiny IDE";

double since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

bool answers(unsigned short port, const std::string& name) {
  cli::api_client c({"http://127.0.0.1:" + std::to_string(port), "", 2000});
  auto r = c.request("GET", "/workspace/" + name + "/");
  return r.ok() && r->status == 200 && r->body.find(ide_page) != std::string::npos;
}

// Seconds from t0 until every name answers through Caddy; -1 after limit.
double until_all_answer(unsigned short port, const std::vector<std::string>& names,
                        steady::time_point t0, double limit = 180) {
  std::set<std::string> pending(names.begin(), names.end());
  while (!pending.empty()) {
    for (auto it = pending.begin(); it != pending.end();)
      it = answers(port, *it) ? pending.erase(it) : std::next(it);
    if (pending.empty()) break;
    if (since(t0) > limit) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return since(t0);
}

std::vector<std::string> names_of(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

struct bench {
  std::string project = "rockpool-bench-" + std::to_string(::getpid());
  test_support::temp_dir tmp;
  test_support::caddy_process caddy;
  unsigned short ws_port = test_support::free_port();
  unsigned short control_port = test_support::free_port();
  int script_ports = 0, controller_ports = 0;
  std::string script = std::string(BENCH_DIR) + "/manual_workspaces.sh";

  std::string incus(const std::string& args) {
    return run_command("incus " + args + " --project " + project).out;
  }
  void delete_all_instances() {
    std::istringstream names(incus("list -c n -f csv"));
    std::string all;
    for (std::string n; std::getline(names, n);) all += " " + n;
    if (!all.empty()) incus("delete --force" + all);
  }
  // The by-hand setup's Caddy config: one server, no routes.
  bool load_manual_server() {
    auto path = tmp / "manual.json";
    std::ofstream(path) << R"({"admin":{"listen":")" << caddy.admin()
                        << R"("},"apps":{"http":{"servers":{"manual":{"listen":["127.0.0.1:)"
                        << ws_port << R"("],"routes":[]}}}}})";
    return run_command("curl -fsS -X POST -H 'Content-Type: application/json' --data-binary @" +
                       path + " http://" + caddy.admin() + "/load")
               .exit_code == 0;
  }

  std::string bridge = "rpb" + std::to_string(::getpid() % 1000000);
  std::string subnet;  // A.B.C of the bridge's /24

  double manual(int n, const std::string& mode, const std::string& prefix, bool bridged = false) {
    delete_all_instances();
    if (!load_manual_server()) return -1;
    auto names = names_of(prefix, n);
    auto t0 = steady::now();
    auto run = std::async(std::launch::async, [&] {
      return run_command(
          (bridged ? "BRIDGE=" + bridge + " SUBNET=" + subnet + " " : std::string()) + "bash " +
          script + " " + project + " " + std::to_string(n) + " " + mode + " " + caddy.admin() +
          " manual " + std::to_string(script_ports) + " " + prefix);
    });
    double t = until_all_answer(ws_port, names, t0);
    auto r = run.get();
    if (r.exit_code != 0) {
      std::fprintf(stderr, "manual_workspaces.sh %s failed: %s\n", mode.c_str(), r.err.c_str());
      return -1;
    }
    return t;
  }
};

}  // namespace

int main(int argc, char** argv) {
  int reps = 3, heals = 10;
  std::vector<int> counts{1, 20};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--reps") reps = std::stoi(argv[i + 1]);
    if (a == "--heals") heals = std::stoi(argv[i + 1]);
    if (a == "--counts") {
      counts.clear();
      std::istringstream in(argv[i + 1]);
      for (std::string c; std::getline(in, c, ',');) counts.push_back(std::stoi(c));
    }
  }
  bench b;
  runtime::incus_rest_options o;
  o.project = b.project;
  runtime::incus_rest incus(o);
  if (!incus.server_version().ok() || !incus.create_project(b.project).ok()) {
    std::fprintf(stderr, "incusd does not answer on /var/lib/incus/unix.socket\n");
    return 1;
  }
  if (!b.caddy.start()) {
    std::fprintf(stderr, "caddy did not start\n");
    return 1;
  }
  b.script_ports = test_support::host_port_base(100);
  b.controller_ports = b.script_ports + 100;

  // The bridge both the script and Rockpool's bridge run use (Rockpool adopts
  // it: it carries Rockpool's owner key).
  std::ifstream route_table("/proc/net/route");
  std::string routes((std::istreambuf_iterator<char>(route_table)), {});
  auto cidr = controller::choose_bridge_cidr(controller::host_routes(routes, b.bridge), {});
  b.subnet = cidr.substr(0, cidr.rfind(".0/"));
  if (run_command("incus network create " + b.bridge + " ipv4.address=" + b.subnet +
                  ".1/24 ipv4.nat=true ipv6.address=none user.rockpool.owner=rockpoold")
          .exit_code != 0) {
    std::fprintf(stderr, "cannot create bridge %s (is dnsmasq-base installed?)\n",
                 b.bridge.c_str());
    return 1;
  }

  struct row {
    int n;
    std::vector<double> seq, par, par_bridge, rockpool, rockpool_bridge;
  };
  std::vector<row> rows;
  for (int n : counts) rows.push_back({n, {}, {}, {}, {}, {}});

  // 1. The by-hand script (rockpoold is not running: it would own Caddy's config).
  std::vector<double> manual_heal;
  for (auto& r : rows)
    for (int rep = 0; rep < reps; ++rep) {
      r.seq.push_back(b.manual(r.n, "seq", "s"));
      r.par.push_back(b.manual(r.n, "par", "p"));
      r.par_bridge.push_back(b.manual(r.n, "par", "b", true));
    }
  // The operator's self-heal floor: `incus start` right after the stop.
  b.manual(1, "seq", "h");
  for (int i = 0; i < heals; ++i) {
    b.incus("stop --force h0");
    auto t0 = steady::now();
    b.incus("start h0");
    manual_heal.push_back(until_all_answer(b.ws_port, {"h0"}, t0));
  }
  b.delete_all_instances();

  // 2. Rockpool, with proxy devices, then on the bridge.
  std::vector<double> heal[2], heal_from_issue[2];
  for (int bridged = 0; bridged < 2; ++bridged) {
    std::vector<std::string> args = {
        "--runtime",
        "incus",
        "--incus-project",
        b.project,
        "--caddy-admin",
        b.caddy.admin(),
        "--caddy-control-listen",
        "127.0.0.1:" + std::to_string(b.control_port),
        "--caddy-workspace-listen",
        "127.0.0.1:" + std::to_string(b.ws_port),
        "--host-ports",
        std::to_string(b.controller_ports) + "-" + std::to_string(b.controller_ports + 99)};
    if (bridged) {
      args.insert(args.end(), {"--bridge", b.bridge, "--bridge-cidr", b.subnet + ".0/24"});
    } else {
      args.insert(args.end(), {"--bridge", "none"});
    }
    test_support::daemon_process daemon(ROCKPOOLD_PATH, b.tmp / ("db" + std::to_string(bridged)),
                                        b.tmp / "api.sock", args);
    if (!daemon.start()) {
      std::fprintf(stderr, "rockpoold did not start:\n%s\n", daemon.log().c_str());
      return 1;
    }
    auto rpctl = [&](const std::string& a) {
      return run_command("ROCKPOOL_SERVER=" + daemon.server_url() + " " RPCTL_PATH " " + a);
    };
    auto network = std::string(bridged ? "bridge" : "proxy");
    auto manifest = [&](const std::string& prefix, int n, bool with_routes) {
      std::string yaml;
      for (const auto& name : names_of(prefix, n)) {
        yaml += "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: " + name +
                "\nspec:\n  image: rockpool-tiny\n  network: " + network +
                "\n  resources: {cpu: 1, memory: 256Mi}\n---\n";
        if (with_routes)
          yaml += "apiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\nmetadata:\n  name: " + name +
                  "-9000\nspec:\n  workspace: " + name + "\n  port: 9000\n---\n";
      }
      auto path = b.tmp / (prefix + std::to_string(n) + network + ".yaml");
      std::ofstream(path) << yaml;
      return path;
    };
    for (auto& r : rows)
      for (int rep = 0; rep < reps; ++rep) {
        auto file = manifest("r", r.n, false);
        auto t0 = steady::now();
        if (rpctl("apply -f " + file).exit_code != 0) return 1;
        (bridged ? r.rockpool_bridge : r.rockpool)
            .push_back(until_all_answer(b.ws_port, names_of("r", r.n), t0));
        if (rpctl("delete -f " + file + " --wait --timeout 120s").exit_code != 0) return 1;
      }
    // Self-healing: one stop per workspace, so the crash-loop back-off (which
    // delays a second restart within five minutes) is not what is measured.
    auto file = manifest("heal", heals, true);
    rpctl("apply -f " + file);
    if (until_all_answer(b.ws_port, names_of("heal", heals), steady::now()) < 0) return 1;
    for (const auto& name : names_of("heal", heals)) {
      auto issued = steady::now();
      b.incus("stop --force " + name);
      auto stopped = steady::now();
      heal[bridged].push_back(until_all_answer(b.ws_port, {name}, stopped, 30));
      heal_from_issue[bridged].push_back(std::chrono::duration<double>(stopped - issued).count() +
                                         heal[bridged].back());
    }
    rpctl("delete -f " + file + " --wait --timeout 120s");
    daemon.stop();
  }
  b.delete_all_instances();
  (void)incus.delete_project(b.project);
  run_command("incus network delete " + b.bridge);

  auto fmt = [](const std::vector<double>& v) {
    char buf[64];
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    std::snprintf(buf, sizeof buf, "%6.2f [%5.2f-%5.2f]", median(v), *lo, *hi);
    return std::string(buf);
  };
  std::printf(
      "Workspaces from the first command to HTTP 200 through Caddy (seconds, median "
      "[min-max] of %d)\n\n",
      reps);
  std::printf("%-6s %-22s %-22s %-22s %-22s %-22s\n", "count", "script, sequential",
              "script, parallel", "script, par., bridge", "rockpool, proxy", "rockpool, bridge");
  for (const auto& r : rows)
    std::printf("%-6d %-22s %-22s %-22s %-22s %-22s\n", r.n, fmt(r.seq).c_str(), fmt(r.par).c_str(),
                fmt(r.par_bridge).c_str(), fmt(r.rockpool).c_str(), fmt(r.rockpool_bridge).c_str());
  std::printf("\n%-6s %-30s %-30s\n", "count", "rockpool bridge / script bridge",
              "rockpool proxy / rockpool bridge");
  for (const auto& r : rows)
    std::printf("%-6d %-30.2f %-30.2f\n", r.n, median(r.rockpool_bridge) / median(r.par_bridge),
                median(r.rockpool) / median(r.rockpool_bridge));
  std::printf(
      "\nSelf-heal after `incus stop --force` to HTTP 200, a PortRoute attached (seconds, "
      "median [min-max] of %d)\n\n",
      heals);
  std::printf("%-58s %s\n", "operator runs `incus start` when the stop returns",
              fmt(manual_heal).c_str());
  std::printf("%-58s %s\n", "rockpool proxy, from the stop's return", fmt(heal[0]).c_str());
  std::printf("%-58s %s\n", "rockpool bridge, from the stop's return", fmt(heal[1]).c_str());
  std::printf("%-58s %s\n", "rockpool proxy, from issuing `incus stop --force`",
              fmt(heal_from_issue[0]).c_str());
  std::printf("%-58s %s\n", "rockpool bridge, from issuing `incus stop --force`",
              fmt(heal_from_issue[1]).c_str());
  return 0;
}
