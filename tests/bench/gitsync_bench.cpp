// GitSync of a large repository on the fake runtime (issue 13, item 7).
//
// Prints, side by side and from the same run, on fresh daemons each:
//   - the baseline: `rpctl apply -R -f DIR` of the same manifests (what a
//     user does by hand: client-side validation, one API apply per object);
//   - a GitSync of a Git repository holding them: from the GitSync's apply to
//     status Synced at the head commit (clone, read, validate, apply all);
//   - until every workspace is Running, then a second sync of the unchanged
//     repository (`rpctl sync --wait`) on the quiet daemon.
//
// Usage: gitsync_bench [OBJECTS]   (default 5000; run by hand, not by CI;
// see docs/benchmarks.md)
#include "rockpool/cli/client.hpp"
#include "rockpool/specs/codec.hpp"
#include "test_support.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

using namespace rockpool;
using steady = std::chrono::steady_clock;
using test_support::run_command;

namespace {

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

std::unique_ptr<test_support::daemon_process> fresh_daemon(const test_support::temp_dir& tmp,
                                                           const std::string& name) {
  auto d = std::make_unique<test_support::daemon_process>(
      ROCKPOOLD_PATH, tmp / (name + "-db"), tmp / (name + ".sock"),
      std::vector<std::string>{"--runtime", "fake", "--sweep-interval", "0"});
  if (!d->start()) {
    std::fprintf(stderr, "rockpoold did not start: %s\n", d->log().c_str());
    std::exit(1);
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  int objects = argc > 1 ? std::atoi(argv[1]) : 5000;
  test_support::temp_dir tmp;
  auto repo = tmp / "repo";
  std::filesystem::create_directories(repo + "/specs");
  constexpr int per_file = 100;
  for (int f = 0; f * per_file < objects; ++f) {
    std::ofstream out(repo + "/specs/ws-" + std::to_string(f) + ".yaml");
    for (int i = f * per_file; i < std::min(objects, (f + 1) * per_file); ++i)
      out << "---\napiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: w" << i
          << "\nspec:\n  image: rockpool-tiny\n  resources:\n    cpu: 1\n";
  }
  auto git = run_command("cd " + repo +
                         " && git init -q -b main && git add -A && git -c user.email=b@b -c "
                         "user.name=b commit -qm bench && git rev-parse HEAD");
  if (git.exit_code != 0) {
    std::fprintf(stderr, "git failed: %s\n", git.out.c_str());
    return 1;
  }
  auto head = git.out.substr(0, 40);

  auto base = fresh_daemon(tmp, "baseline");
  auto t0 = steady::now();
  auto applied = run_command("ROCKPOOL_SERVER=" + base->server_url() +
                             " " RPCTL_PATH " apply -R -f " + repo + "/specs > /dev/null");
  double baseline = seconds_since(t0);
  if (applied.exit_code != 0) std::fprintf(stderr, "rpctl apply failed: %s\n", applied.err.c_str());
  base->stop();

  auto d = fresh_daemon(tmp, "gitsync");
  cli::api_client client({d->server_url(), "", 60000});
  auto body = R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"GitSync","metadata":{"name":"b"},)"
              R"("spec":{"git":{"url":")" +
              repo + R"(","ref":"main","path":"specs"},"interval":"1h"}})";
  t0 = steady::now();
  auto created =
      client.request("POST", "/apis/rockpool.dev/v1alpha1/gitsyncs", body, "application/json");
  if (!created.ok() || created->status != 201) {
    std::fprintf(stderr, "create failed\n");
    return 1;
  }
  std::string last;
  while (seconds_since(t0) < 600) {
    auto r = client.request("GET", "/apis/rockpool.dev/v1alpha1/gitsyncs/b");
    if (r.ok() && r->status == 200) {
      auto v = specs::parse_json(r->body);
      if (v.ok() && specs::string_at(*v, "status.lastAppliedRevision") == head) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  double first = seconds_since(t0);
  // Until every workspace is Running on the fake runtime; then the daemon is quiet.
  std::size_t running = 0;
  while (seconds_since(t0) < 600 && running < static_cast<std::size_t>(objects)) {
    running = 0;
    auto r = client.request("GET", "/apis/rockpool.dev/v1alpha1/workspaces");
    if (r.ok() && r->status == 200)
      if (auto v = specs::parse_json(r->body); v.ok())
        for (const auto& item : v->at("items").as_array())
          running += specs::string_at(item, "status.phase") == "Running";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  double all_running = seconds_since(t0);
  t0 = steady::now();
  auto again = run_command("ROCKPOOL_SERVER=" + d->server_url() +
                           " " RPCTL_PATH " sync b --wait --timeout 600s");
  double second = seconds_since(t0);
  d->stop();

  std::printf("GitSync of %d objects (fake runtime, fresh daemon each)\n", objects);
  std::printf("  %-52s %8.2f s\n", "baseline: rpctl apply -R -f DIR (by hand)", baseline);
  std::printf("  %-52s %8.2f s  (%.2fx the baseline)\n", "GitSync: create -> Synced at HEAD", first,
              first / baseline);
  std::printf("  %-52s %8.2f s\n", "GitSync: create -> every workspace Running", all_running);
  std::printf("  %-52s %8.2f s  %s\n", "GitSync: rpctl sync --wait, nothing changed", second,
              again.out.find("0 applied") != std::string::npos ? "" : again.out.c_str());
  return 0;
}
