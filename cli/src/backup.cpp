// rpctl backup -o FILE: a consistent snapshot of the store, from the API.
#include "rockpool/cli/cli.hpp"

#include "rockpool/specs/backup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace rockpool::cli {

namespace {

// Writes bytes to path through a temporary file in the same directory, synced
// and renamed: the file appears whole or not at all.
std::string write_file_atomically(const std::string& path, const std::string& bytes) {
  auto tmp = path + ".partial";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot create " + tmp + ": " + std::strerror(errno);
  std::size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  auto why = done < bytes.size() ? std::string(std::strerror(errno))
             : ::fsync(fd) != 0  ? std::string(std::strerror(errno))
                                 : std::string();
  ::close(fd);
  if (why.empty() && ::rename(tmp.c_str(), path.c_str()) != 0) why = std::strerror(errno);
  if (!why.empty()) {
    std::filesystem::remove(tmp);
    return "cannot write " + path + ": " + why;
  }
  return {};
}

int cmd_backup(context& c, const std::string& file) {
  auto body = get_ok(c, "/backup");
  if (!body) return 1;
  // Checked here too: a reply cut short by the network is refused now, not
  // on the day of the restore.
  auto dump = specs::decode_backup(*body);
  if (!dump.ok()) {
    c.err << "error: the server's reply " << dump.err().message << "\n";
    return 1;
  }
  if (auto why = write_file_atomically(file, *body); !why.empty()) {
    c.err << "error: " << why << "\n";
    return 1;
  }
  c.out << "backup of revision " << dump->revision << ": " << dump->objects.size()
        << " objects, " << dump->allocations.size() << " allocations, " << body->size()
        << " bytes in " << file << "\n";
  return 0;
}

}  // namespace

command define_backup(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  auto* sub = app.add_subcommand(
      "backup",
      "Save a consistent snapshot of the store (every object and allocation at one revision) "
      "to a file; restore it with `rockpoold restore --from FILE --data-dir DIR`");
  sub->add_option("-o,--output", *file, "The file to write (written whole, then renamed)")
      ->required();
  return {sub, [file](context& c) { return cmd_backup(c, *file); }};
}

}  // namespace rockpool::cli
