// Test helper: applies objects to a store in a loop from several threads and
// prints "name revision seq" for every acknowledged write, unbuffered, so a
// parent that kills it with SIGKILL knows exactly what was acknowledged.
#include "rockpool/specs/object_store.hpp"
#include "rockpool/specs/rocksdb_backend.hpp"
#include "rockpool/specs/schema.hpp"

#include <unistd.h>
#include <boost/json.hpp>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using namespace rockpool::specs;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: crash_writer DIR START_SEQ\n");
    return 2;
  }
  auto backend = open_rocksdb(argv[1]);
  if (!backend.ok()) {
    std::fprintf(stderr, "%s\n", backend.err().message.c_str());
    return 1;
  }
  object_store store(**backend, system_clock());
  std::atomic<long> seq{std::stol(argv[2])};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (true) {
        long s = seq++;
        std::string name = "w" + std::to_string(s % 40);
        json::value obj = {{"apiVersion", api_version},
                           {"kind", "Workspace"},
                           {"metadata", {{"name", name}, {"labels", {{"seq", std::to_string(s)}}}}},
                           {"spec", {{"image", "img-" + std::to_string(s)}}}};
        auto r = store.apply(obj, write_request{false, "crash-test"}, false);
        if (!r.ok()) {
          std::fprintf(stderr, "apply failed: %s\n", r.err().message.c_str());
          continue;
        }
        std::string line = name + " " + string_at(r->object, "metadata.resourceVersion") + " " +
                           std::to_string(s) + "\n";
        (void)!::write(1, line.data(), line.size());  // one write(2): never torn by SIGKILL
      }
    });
  }
  for (auto& t : threads) t.join();
}
