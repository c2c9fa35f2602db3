// Hostile and heavy clients against a real rockpoold (issue 9's load test).
//
// Prints, from one run and each next to its baseline from the same run:
//   1. GET latency on the unix socket, alone, then while IDLE idle TCP
//      connections and SLOW slowloris connections (a header trickling in) are
//      open; and how many GETs failed (resets). Target p99 <= 50 ms, 0 failed.
//   2. Delivery latency of an event to WATCHERS concurrent watch streams,
//      measured from the moment its write was acknowledged, next to the write
//      itself. Target p99 <= 10 ms.
//   3. Daemon RSS, idle and at its peak while ATTACKERS tokenless TCP clients
//      each push a 3 MiB body. Target <= 256 MiB.
//
// Usage: load_bench [--idle N] [--slowloris N] [--watchers N] [--attackers N]
// Loopback only; every loop is bounded in count and time. Run by hand (not by
// CI); see docs/benchmarks.md.
#include "raw_socket.hpp"
#include "rockpool/cli/client.hpp"
#include "test_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace rockpool;
using namespace rockpool::test_support;
using steady = std::chrono::steady_clock;

namespace {

double ms(steady::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

const std::string list_path = "/apis/rockpool.dev/v1alpha1/workspaces";

struct get_figures {
  double p50 = 0, p99 = 0;
  int failed = 0;
};

get_figures time_gets(cli::api_client& c, int n) {
  std::vector<double> lat;
  get_figures f;
  for (int i = 0; i < n; ++i) {
    auto t0 = steady::now();
    auto r = c.request("GET", list_path);
    if (!r.ok() || r->status != 200) {
      ++f.failed;
      continue;
    }
    lat.push_back(ms(steady::now() - t0));
  }
  f.p50 = percentile(lat, 0.5);
  f.p99 = percentile(lat, 0.99);
  return f;
}

std::string workspace(const std::string& name) {
  return R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":")" + name +
         R"("},"spec":{"image":"rockpool-tiny"}})";
}

// Part 1: GETs on the unix socket with idle and slowloris TCP clients open.
void gets_under_idle_load(const daemon_process& d, unsigned short port, int idle, int slow) {
  cli::api_client c({d.server_url(), "", 10000});
  for (int i = 0; i < 20; ++i)
    (void)c.request("POST", list_path, workspace("g" + std::to_string(i)), "application/json");
  auto alone = time_gets(c, 1000);
  std::vector<int> held;
  int refused = 0;
  for (int i = 0; i < idle + slow; ++i) {
    int fd = connect_tcp(port);
    if (fd < 0) {
      ++refused;
      continue;
    }
    if (i >= idle) send_all(fd, "GET /apis HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    held.push_back(fd);
  }
  // The slowloris clients trickle a byte every 500 ms while the GETs run.
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    for (int round = 0; round < 120 && !done; ++round) {
      for (std::size_t i = static_cast<std::size_t>(idle); i < held.size(); ++i)
        send_all(held[i], "a");
      for (int t = 0; t < 5 && !done; ++t)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  auto loaded = time_gets(c, 1000);
  done = true;
  trickle.join();
  int still_open = 0;
  for (int fd : held) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) == 0) ++still_open;
    ::close(fd);
  }
  std::printf("1. GET %s on the unix socket (1,000 each)\n", list_path.c_str());
  std::printf("   %-44s p50 %7.2f ms  p99 %7.2f ms  failed %d\n", "alone (baseline)", alone.p50,
              alone.p99, alone.failed);
  char label[96];
  std::snprintf(label, sizeof label, "with %d idle + %d slowloris TCP open", idle, slow);
  std::printf("   %-44s p50 %7.2f ms  p99 %7.2f ms  failed %d\n", label, loaded.p50, loaded.p99,
              loaded.failed);
  std::printf("   (TCP connects refused: %d; still open after the GETs: %d of %zu)\n", refused,
              still_open, held.size());
}

// Part 2: how long an acknowledged write takes to reach every watcher.
void watch_delivery(const daemon_process& d, int watchers, int writes) {
  std::vector<int> fds;
  for (int i = 0; i < watchers; ++i) {
    int fd = connect_unix(d.socket());
    if (fd < 0 || !send_all(fd, "GET " + list_path +
                                    "?watch=true&resourceVersion=1 HTTP/1.1\r\n"
                                    "Host: x\r\n\r\n"))
      break;
    fds.push_back(fd);
  }
  // Each stream's head, then events.
  std::vector<std::string> buf(fds.size());
  std::vector<std::size_t> seen(fds.size(), 0);  // events parsed so far per stream
  std::map<int, steady::time_point> acked;       // write index -> acknowledged
  std::vector<double> delivery;
  std::mutex mu;
  std::atomic<bool> writing_done{false};
  cli::api_client c({d.server_url(), "", 10000});
  std::vector<double> write_ms;
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // streams are open
    for (int i = 0; i < writes; ++i) {
      auto t0 = steady::now();
      auto r = c.request("POST", list_path, workspace("l" + std::to_string(i)), "application/json");
      auto t1 = steady::now();
      if (r.ok() && r->status == 201) {
        std::lock_guard lk(mu);
        acked[i] = t1;
        write_ms.push_back(ms(t1 - t0));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    writing_done = true;
  });
  std::vector<pollfd> polls;
  for (int fd : fds) polls.push_back({fd, POLLIN, 0});
  std::vector<std::pair<int, steady::time_point>> arrivals;  // write index, arrival
  auto end = steady::now() + std::chrono::seconds(30);
  char chunk[65536];
  std::size_t complete = 0;
  while (steady::now() < end && complete < fds.size()) {
    if (::poll(polls.data(), polls.size(), 100) <= 0) continue;
    auto now = steady::now();
    for (std::size_t i = 0; i < polls.size(); ++i) {
      if (polls[i].fd < 0 || (polls[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      auto n = ::recv(polls[i].fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        polls[i].fd = -1;
        ++complete;
        continue;
      }
      buf[i].append(chunk, static_cast<std::size_t>(n));
      for (auto at = buf[i].find("\"name\":\"l", seen[i]); at != std::string::npos;
           at = buf[i].find("\"name\":\"l", at + 1)) {
        arrivals.emplace_back(std::atoi(buf[i].c_str() + at + 9), now);
        seen[i] = at + 1;
        if (std::atoi(buf[i].c_str() + at + 9) == writes - 1) {
          polls[i].fd = -1;
          ++complete;
        }
      }
    }
  }
  writer.join();
  int missing = 0;
  for (auto& [index, at] : arrivals) {
    auto it = acked.find(index);
    if (it == acked.end()) continue;
    delivery.push_back(std::max(0.0, ms(at - it->second)));
  }
  missing = static_cast<int>(fds.size()) * writes - static_cast<int>(arrivals.size());
  for (int fd : fds) ::close(fd);
  std::printf("2. %d writes, each to %zu watchers\n", writes, fds.size());
  std::printf("   %-44s p50 %7.2f ms  p99 %7.2f ms\n", "write acknowledged (baseline)",
              percentile(write_ms, 0.5), percentile(write_ms, 0.99));
  std::printf("   %-44s p50 %7.2f ms  p99 %7.2f ms  missing %d\n", "delivered, after the ack",
              percentile(delivery, 0.5), percentile(delivery, 0.99), missing);
}

// Part 3: daemon RSS while tokenless clients push 3 MiB bodies.
void body_attack(const daemon_process& d, unsigned short port, int attackers) {
  auto idle_rss = rss_kib(d.pid());
  std::atomic<long> peak{idle_rss};
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    while (!done) {
      peak = std::max(peak.load(), rss_kib(d.pid()));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  const std::size_t body = 3 << 20;
  std::string header = "POST " + list_path +
                       " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: " +
                       std::to_string(body) + "\r\n\r\n";
  std::vector<int> fds;
  std::vector<std::size_t> sent;
  for (int i = 0; i < attackers; ++i) {
    int fd = connect_tcp(port);
    if (fd < 0) continue;
    send_all(fd, header);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    fds.push_back(fd);
    sent.push_back(0);
  }
  std::string junk(64 << 10, 'x');
  auto end = steady::now() + std::chrono::seconds(20);
  std::size_t active = fds.size(), pushed = 0;
  int answered_401 = 0;
  std::vector<bool> open(fds.size(), true);
  while (active > 0 && steady::now() < end) {
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!open[i]) continue;
      auto n = ::send(fds[i], junk.data(), std::min(junk.size(), body - sent[i]), MSG_NOSIGNAL);
      if (n > 0) {
        sent[i] += static_cast<std::size_t>(n);
        pushed += static_cast<std::size_t>(n);
      }
      if ((n < 0 && errno != EAGAIN) || sent[i] >= body) {
        open[i] = false;
        --active;
      }
    }
  }
  for (int fd : fds) {
    if (read_reply(fd, std::chrono::milliseconds(200)).status() == 401) ++answered_401;
    ::close(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  done = true;
  sampler.join();
  std::printf(
      "3. %zu tokenless TCP clients each sending a 3 MiB body (%.0f MiB accepted by the "
      "kernel)\n",
      fds.size(), static_cast<double>(pushed) / (1 << 20));
  std::printf("   %-44s %7.1f MiB\n", "daemon RSS idle (baseline)",
              static_cast<double>(idle_rss) / 1024);
  std::printf("   %-44s %7.1f MiB   (answered 401: %d)\n", "daemon RSS peak during the attack",
              static_cast<double>(peak.load()) / 1024, answered_401);
}

}  // namespace

int main(int argc, char** argv) {
  int idle = 10000, slow = 600, watchers = 1000, attackers = 300;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (flag == "--idle") idle = v;
    if (flag == "--slowloris") slow = v;
    if (flag == "--watchers") watchers = v;
    if (flag == "--attackers") attackers = v;
  }
  auto files = raise_open_files(idle + slow + watchers + attackers + 256);
  if (files < idle + slow + watchers + attackers + 64) {
    std::fprintf(stderr, "open-file limit %ld is too low for this load\n", files);
    return 1;
  }
  temp_dir tmp;
  auto port = free_port();
  std::ofstream(tmp / "token") << "s3cret-token-0123456789\n";
  std::filesystem::permissions(tmp / "token", std::filesystem::perms::owner_read);
  daemon_process d(ROCKPOOLD_PATH, tmp / "db", tmp / "api.sock",
                   {"--listen", "127.0.0.1:" + std::to_string(port), "--plain-http", "--token-file",
                    tmp / "token"});
  if (!d.start()) {
    std::fprintf(stderr, "rockpoold did not start:\n%s\n", d.log().c_str());
    return 1;
  }
  gets_under_idle_load(d, port, idle, slow);
  watch_delivery(d, watchers, 50);
  body_attack(d, port, attackers);
  return d.stop() == 0 ? 0 : 1;
}
