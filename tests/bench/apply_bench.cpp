// Durable apply through rockpoold's HTTP API on its unix socket.
//
// Prints, side by side and from the same run:
//   - the baseline: one synced RocksDB write through the store backend alone
//     (the floor any durable apply pays), single thread, p50/p99;
//   - single-client apply latency through the API (HTTP + JSON + validation + sync);
//   - apply throughput with 1, 16 and 64 concurrent clients, and the speed-up
//     over one client that group commit buys.
//
// Usage: apply_bench [--requests N]   (run by hand, not by CI; see docs/benchmarks.md)
#include "rockpool/cli/client.hpp"
#include "rockpool/specs/rocksdb_backend.hpp"
#include "test_support.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace rockpool;
using steady = std::chrono::steady_clock;

namespace {

double ms(steady::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

std::string workspace(const std::string& name) {
  return R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":")" + name +
         R"("},"spec":{"image":"rockpool-tiny","resources":{"cpu":2,"memory":"2Gi"}}})";
}

struct run_result {
  double seconds = 0;
  std::vector<double> latencies_ms;
};

run_result apply_with_clients(const std::string& server, int clients, int per_client,
                              const std::string& prefix) {
  run_result r;
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(clients));
  std::vector<std::thread> threads;
  auto start = steady::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      cli::api_client client({server, "", 30000});
      for (int i = 0; i < per_client; ++i) {
        auto name = prefix + "-" + std::to_string(c) + "-" + std::to_string(i);
        auto t0 = steady::now();
        auto resp = client.request(
            "PATCH", "/apis/rockpool.dev/v1alpha1/workspaces/" + name + "?fieldManager=bench",
            workspace(name), "application/apply-patch+yaml");
        lat[static_cast<std::size_t>(c)].push_back(ms(steady::now() - t0));
        if (!resp.ok() || resp->status != 201) {
          std::fprintf(stderr, "apply failed: %s\n",
                       resp.ok() ? resp->body.c_str() : resp.err().message.c_str());
          std::exit(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  r.seconds = std::chrono::duration<double>(steady::now() - start).count();
  for (auto& l : lat) r.latencies_ms.insert(r.latencies_ms.end(), l.begin(), l.end());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int requests = 2000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--requests") == 0) requests = std::stoi(argv[i + 1]);

  test_support::temp_dir tmp;
  // Baseline: synced writes straight into the backend, one thread.
  std::vector<double> base;
  {
    auto backend = specs::open_rocksdb(tmp / "baseline");
    if (!backend.ok()) return 1;
    std::string value = workspace("baseline");
    for (int i = 0; i < requests / 4; ++i) {
      auto t0 = steady::now();
      auto rev = (*backend)->commit(specs::kv_write{"Workspace/b" + std::to_string(i), 0, value});
      base.push_back(ms(steady::now() - t0));
      if (!rev.ok()) return 1;
    }
  }

  test_support::daemon_process daemon(ROCKPOOLD_PATH, tmp / "db", tmp / "api.sock");
  if (!daemon.start()) {
    std::fprintf(stderr, "rockpoold did not start:\n%s\n", daemon.log().c_str());
    return 1;
  }
  auto server = daemon.server_url();
  auto single = apply_with_clients(server, 1, requests / 4, "single");

  std::printf("Durable apply through the API (unix socket), %d requests per run\n\n", requests);
  std::printf("%-44s %10s %10s\n", "latency, one client", "p50 ms", "p99 ms");
  std::printf("%-44s %10.3f %10.3f\n", "baseline: synced backend write (no API)",
              percentile(base, 0.5), percentile(base, 0.99));
  std::printf("%-44s %10.3f %10.3f\n", "apply via HTTP API", percentile(single.latencies_ms, 0.5),
              percentile(single.latencies_ms, 0.99));

  std::printf("\n%-12s %12s %12s %12s %12s\n", "clients", "applies/s", "speed-up", "p50 ms",
              "p99 ms");
  double one = 0;
  for (int clients : {1, 16, 64}) {
    auto r = apply_with_clients(server, clients, std::max(1, requests / clients),
                                "c" + std::to_string(clients));
    double rate = static_cast<double>(r.latencies_ms.size()) / r.seconds;
    if (clients == 1) one = rate;
    std::printf("%-12d %12.0f %11.1fx %12.3f %12.3f\n", clients, rate, rate / one,
                percentile(r.latencies_ms, 0.5), percentile(r.latencies_ms, 0.99));
  }
  cli::api_client c({server, "", 5000});
  auto m = c.request("GET", "/metrics");
  if (m.ok()) {
    auto writes = m->body.find("\nrockpool_store_writes_total ");
    auto batches = m->body.find("\nrockpool_store_batches_total ");
    if (writes != std::string::npos && batches != std::string::npos) {
      double w = std::stod(m->body.substr(writes + 29)),
             b = std::stod(m->body.substr(batches + 30));
      std::printf("\nstore: %.0f writes in %.0f synced batches (%.1f writes per sync)\n", w, b,
                  w / b);
    }
  }
  daemon.stop();
  return 0;
}
