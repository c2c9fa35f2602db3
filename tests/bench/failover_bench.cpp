// Failover of rockpoold replicas on etcd (issue 27): a 3-member etcd cluster
// on loopback and three replicas (fake runtime); the leader is killed with
// SIGKILL `--kills` times (default 20) and the time until another replica
// leads (its /readyz says "ok (leader)", polled every 20 ms) is measured. The
// baseline from the same run is the lease TTL: after a kill -9 nobody may
// lead before the dead leader's lease expires, so failover / TTL is the
// figure (1.0 is the floor, 2.0 the bound).
//
//   failover_bench [--kills 20] [--ttl 2]
#include "test_support.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace rockpool;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  int kills = 20, ttl = 2;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--kills")) kills = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--ttl")) ttl = std::stoi(argv[++i]);
  }
  if (kills < 1 || kills > 200 || ttl < 1 || ttl > 60) {
    std::fprintf(stderr, "failover_bench: --kills 1..200, --ttl 1..60\n");
    return 2;
  }
  test_support::etcd_cluster etcd(3);
  if (!etcd.start()) {
    std::fprintf(stderr, "failover_bench: etcd did not start (apt-get install etcd-server)\n");
    return 2;
  }
  test_support::temp_dir dir;
  std::vector<std::unique_ptr<test_support::daemon_process>> replicas;
  for (const char* name : {"a", "b", "c"}) {
    replicas.push_back(std::make_unique<test_support::daemon_process>(
        ROCKPOOLD_PATH, dir / (std::string(name) + "-db"), dir / (std::string(name) + ".sock"),
        std::vector<std::string>{"--store", "etcd://" + etcd.endpoints(), "--runtime", "fake",
                                 "--bridge", "none", "--leader-ttl", std::to_string(ttl)}));
    if (!replicas.back()->start()) {
      std::fprintf(stderr, "failover_bench: rockpoold did not start: %s\n", replicas.back()->log().c_str());
      return 2;
    }
  }
  auto leader = [&]() -> int {
    for (std::size_t i = 0; i < replicas.size(); ++i)
      if (replicas[i]->serving() &&
          test_support::run_command("curl -s -m 2 --unix-socket " + replicas[i]->socket() + " http://x/readyz")
                  .out == "ok (leader)")
        return static_cast<int>(i);
    return -1;
  };
  auto wait_leader = [&](std::chrono::seconds limit) {
    auto began = std::chrono::steady_clock::now();
    int at = leader();
    while (at < 0 && std::chrono::steady_clock::now() - began < limit) {
      std::this_thread::sleep_for(20ms);
      at = leader();
    }
    return at;
  };
  if (wait_leader(30s) < 0) {
    std::fprintf(stderr, "failover_bench: no replica leads\n");
    return 1;
  }
  std::vector<double> ms;
  for (int k = 0; k < kills; ++k) {
    int old = leader();
    replicas[old]->kill9();
    auto killed = std::chrono::steady_clock::now();
    int now = wait_leader(std::chrono::seconds(10 * ttl));
    if (now < 0) {
      std::fprintf(stderr, "failover_bench: kill %d: nobody leads after %d s\n", k + 1, 10 * ttl);
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - killed).count());
    std::printf("kill %2d: replica %c -> %c in %6.0f ms\n", k + 1, 'a' + old, 'a' + now, ms.back());
    if (!replicas[old]->start()) {  // back as a follower, as a service manager restarts it
      std::fprintf(stderr, "failover_bench: restart failed: %s\n", replicas[old]->log().c_str());
      return 1;
    }
  }
  std::sort(ms.begin(), ms.end());
  double median = ms[ms.size() / 2], max = ms.back(), ttl_ms = ttl * 1000.0;
  std::printf("\n%-28s %10s %10s\n", "", "median", "max");
  std::printf("%-28s %8.0f ms %7.0f ms\n", "failover after kill -9", median, max);
  std::printf("%-28s %8.0f ms %7.0f ms\n", "baseline: lease TTL", ttl_ms, ttl_ms);
  std::printf("%-28s %10.2f %10.2f   (bound: 2.00)\n", "failover / TTL", median / ttl_ms, max / ttl_ms);
  return max <= 2 * ttl_ms ? 0 : 1;
}
