// rockpoold restore: a backup file (rpctl backup) into a new data directory;
// with --delete-orphans, then the instances the backup does not know.
#include "rockpool/controller/daemon.hpp"
#include "options.hpp"

#include "rockpool/actors/orphans.hpp"
#include "rockpool/runtime/incus_rest.hpp"
#include "rockpool/specs/backup.hpp"
#include "rockpool/specs/json.hpp"
#include "rockpool/specs/rocksdb_backend.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>

namespace rockpool::controller {

namespace fs = std::filesystem;

namespace {

// The restore after the flags: the dump it wrote, or the message of a refusal.
specs::result<specs::kv_dump> restore(const std::string& from, const std::string& dir) {
  auto refuse = [](std::string m) { return specs::make_error(specs::reason::bad_request, std::move(m)); };
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
    return refuse("data directory " + dir +
                  " is not empty; restore into a new directory (stop rockpoold, move the old one "
                  "away, e.g. mv " + dir + " " + dir + ".old)");
  std::ifstream in(from, std::ios::binary);
  if (!in) return refuse("cannot read " + from);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto dump = specs::decode_backup(bytes);
  if (!dump.ok()) return refuse(from + " is " + dump.err().message);
  // Into a sibling first, renamed when complete: a crash or a full disk
  // never leaves half a store at dir.
  auto staging = fs::path(dir).lexically_normal().string();
  while (!staging.empty() && staging.back() == '/') staging.pop_back();
  staging += ".restoring";
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) return refuse("cannot create " + staging + ": " + ec.message());
  fs::permissions(staging, fs::perms::owner_all, ec);
  if (auto st = specs::restore_rocksdb(staging, *dump); !st.ok()) {
    fs::remove_all(staging, ec);
    return st.err();
  }
  fs::remove(dir, ec);  // empty, checked above
  fs::rename(staging, dir, ec);
  if (ec) return refuse("cannot rename " + staging + " to " + dir + ": " + ec.message());
  return dump;
}

// Deletes the instances (and their own home volumes) that carry Rockpool's
// keys but whose object is not in the restored store. Returns how many.
specs::result<int> remove_orphans(const specs::kv_dump& dump,
                                  const runtime::incus_rest_options& where) {
  std::map<std::pair<std::string, std::string>, std::string> uids;  // (kind, name) -> uid
  for (const auto& r : dump.objects)
    if (auto obj = specs::parse_json(r.value); obj.ok())
      uids[{specs::string_at(*obj, "kind"), specs::string_at(*obj, "metadata.name")}] =
          specs::string_at(*obj, "metadata.uid");
  runtime::incus_rest incus(where);
  auto found = actors::find_orphans(
      incus, [&](const std::string& kind, const std::string& name) -> std::optional<std::string> {
        auto it = uids.find({kind, name});
        return it == uids.end() ? std::string() : it->second;
      });
  if (!found.ok()) return found.err();
  for (const auto& o : *found) {
    if (auto st = actors::delete_orphan(incus, o); !st.ok())
      return specs::make_error(st.err().why, "deleting orphan " + o.instance + ": " + st.err().message);
    std::cout << "deleted orphan instance " << o.instance << " (" << o.kind << "/" << o.name
              << ", not in the backup)\n";
  }
  return static_cast<int>(found->size());
}

}  // namespace

int run_restore(int argc, char** argv) {
  CLI::App app{
      "rockpoold restore: write a backup made by `rpctl backup` as a new store. Run it with "
      "rockpoold stopped; the file is checked whole (format, checksum) before anything is "
      "written. The daemon's flags (or its --config) say where the store goes (--data-dir) "
      "and, for --delete-orphans, how Incus is reached.",
      "rockpoold restore"};
  daemon_config c;
  app.option_defaults()->group("The daemon's flags");
  add_options(app, c);
  app.option_defaults()->group("Restore");
  std::string from;
  bool delete_orphans = false;
  app.add_option("--from", from, "The backup file")->required();
  app.add_flag("--delete-orphans", delete_orphans,
               "Then delete, in the Incus project, the instances that carry Rockpool's keys but "
               "whose object is not in the backup (made after it), with their own home volumes. "
               "Without it they are left running and the Host reports them as orphans");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto dump = restore(from, c.data_dir);
  if (!dump.ok()) {
    std::cerr << "error: " << dump.err().message << "\n";
    return 1;
  }
  std::cout << "restored revision " << dump->revision << " (" << dump->objects.size()
            << " objects, " << dump->allocations.size() << " allocations) into " << c.data_dir
            << "\n";
  if (delete_orphans) {
    auto n = remove_orphans(*dump, c.incus_where);
    if (!n.ok()) {
      std::cerr << "error: the store is restored into " << c.data_dir
                << ", but deleting the orphans failed: " << n.err().message
                << "; delete the rest with incus delete (the Host lists them in status.orphans)\n";
      return 1;
    }
    std::cout << *n << " orphan(s) deleted\n";
  }
  std::cout << "Start rockpoold with --data-dir " << c.data_dir
            << ". Watches from before the backup get 410 Gone and list again"
            << (delete_orphans ? ".\n"
                               : "; workspaces that exist in Incus but not in the backup are "
                                 "left running (the Host reports them as orphans).\n");
  return 0;
}

}  // namespace rockpool::controller
