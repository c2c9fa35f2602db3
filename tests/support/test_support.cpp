#include "test_support.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rockpool::test_support {

temp_dir::temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "rockpool-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace rockpool::test_support

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace rockpool::test_support {

command_result run_command(const std::string& command) {
  temp_dir tmp;
  auto out = tmp / "out", err = tmp / "err";
  // The command's own redirections (inside the braces) win over ours.
  int rc = std::system(("{ " + command + "; } >" + out + " 2>" + err + " </dev/null").c_str());
  command_result r;
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

unsigned short free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

daemon_process::daemon_process(std::string binary, std::string data_dir, std::string socket,
                               std::vector<std::string> extra_args)
    : binary_(std::move(binary)),
      data_dir_(std::move(data_dir)),
      socket_(std::move(socket)),
      extra_(std::move(extra_args)),
      log_path_(data_dir_ + ".log") {}

daemon_process::~daemon_process() {
  if (pid_ > 0) kill9();
}

namespace {
bool socket_answers(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}
}  // namespace

bool daemon_process::start() {
  std::vector<std::string> args = {binary_, "--data-dir",  data_dir_, "--socket",
                                   socket_, "--log-level", "warn"};
  args.insert(args.end(), extra_.begin(), extra_.end());
  // Another process already serving this socket: the child must fail, so wait for it.
  bool served_before = socket_answers(socket_);
  pid_ = ::fork();
  if (pid_ == 0) {
    FILE* log = std::fopen(log_path_.c_str(), "a");
    ::dup2(fileno(log), 1);
    ::dup2(fileno(log), 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(binary_.c_str(), argv.data());
    std::_Exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    if (!served_before && socket_answers(socket_)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

int daemon_process::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void daemon_process::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string daemon_process::log() const {
  return read_file(log_path_);
}

}  // namespace rockpool::test_support
