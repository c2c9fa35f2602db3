// rockpoold against etcd, side by side in one run and with one client (issue
// 25, item 4): durable writes at c=1 and c=16 and reads of one object at
// c=16, each the median of --reps alternating runs of --seconds, on an etcd
// member and a rockpoold (--runtime none, plain HTTP on loopback) that this
// program starts on free ports. The figures are ratios rockpoold/etcd,
// because machines differ and these two share one.
//
//   ./build/tests/bench/store_ratio [--seconds S] [--reps N] [--guard docs/benchmarks.md]
//                                   [--rockpoold-on-etcd]
//
// --rockpoold-on-etcd keeps rockpoold's store in that same etcd (issue 27's
// "rockpoold on etcd against etcd directly" figure) instead of RocksDB, and
// adds a second baseline for writes: what any store on etcd must do per
// create, measured on etcd directly: a txn that puts the key only if it is
// absent (compare mod_revision 0), with one watch open on those keys (the
// store's own watch, which etcd feeds on every write).
//
// With --guard it reads the line "ratio-guard: writes_c1=A writes_c16=B
// reads_c16=C" from that file and exits 1 when a ratio is more than 25 %
// below its recorded figure (the CI step perf.ratio_guard).
#include "rockpool/runtime/http.hpp"
#include "rockpool/specs/base64.hpp"
#include "test_support.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace rockpool;
using clock_type = std::chrono::steady_clock;

namespace {

// A document of the size compare.sh writes (a few hundred bytes).
std::string document(const std::string& name) {
  return R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"WorkspaceTemplate","metadata":{"name":")" +
         name + R"("},"spec":{"image":"rockpool-tiny","description":"a template of the benchmark",)"
         R"("resources":{"cpu":2,"memory":"2Gi","disk":"10Gi"}}})";
}

struct server {
  std::string name;
  // The request for operation i of worker w (a write or a read).
  std::function<runtime::http_call(bool write, int worker, long i)> call;
  int ok_status;  // what a successful write answers (reads: 200)
};

std::atomic<bool> had_errors{false};

// Requests per second over `seconds` with c workers, each on its own
// keep-alive connection; a failed request is not counted, and fails the run.
double run(const server& s, bool write, int c, double seconds, int round) {
  std::atomic<long> done{0};
  std::atomic<bool> failed{false};
  auto until = clock_type::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> workers;
  for (int w = 0; w < c; ++w)
    workers.emplace_back([&, w] {
      runtime::http_session session;
      for (long i = 0; clock_type::now() < until; ++i) {
        auto call = s.call(write, round * 1000 + w, i);
        auto r = session.perform(call);
        if (r.ok() && r->status == (write ? s.ok_status : 200))
          ++done;
        else
          failed = true;
      }
    });
  for (auto& t : workers) t.join();
  if (failed) {
    std::fprintf(stderr, "store_ratio: %s answered some requests with an error\n", s.name.c_str());
    had_errors = true;
  }
  return static_cast<double>(done) / seconds;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::map<std::string, double> recorded(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::map<std::string, double> out;
  static const std::regex pair("([a-z0-9_]+)=([0-9.]+)");
  while (std::getline(in, line)) {
    auto at = line.find("ratio-guard:");
    if (at == std::string::npos) continue;
    for (std::sregex_iterator it(line.begin() + static_cast<long>(at), line.end(), pair), end;
         it != end; ++it)
      out[(*it)[1]] = std::stod((*it)[2]);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  int reps = 3;
  std::string guard;
  bool on_etcd = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--rockpoold-on-etcd")) on_etcd = true;
    if (i + 1 >= argc) continue;
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::stod(argv[++i]);
    else if (!std::strcmp(argv[i], "--reps")) reps = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--guard")) guard = argv[++i];
  }
  test_support::etcd_process etcd;
  if (!etcd.start()) {
    std::fprintf(stderr, "store_ratio: etcd did not start (apt-get install etcd-server)\n");
    return 2;
  }
  test_support::temp_dir dir;
  auto token = std::string(32, 'k');
  {
    std::ofstream(dir / "token") << token << "\n";
    ::chmod((dir / "token").c_str(), 0600);
  }
  auto port = test_support::free_port();
  std::vector<std::string> args{"--runtime", "none", "--listen", "127.0.0.1:" + std::to_string(port),
                                "--plain-http", "--token-file", dir / "token"};
  if (on_etcd) args.insert(args.end(), {"--store", "etcd://" + etcd.endpoint()});
  test_support::daemon_process rockpoold(ROCKPOOLD_PATH, dir / "db", dir / "api.sock", args);
  if (!rockpoold.start()) {
    std::fprintf(stderr, "store_ratio: rockpoold did not start: %s\n", rockpoold.log().c_str());
    return 2;
  }
  auto base = "http://127.0.0.1:" + std::to_string(port) + "/apis/rockpool.dev/v1alpha1/workspacetemplates";
  server rp{"rockpoold",
            [&](bool write, int w, long i) {
              runtime::http_call c;
              c.headers = {"Authorization: Bearer " + token, "Content-Type: application/json"};
              if (write) {
                c.method = "POST";
                c.url = base;
                c.body = document("t-" + std::to_string(w) + "-" + std::to_string(i));
                c.send_body = true;
              } else {
                c.url = base + "/read-me";
              }
              return c;
            },
            201};
  server et{"etcd",
            [&](bool write, int w, long i) {
              runtime::http_call c;
              c.method = "POST";
              c.headers = {"Content-Type: application/json"};
              c.send_body = true;
              auto key = [](const std::string& k) { return specs::base64_encode("/bench/" + k); };
              if (write) {
                auto name = "t-" + std::to_string(w) + "-" + std::to_string(i);
                c.url = etcd.url() + "/v3/kv/put";
                c.body = R"({"key":")" + key(name) + R"(","value":")" +
                         specs::base64_encode(document(name)) + R"("})";
              } else {
                c.url = etcd.url() + "/v3/kv/range";
                c.body = R"({"key":")" + key("read-me") + R"("})";
              }
              return c;
            },
            200};
  // The floor of a store on etcd (--rockpoold-on-etcd): create-if-absent txns
  // under /floor/ while a watch on /floor/ is open.
  auto floor_key = [](const std::string& k) { return specs::base64_encode("/floor/" + k); };
  server floor{"etcd txn+watch",
               [&](bool, int w, long i) {
                 runtime::http_call c;
                 c.method = "POST";
                 c.headers = {"Content-Type: application/json"};
                 c.send_body = true;
                 auto name = "t-" + std::to_string(w) + "-" + std::to_string(i);
                 auto key = floor_key(name);
                 c.url = etcd.url() + "/v3/kv/txn";
                 c.body = R"({"compare":[{"target":"MOD","key":")" + key +
                          R"(","mod_revision":"0","result":"EQUAL"}],"success":[{"request_put":{"key":")" +
                          key + R"(","value":")" + specs::base64_encode(document(name)) +
                          R"("}}],"failure":[{"request_range":{"key":")" + key + R"("}}]})";
                 return c;
               },
               200};
  std::atomic<bool> watching{on_etcd};
  std::thread floor_watch;
  if (on_etcd)
    floor_watch = std::thread([&] {
      while (watching) {
        runtime::http_call c;
        c.method = "POST";
        c.url = etcd.url() + "/v3/watch";
        c.send_body = true;
        c.body = R"({"create_request":{"key":")" + floor_key("") + R"(","range_end":")" +
                 specs::base64_encode("/floor0") + R"(","prev_kv":true}})";
        c.on_data = [&](std::string_view, long) { return watching.load(); };
        c.keep_going = [&] { return watching.load(); };
        (void)runtime::http_perform(c);
      }
    });
  // The object the reads read, in both.
  {
    runtime::http_session s;
    auto w = rp.call(true, 0, 0);
    w.body = document("read-me");
    (void)s.perform(w);
    auto e = et.call(true, 0, 0);
    e.body = R"({"key":")" + specs::base64_encode("/bench/read-me") + R"(","value":")" +
             specs::base64_encode(document("read-me")) + R"("})";
    (void)s.perform(e);
  }
  struct point {
    const char* name;
    bool write;
    int c;
  };
  const point points[] = {{"writes_c1", true, 1}, {"writes_c16", true, 16}, {"reads_c16", false, 16}};
  auto want = guard.empty() ? std::map<std::string, double>() : recorded(guard);
  if (!guard.empty() && want.size() != 3) {
    std::fprintf(stderr, "store_ratio: no \"ratio-guard:\" line with three figures in %s\n",
                 guard.c_str());
    return 2;
  }
  std::printf("%-11s %12s %12s %7s %9s", "point", "etcd /s", "rockpoold /s", "ratio",
              guard.empty() ? "" : "recorded");
  if (on_etcd) std::printf(" %16s %9s", "etcd txn+watch /s", "to it");
  std::printf("\n");
  bool below = false;
  int round = 0;
  for (const auto& p : points) {
    (void)run(et, p.write, p.c, 0.5, ++round);  // warm both
    (void)run(rp, p.write, p.c, 0.5, ++round);
    std::vector<double> e, r;
    for (int i = 0; i < reps; ++i) {
      e.push_back(run(et, p.write, p.c, seconds, ++round));
      r.push_back(run(rp, p.write, p.c, seconds, ++round));
    }
    auto ratio = median(r) / median(e);
    std::printf("%-11s %12.0f %12.0f %6.2fx", p.name, median(e), median(r), ratio);
    if (!guard.empty()) {
      auto floor = want[p.name] * 0.75;
      std::printf(" %8.2fx%s", want[p.name], ratio < floor ? "  BELOW 75 % OF IT" : "");
      below = below || ratio < floor;
    }
    if (on_etcd && p.write) {
      (void)run(floor, true, p.c, 0.5, ++round);
      std::vector<double> f;
      for (int i = 0; i < reps; ++i) f.push_back(run(floor, true, p.c, seconds, ++round));
      std::printf(" %9s %16.0f %8.2fx", "", median(f), median(r) / median(f));
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  watching = false;
  if (floor_watch.joinable()) floor_watch.join();
  if (had_errors) return 2;
  return below ? 1 : 0;
}
