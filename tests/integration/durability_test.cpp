// Black-box crash test: a child applies objects and reports each acknowledged
// write; we SIGKILL it at random moments and check every acknowledged write
// survived with its content, and that revisions never go backwards.
#include "rockpool/specs/object_store.hpp"
#include "rockpool/specs/rocksdb_backend.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <thread>

using namespace rockpool::specs;

namespace {

struct ack {
  std::uint64_t revision = 0;
  long seq = 0;
};

// Runs the writer for `run_for`, kills it with SIGKILL, returns everything it acknowledged.
std::string run_and_kill(const std::string& dir, long start_seq,
                         std::chrono::milliseconds run_for) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    std::string seq = std::to_string(start_seq);
    ::execl(CRASH_WRITER_PATH, CRASH_WRITER_PATH, dir.c_str(), seq.c_str(), nullptr);
    std::_Exit(127);
  }
  ::close(fds[1]);
  std::string acks;
  std::thread reader([&] {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) acks.append(buf, static_cast<std::size_t>(n));
  });
  std::this_thread::sleep_for(run_for);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  reader.join();  // the pipe closes when the child is gone; every ack written is read
  ::close(fds[0]);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "writer exited early";
  return acks;
}

}  // namespace

TEST(durability, acknowledged_writes_survive_sigkill) {
  rockpool::test_support::temp_dir tmp;
  std::string dir = tmp / "db";
  std::mt19937 rng(20261129);
  std::uniform_int_distribution<int> delay_ms(30, 400);
  std::map<std::string, ack> acked;  // latest acknowledged write per object
  std::uint64_t last_revision = 0;
  long next_seq = 0;
  std::size_t total_acks = 0;
  // 20 in CI; ROCKPOOL_DURABILITY_ROUNDS=1000 for the long run by hand
  // (docs/benchmarks.md).
  int rounds = 20;
  if (const char* env = std::getenv("ROCKPOOL_DURABILITY_ROUNDS"); env && std::atoi(env) > 0)
    rounds = std::atoi(env);
  for (int round = 0; round < rounds; ++round) {
    auto text = run_and_kill(dir, next_seq, std::chrono::milliseconds(delay_ms(rng)));
    std::istringstream lines(text);
    std::string name;
    ack a;
    while (lines >> name >> a.revision >> a.seq) {
      ++total_acks;
      auto& cur = acked[name];
      if (a.revision > cur.revision) cur = a;
      next_seq = std::max(next_seq, a.seq + 1);
    }
    next_seq += 1000;  // sequence numbers never repeat across rounds

    auto backend = open_rocksdb(dir);
    ASSERT_TRUE(backend.ok()) << backend.err().message;
    object_store store(**backend, system_clock());
    EXPECT_GE(store.revision(), last_revision) << "revision went backwards in round " << round;
    last_revision = store.revision();
    for (const auto& [n, want] : acked) {
      auto got = store.get("Workspace", n);
      ASSERT_TRUE(got.ok()) << "acknowledged object " << n << " lost in round " << round;
      auto rv = std::stoull(string_at(*got, "metadata.resourceVersion"));
      EXPECT_LE(want.revision, last_revision);
      ASSERT_GE(rv, want.revision) << n << " went back to an older write in round " << round;
      if (rv == want.revision) {
        const auto* labels = find_path(*got, "metadata.labels");
        ASSERT_NE(labels, nullptr);
        EXPECT_EQ(std::string(labels->at("seq").as_string()), std::to_string(want.seq)) << n;
        EXPECT_EQ(string_at(*got, "spec.image"), "img-" + std::to_string(want.seq)) << n;
      }
    }
  }
  EXPECT_GT(total_acks, static_cast<std::size_t>(rounds))
      << "the writer acknowledged almost nothing";
  std::cout << "durability: " << rounds << " SIGKILL rounds, " << total_acks
            << " acknowledged writes verified, final revision " << last_revision << "\n";
}
