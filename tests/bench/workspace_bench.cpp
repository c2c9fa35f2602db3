// Workspaces on the real incusd and Caddy, side by side in one run, against
// the same incusd and Caddy process:
//   - manual_workspaces.sh seq: incus init, proxy device, start and one Caddy
//     route per workspace, one workspace after another (the by-hand baseline);
//   - manual_workspaces.sh par: the same with every workspace's steps at once;
//   - Rockpool: `rpctl apply -f` of N Workspaces.
// Each figure is the time from the first command until every workspace's IDE
// page answers HTTP 200 through Caddy's workspace server.
//
// Then self-healing: the time from `incus stop --force` returning until the
// IDE answers through Caddy again, for Rockpool and for an operator who runs
// `incus start` the moment the stop returns.
//
// Usage: workspace_bench [--reps R] [--counts 1,20] [--heals 10]
// Needs a running incusd with the rockpool-tiny image (scripts/start-incus.sh,
// runtime/images/build-tiny.sh) and caddy on PATH. Run by hand; see
// docs/benchmarks.md.
#include "rockpool/controller/client.hpp"
#include "rockpool/runtime/incus_rest.hpp"
#include "test_support.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
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
  controller::api_client c({"http://127.0.0.1:" + std::to_string(port), "", 2000});
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

  double manual(int n, const std::string& mode, const std::string& prefix) {
    delete_all_instances();
    if (!load_manual_server()) return -1;
    auto names = names_of(prefix, n);
    auto t0 = steady::now();
    auto run = std::async(std::launch::async, [&] {
      return run_command("bash " + script + " " + project + " " + std::to_string(n) + " " + mode +
                         " " + caddy.admin() + " manual " + std::to_string(script_ports) + " " +
                         prefix);
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

  struct row {
    int n;
    std::vector<double> seq, par, rockpool;
  };
  std::vector<row> rows;
  for (int n : counts) rows.push_back({n, {}, {}, {}});

  // 1. The by-hand script (rockpoold is not running: it would own Caddy's config).
  std::vector<double> manual_heal;
  for (auto& r : rows)
    for (int rep = 0; rep < reps; ++rep) {
      r.seq.push_back(b.manual(r.n, "seq", "s"));
      r.par.push_back(b.manual(r.n, "par", "p"));
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

  // 2. Rockpool.
  test_support::daemon_process daemon(
      ROCKPOOLD_PATH, b.tmp / "db", b.tmp / "api.sock",
      {"--runtime", "incus", "--incus-project", b.project, "--caddy-admin", b.caddy.admin(),
       "--caddy-control-listen", "127.0.0.1:" + std::to_string(b.control_port),
       "--caddy-workspace-listen", "127.0.0.1:" + std::to_string(b.ws_port), "--host-ports",
       std::to_string(b.controller_ports) + "-" + std::to_string(b.controller_ports + 99)});
  if (!daemon.start()) {
    std::fprintf(stderr, "rockpoold did not start:\n%s\n", daemon.log().c_str());
    return 1;
  }
  auto rpctl = [&](const std::string& args) {
    return run_command("ROCKPOOL_SERVER=" + daemon.server_url() + " " RPCTL_PATH " " + args);
  };
  auto manifest = [&](const std::string& prefix, int n) {
    std::string yaml;
    for (const auto& name : names_of(prefix, n))
      yaml += "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: " + name +
              "\nspec:\n  image: rockpool-tiny\n  resources: {cpu: 1, memory: 256Mi}\n---\n";
    auto path = b.tmp / (prefix + std::to_string(n) + ".yaml");
    std::ofstream(path) << yaml;
    return path;
  };
  for (auto& r : rows)
    for (int rep = 0; rep < reps; ++rep) {
      auto file = manifest("r", r.n);
      auto t0 = steady::now();
      if (rpctl("apply -f " + file).exit_code != 0) return 1;
      r.rockpool.push_back(until_all_answer(b.ws_port, names_of("r", r.n), t0));
      if (rpctl("delete -f " + file + " --wait --timeout 120s").exit_code != 0) return 1;
    }
  // Self-healing: one stop per workspace, so the crash-loop back-off (which
  // delays a second restart within five minutes) is not what is measured.
  std::vector<double> heal, heal_from_issue;
  {
    auto file = manifest("heal", heals);
    rpctl("apply -f " + file);
    if (until_all_answer(b.ws_port, names_of("heal", heals), steady::now()) < 0) return 1;
    for (const auto& name : names_of("heal", heals)) {
      auto issued = steady::now();
      b.incus("stop --force " + name);
      auto stopped = steady::now();
      heal.push_back(until_all_answer(b.ws_port, {name}, stopped, 30));
      heal_from_issue.push_back(std::chrono::duration<double>(stopped - issued).count() +
                                heal.back());
    }
    rpctl("delete -f " + file + " --wait --timeout 120s");
  }
  daemon.stop();
  b.delete_all_instances();
  (void)incus.delete_project(b.project);

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
  std::printf("%-6s %-24s %-24s %-24s %s\n", "count", "script, sequential", "script, parallel",
              "rockpool (rpctl apply)", "rockpool / parallel");
  for (const auto& r : rows)
    std::printf("%-6d %-24s %-24s %-24s %.2fx\n", r.n, fmt(r.seq).c_str(), fmt(r.par).c_str(),
                fmt(r.rockpool).c_str(), median(r.rockpool) / median(r.par));
  std::printf(
      "\nSelf-heal after `incus stop --force` to HTTP 200 (seconds, median [min-max] of "
      "%d)\n\n",
      heals);
  std::printf("%-58s %s\n", "operator runs `incus start` when the stop returns",
              fmt(manual_heal).c_str());
  std::printf("%-58s %s\n", "rockpool, from the stop's return", fmt(heal).c_str());
  std::printf("%-58s %s\n", "rockpool, from issuing `incus stop --force`",
              fmt(heal_from_issue).c_str());
  return 0;
}
