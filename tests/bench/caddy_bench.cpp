// Routes into a real Caddy 2.6, side by side in one run:
//   - baseline: one admin-API request per route (append to the server's routes),
//     as a controller without batching would do;
//   - the route table actor: the same routes upserted from 32 threads at once (as 32
//     reconcile workers would), coalesced into batched `/load`s.
//   - the route table actor with all N changes in flight at once.
// Reports the time until every route is in Caddy's config and the requests sent.
//
// Usage: caddy_bench [N]   (default 1000; run by hand, see docs/benchmarks.md)
#include "rockpool/actors/route_table.hpp"
#include "rockpool/runtime/caddy.hpp"

#include "rockpool/actors/interfaces.hpp"

#include <caf/all.hpp>
#include "test_support.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using namespace rockpool;
using steady = std::chrono::steady_clock;

namespace {

std::string route_json(int i) {
  auto prefix =
      "/workspace/w" + std::to_string(i / 2) + "/port/" + std::to_string(9000 + i % 2) + "/";
  return R"({"@id":"bench-)" + std::to_string(i) + R"(","match":[{"path":[")" + prefix +
         R"(*"]}],"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"127.0.0.1:)" +
         std::to_string(20000 + i) + R"("}]}]})";
}

int routes_in_config(const std::string& admin) {
  auto r = test_support::run_command("curl -fsS http://" + admin +
                                     "/config/apps/http/servers/rockpool-workspaces/routes");
  // The bench's own routes; rockpoold's fixed ones (the gateway, the
  // workspace slash, the 404) are not counted.
  int n = 0;
  for (auto at = r.out.find("\"@id\":\"bench-"); at != std::string::npos;
       at = r.out.find("\"@id\":\"bench-", at + 1))
    ++n;
  return n;
}

runtime::caddy_options table_options(const test_support::caddy_process& caddy,
                                     unsigned short ws_port) {
  runtime::caddy_options o;
  o.admin = caddy.admin();
  o.workspace_listen = "127.0.0.1:" + std::to_string(ws_port);
  o.control_listen = "127.0.0.1:" + std::to_string(test_support::free_port());
  o.drift_check = std::chrono::milliseconds(0);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::stoi(argv[1]) : 1000;
  auto ws_port = test_support::free_port();

  // Baseline: one request per route.
  double per_route_s = 0;
  {
    test_support::caddy_process caddy;
    if (!caddy.start()) {
      std::fprintf(stderr, "caddy did not start\n");
      return 1;
    }
    auto init = R"({"admin":{"listen":")" + caddy.admin() +
                R"("},"apps":{"http":{"servers":{"rockpool-workspaces":{"listen":["127.0.0.1:)" +
                std::to_string(ws_port) + R"("],"routes":[]}}}}})";
    test_support::temp_dir tmp;
    {
      std::FILE* f = std::fopen((tmp / "init.json").c_str(), "w");
      std::fputs(init.c_str(), f);
      std::fclose(f);
    }
    test_support::run_command(
        "curl -fsS -X POST -H 'Content-Type: application/json' --data-binary @" +
        tmp / "init.json" + " http://" + caddy.admin() + "/load");
    // One long-lived shell loop so process start-up does not dominate the baseline.
    std::string script = tmp / "append.sh";
    {
      std::FILE* f = std::fopen(script.c_str(), "w");
      std::fprintf(
          f,
          "for i in $(seq 0 %d); do printf '%%s' \"$(sed -n \"$((i+1))p\" %s)\" | "
          "curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary @- "
          "http://%s/config/apps/http/servers/rockpool-workspaces/routes || exit 1; done\n",
          n - 1, (tmp / "routes.txt").c_str(), caddy.admin().c_str());
      std::fclose(f);
      std::FILE* r = std::fopen((tmp / "routes.txt").c_str(), "w");
      for (int i = 0; i < n; ++i) std::fprintf(r, "%s\n", route_json(i).c_str());
      std::fclose(r);
    }
    auto start = steady::now();
    auto res = test_support::run_command("bash " + script);
    per_route_s = std::chrono::duration<double>(steady::now() - start).count();
    if (res.exit_code != 0 || routes_in_config(caddy.admin()) != n) {
      std::fprintf(stderr, "baseline failed: %s\n", res.err.c_str());
      return 1;
    }
  }

  // caddy_route_table from 32 concurrent callers.
  double batched_s = 0;
  std::uint64_t loads = 0;
  {
    test_support::caddy_process caddy;
    if (!caddy.start()) return 1;
    auto o = table_options(caddy, ws_port);
    caf::actor_system_config cfg;
    caf::actor_system sys{cfg};
    actors::actor_route_table table(sys, std::make_shared<runtime::caddy_admin_http>(o), o);
    std::atomic<int> next{0}, failures{0};
    auto start = steady::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < 32; ++t)
      workers.emplace_back([&] {
        for (int i = next++; i < n; i = next++) {
          runtime::route r{"bench-" + std::to_string(i),
                           "/workspace/w" + std::to_string(i / 2) + "/port/" +
                               std::to_string(9000 + i % 2) + "/",
                           "127.0.0.1:" + std::to_string(20000 + i)};
          if (!table.upsert(r).ok()) ++failures;
        }
      });
    for (auto& w : workers) w.join();
    batched_s = std::chrono::duration<double>(steady::now() - start).count();
    loads = table.stats().loads;
    int in_config = routes_in_config(caddy.admin());
    if (failures != 0 || in_config != n) {
      std::fprintf(stderr, "batched run failed: %d failures, %d routes in config\n",
                   failures.load(), in_config);
      return 1;
    }
  }

  // Every change in flight at once (the actor's own batching, no caller limit).
  double all_at_once_s = 0;
  std::uint64_t all_at_once_loads = 0;
  {
    test_support::caddy_process caddy;
    if (!caddy.start()) return 1;
    auto o = table_options(caddy, ws_port);
    caf::actor_system_config cfg;
    caf::actor_system sys{cfg};
    auto stats = std::make_shared<actors::route_table_stats>();
    auto table =
        actors::spawn_route_table(sys, std::make_shared<runtime::caddy_admin_http>(o), o, stats);
    int failures = 0;
    auto start = steady::now();
    {
      caf::scoped_actor self{sys};
      std::vector<decltype(self->request(table, caf::infinite, actors::remove_atom::value,
                                         std::string()))>
          handles;
      for (int i = 0; i < n; ++i)
        handles.push_back(self->request(
            table, caf::infinite, actors::upsert_atom::value, "bench-" + std::to_string(i),
            "/workspace/w" + std::to_string(i / 2) + "/port/" + std::to_string(9000 + i % 2) + "/",
            "127.0.0.1:" + std::to_string(20000 + i), false));
      for (auto& h : handles)
        h.receive([&](const std::string& e) { failures += e.empty() ? 0 : 1; },
                  [&](caf::error&) { ++failures; });
    }
    all_at_once_s = std::chrono::duration<double>(steady::now() - start).count();
    all_at_once_loads = stats->loads;
    caf::anon_send_exit(table, caf::exit_reason::user_shutdown);
    if (failures != 0 || routes_in_config(caddy.admin()) != n) {
      std::fprintf(stderr, "all-at-once run failed: %d failures\n", failures);
      return 1;
    }
  }

  std::printf("%d routes into Caddy (admin API on loopback)\n\n", n);
  std::printf("%-52s %12s %12s\n", "", "seconds", "requests");
  std::printf("%-52s %12.2f %12d\n", "baseline: one request per route (sequential)", per_route_s,
              n);
  std::printf("%-52s %12.2f %12llu\n", "route table actor, 32 concurrent callers, batched",
              batched_s, static_cast<unsigned long long>(loads));
  std::printf("%-52s %12.2f %12llu\n", "route table actor, all changes in flight at once",
              all_at_once_s, static_cast<unsigned long long>(all_at_once_loads));
  return 0;
}
