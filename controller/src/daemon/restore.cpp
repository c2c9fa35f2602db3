// rockpoold restore: a backup file (rpctl backup) into a new data directory.
#include "rockpool/controller/daemon.hpp"

#include "rockpool/specs/backup.hpp"
#include "rockpool/specs/rocksdb_backend.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

namespace rockpool::controller {

namespace fs = std::filesystem;

namespace {

// The whole restore after the flags; returns the message of a refusal.
std::string restore(const std::string& from, const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
    return "data directory " + dir +
           " is not empty; restore into a new directory (stop rockpoold, move the old one "
           "away, e.g. mv " + dir + " " + dir + ".old)";
  std::ifstream in(from, std::ios::binary);
  if (!in) return "cannot read " + from;
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto dump = specs::decode_backup(bytes);
  if (!dump.ok()) return from + " is " + dump.err().message;
  // Into a sibling first, renamed when complete: a crash or a full disk
  // never leaves half a store at dir.
  auto staging = fs::path(dir).lexically_normal().string();
  while (!staging.empty() && staging.back() == '/') staging.pop_back();
  staging += ".restoring";
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) return "cannot create " + staging + ": " + ec.message();
  fs::permissions(staging, fs::perms::owner_all, ec);
  if (auto st = specs::restore_rocksdb(staging, *dump); !st.ok()) {
    fs::remove_all(staging, ec);
    return st.err().message;
  }
  fs::remove(dir, ec);  // empty, checked above
  fs::rename(staging, dir, ec);
  if (ec) return "cannot rename " + staging + " to " + dir + ": " + ec.message();
  std::cout << "restored revision " << dump->revision << " (" << dump->objects.size()
            << " objects, " << dump->allocations.size() << " allocations) into " << dir
            << "\nStart rockpoold with --data-dir " << dir
            << ". Watches from before the backup get 410 Gone and list again; workspaces that "
               "exist in Incus but not in the backup are left running.\n";
  return {};
}

}  // namespace

int run_restore(int argc, char** argv) {
  CLI::App app{
      "rockpoold restore: write a backup made by `rpctl backup` as a new store. Run it with "
      "rockpoold stopped; the file is checked whole (format, checksum) before anything is "
      "written.",
      "rockpoold restore"};
  std::string from, dir;
  app.add_option("--from", from, "The backup file")->required();
  app.add_option("--data-dir", dir, "The data directory to create (must be absent or empty)")
      ->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (auto why = restore(from, dir); !why.empty()) {
    std::cerr << "error: " << why << "\n";
    return 1;
  }
  return 0;
}

}  // namespace rockpool::controller
