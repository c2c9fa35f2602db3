// Hostile and heavy clients against a real rockpoold (issue 9's load test).
//
// Prints, from one run and each next to its baseline from the same run:
//   1. GET latency on the unix socket, alone, then while IDLE idle TCP
//      connections and SLOW slowloris connections (a header trickling in) are
//      open; and how many GETs failed (resets). Target p99 <= 50 ms, 0 failed.
//   2. Delivery latency of an event to WATCHERS concurrent watch streams,
//      measured from the moment its write was acknowledged, next to the write
//      itself and to the floor: the same fan-out by one thread over raw unix
//      sockets, read by the same reader. Target p99 <= 8 ms (issue 25).
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

// What the streams' reader saw: each event (an object named l<i>) with the
// time it arrived, and the bytes read after each stream's head.
struct arrivals {
  std::vector<std::pair<int, steady::time_point>> events;  // write index, arrival
  std::size_t bytes = 0;
};

// Polls every stream and timestamps each event as it arrives, until every
// stream has had event `writes - 1` or ended, or until `end`. The same reader
// serves rockpoold's streams and the raw sockets of the floor below.
arrivals read_events(const std::vector<int>& fds, int writes, steady::time_point end) {
  std::vector<std::string> buf(fds.size());
  std::vector<std::size_t> seen(fds.size(), 0);  // where the next search starts, per stream
  std::vector<pollfd> polls;
  for (int fd : fds) polls.push_back({fd, POLLIN, 0});
  arrivals out;
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
        int index = std::atoi(buf[i].c_str() + at + 9);
        out.events.emplace_back(index, now);
        seen[i] = at + 1;
        if (index == writes - 1) {
          polls[i].fd = -1;
          ++complete;
        }
      }
    }
  }
  for (const auto& b : buf) {  // all but the response head
    auto head = b.rfind("HTTP/", 0) == 0 ? b.find("\r\n\r\n") : std::string::npos;
    out.bytes += head == std::string::npos ? b.size() : b.size() - head - 4;
  }
  return out;
}

// Delivery latencies: each arrival after the moment its write counts from.
std::vector<double> delivery(const arrivals& got, const std::map<int, steady::time_point>& from) {
  std::vector<double> out;
  for (const auto& [index, at] : got.events)
    if (auto it = from.find(index); it != from.end())
      out.push_back(std::max(0.0, ms(at - it->second)));
  return out;
}

// An event named l<index> of about `bytes`, framed as a chunk, as rockpoold frames it.
std::string framed_event(int index, std::size_t bytes) {
  std::string event = R"({"type":"ADDED","object":{"metadata":{"name":"l)" + std::to_string(index) +
                      R"("},"pad":")";
  event += std::string(bytes > event.size() + 3 ? bytes - event.size() - 3 : 0, 'x');
  event += "\"}}";
  char size[20];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", event.size());
  return std::string(size, static_cast<std::size_t>(n)) + event + "\r\n";
}

// The floor under a fan-out on this machine: `threads` threads writing each
// event (of rockpoold's size) to `streams` connected unix sockets, split
// among them, read by the same reader; timed from the round's first write.
std::vector<double> raw_fanout(std::size_t streams, int writes, std::size_t event_bytes,
                               std::size_t threads) {
  std::vector<int> ours, theirs;
  for (std::size_t i = 0; i < streams; ++i) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) break;
    ::fcntl(sv[0], F_SETFL, O_NONBLOCK);
    ours.push_back(sv[0]);
    theirs.push_back(sv[1]);
  }
  std::map<int, steady::time_point> started;
  std::thread writer([&] {
    for (int i = 0; i < writes; ++i) {
      auto framed = framed_event(i, event_bytes);
      started[i] = steady::now();  // read only after the join
      std::vector<std::thread> fan;
      for (std::size_t t = 0; t < threads; ++t)
        fan.emplace_back([&, t] {
          for (std::size_t k = t; k < ours.size(); k += threads)
            (void)!::write(ours[k], framed.data(), framed.size());
        });
      for (auto& f : fan) f.join();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  auto got = read_events(theirs, writes, steady::now() + std::chrono::seconds(30));
  writer.join();
  for (int fd : ours) ::close(fd);
  for (int fd : theirs) ::close(fd);
  return delivery(got, started);
}

// Part 2: how long an acknowledged write takes to reach every watcher, next
// to the same fan-out over raw sockets.
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
  std::map<int, steady::time_point> acked;  // write index -> acknowledged
  std::mutex mu;
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
  });
  auto got = read_events(fds, writes, steady::now() + std::chrono::seconds(30));
  writer.join();
  auto delivered = delivery(got, acked);
  int missing = static_cast<int>(fds.size()) * writes - static_cast<int>(got.events.size());
  for (int fd : fds) ::close(fd);
  auto event_bytes = got.events.empty() ? 0 : got.bytes / got.events.size();
  auto floor1 = raw_fanout(fds.size(), writes, event_bytes, 1);
  auto floor2 = raw_fanout(fds.size(), writes, event_bytes, 2);
  std::printf("2. %d writes, each to %zu watchers\n", writes, fds.size());
  std::printf("   %-44s p50 %7.2f ms  p99 %7.2f ms\n", "write acknowledged (baseline)",
              percentile(write_ms, 0.5), percentile(write_ms, 0.99));
  std::printf("   %-44s p50 %7.2f ms  p99 %7.2f ms  missing %d\n", "delivered, after the ack",
              percentile(delivered, 0.5), percentile(delivered, 0.99), missing);
  std::printf("   raw unix-socket fan-out of %zu B events, the same reader:\n", event_bytes);
  std::printf("   %-44s p50 %7.2f ms  p99 %7.2f ms\n", "  one writing thread (the floor)",
              percentile(floor1, 0.5), percentile(floor1, 0.99));
  std::printf("   %-44s p50 %7.2f ms  p99 %7.2f ms\n", "  two writing threads",
              percentile(floor2, 0.5), percentile(floor2, 0.99));
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
