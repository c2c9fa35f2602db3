// Convergence of the actor runtime with the fake runtime.
//
// Side by side, from one run:
//   - `rpctl apply` of N workspaces into a daemon that only stores them
//     (the baseline), against the time until all N are Ready in a daemon that
//     reconciles them (fake runtime, zero latency); reconciles per second; RSS
//     growth per converged object; reconcile passes while idle;
//   - with 1 s per instance start: 5 workspaces with one pass at a time (the
//     sequential baseline), against 100 with the default concurrency bound.
//
// Usage: reconcile_bench [N ...]    default: 1000 10000
#include "raw_socket.hpp"
#include "rockpool/cli/client.hpp"
#include "rockpool/specs/codec.hpp"
#include "test_support.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <thread>

using namespace rockpool;
using steady = std::chrono::steady_clock;
using test_support::rss_kib;

namespace {

double metric(cli::api_client& c, const std::string& name) {
  auto r = c.request("GET", "/metrics");
  if (!r.ok()) return -1;
  auto at = r->body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(r->body.substr(at + name.size() + 2));
}

std::string manifest(const test_support::temp_dir& tmp, int n, const std::string& prefix) {
  auto path = tmp / (prefix + ".yaml");
  std::ofstream out(path);
  for (int i = 0; i < n; ++i)
    out << "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: " << prefix
        << "-" << i << "\nspec:\n  image: rockpool-tiny\n---\n";
  return path;
}

// Watches workspaces and returns when `n` of them have Ready=True.
double wait_all_ready(cli::api_client& c, int n, steady::time_point start, double limit_s) {
  std::set<std::string> ready;
  double done_at = -1;
  while (done_at < 0 && std::chrono::duration<double>(steady::now() - start).count() < limit_s) {
    auto st = c.stream("/apis/rockpool.dev/v1alpha1/workspaces?watch=true&timeoutSeconds=5",
                       [&](std::string_view line) {
                         auto ev = specs::parse_json(line);
                         if (!ev.ok()) return true;
                         const auto* conds = specs::find_path(*ev, "object.status.conditions");
                         if (conds && conds->is_array())
                           for (const auto& cnd : conds->get_array())
                             if (specs::string_at(cnd, "type") == "Ready" &&
                                 specs::string_at(cnd, "status") == "True")
                               ready.insert(specs::string_at(*ev, "object.metadata.name"));
                         if (static_cast<int>(ready.size()) >= n) {
                           done_at = std::chrono::duration<double>(steady::now() - start).count();
                           return false;
                         }
                         return true;
                       });
    if (!st.ok()) break;
  }
  return done_at;
}

struct run {
  double apply_s = 0, ready_s = -1, passes = 0, idle_passes = 0;
  long rss_before = 0, rss_after = 0;
};

run measure(int n, bool reconcile, std::vector<std::string> extra = {}) {
  test_support::temp_dir tmp;
  std::vector<std::string> args = {"--sweep-interval", "0", "--runtime",
                                   reconcile ? "fake" : "none"};
  args.insert(args.end(), extra.begin(), extra.end());
  test_support::daemon_process d(ROCKPOOLD_PATH, tmp / "db", tmp / "api.sock", args);
  if (!d.start()) {
    std::fprintf(stderr, "rockpoold did not start:\n%s\n", d.log().c_str());
    std::exit(1);
  }
  cli::api_client c({d.server_url(), "", 600000});
  auto file = manifest(tmp, n, "ws");
  run r;
  r.rss_before = rss_kib(d.pid());
  auto start = steady::now();
  std::thread watcher;
  if (reconcile) watcher = std::thread([&] { r.ready_s = wait_all_ready(c, n, start, 600); });
  auto applied = test_support::run_command("ROCKPOOL_SERVER=" + d.server_url() +
                                           " " RPCTL_PATH " apply -f " + file);
  r.apply_s = std::chrono::duration<double>(steady::now() - start).count();
  if (applied.exit_code != 0) {
    std::fprintf(stderr, "apply failed: %s\n", applied.err.c_str());
    std::exit(1);
  }
  if (reconcile) {
    watcher.join();
    cli::api_client m({d.server_url(), "", 60000});
    r.passes = metric(m, "rockpool_reconcile_passes_total");
    r.rss_after = rss_kib(d.pid());
    std::this_thread::sleep_for(std::chrono::seconds(5));
    r.idle_passes = metric(m, "rockpool_reconcile_passes_total") - r.passes;
  }
  d.stop();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::stoi(argv[i]));
  if (sizes.empty()) sizes = {1000, 10000};

  std::printf(
      "Convergence with the fake runtime (zero latency), one `rpctl apply` of N workspaces\n\n");
  std::printf("%8s %16s %16s %14s %14s %16s %12s\n", "N", "store only: s", "all Ready: s", "passes",
              "passes/s", "RSS KiB/object", "idle passes");
  for (int n : sizes) {
    auto base = measure(n, false);
    auto r = measure(n, true);
    std::printf("%8d %16.2f %16.2f %14.0f %14.0f %16.2f %12.0f\n", n, base.apply_s, r.ready_s,
                r.passes, r.passes / r.ready_s, static_cast<double>(r.rss_after - r.rss_before) / n,
                r.idle_passes);
    std::fflush(stdout);
  }

  std::printf("\nInstance starts taking 1 s each (--fake-start-latency 1000)\n\n");
  std::printf("%-44s %6s %14s\n", "", "N", "all Ready: s");
  auto seq = measure(5, true, {"--fake-start-latency", "1000", "--max-concurrent-reconciles", "1"});
  std::printf("%-44s %6d %14.2f\n", "baseline: one pass at a time", 5, seq.ready_s);
  auto par = measure(100, true, {"--fake-start-latency", "1000"});
  std::printf("%-44s %6d %14.2f\n", "default bound (--max-concurrent-reconciles 32)", 100,
              par.ready_s);
  return 0;
}
