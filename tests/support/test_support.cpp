#include "test_support.hpp"

#include "rockpool/specs/json.hpp"

#include "rockpool/actors/host_ports.hpp"

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

#include <algorithm>
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

unsigned short host_port_base(unsigned short span) {
  // 20000-31999, below Linux's ephemeral range (32768+): no outgoing
  // connection (a test's own HTTP client, say) can be holding one of them.
  constexpr int first = 20000, blocks = 120;
  for (int tries = 0; tries < blocks; ++tries) {
    int base = first + ((::getpid() + tries) % blocks) * 100;
    bool free = true;
    for (int p = base; p < base + span && free; ++p)
      free = !actors::host_port_allocator::listening_on_loopback(static_cast<unsigned short>(p));
    if (free) return static_cast<unsigned short>(base);
  }
  return static_cast<unsigned short>(first);
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

namespace {
// Forks and runs binary with args (args[0] is the binary), its output
// appended to log_path. Returns the child's pid.
int spawn_logged(const std::string& binary, std::vector<std::string> args,
                 const std::string& log_path) {
  int pid = ::fork();
  if (pid == 0) {
    FILE* log = std::fopen(log_path.c_str(), "a");
    ::dup2(fileno(log), 1);
    ::dup2(fileno(log), 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    std::_Exit(127);
  }
  return pid;
}
}  // namespace

bool daemon_process::start() {
  std::vector<std::string> args = {binary_, "--data-dir", data_dir_, "--socket", socket_};
  if (std::find(extra_.begin(), extra_.end(), "--log-level") == extra_.end())
    args.insert(args.end(), {"--log-level", "warn"});
  // Tests never reconcile against the host's Incus unless they ask to.
  if (std::find(extra_.begin(), extra_.end(), "--runtime") == extra_.end())
    args.insert(args.end(), {"--runtime", "none"});
  args.insert(args.end(), extra_.begin(), extra_.end());
  // Another process already serving this socket: the child must fail, so wait for it.
  bool served_before = socket_answers(socket_);
  pid_ = spawn_logged(binary_, args, log_path_);
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

bool daemon_process::serving() const {
  return socket_answers(socket_);
}

namespace {
// Polls url (every 50 ms, at most `tries` times) until it answers (2xx, or
// any status with any_status), while the child pid lives; a child that exits
// is reaped (pid becomes -1).
bool answers_while_alive(int& pid, const std::string& url, int tries, bool any_status = false) {
  for (int i = 0; i < tries; ++i) {
    if (run_command(std::string(any_status ? "curl -sS -o /dev/null -m 1 " : "curl -fsS -m 1 ") +
                    url)
            .exit_code == 0)
      return true;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Sends sig to pid and reaps it; returns the exit code, or -1 if signalled.
int signal_and_reap(int& pid, int sig) {
  if (pid <= 0) return -1;
  ::kill(pid, sig);
  int status = 0;
  ::waitpid(pid, &status, 0);
  pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
}  // namespace

int daemon_process::stop() {
  return signal_and_reap(pid_, SIGTERM);
}

void daemon_process::kill9() {
  signal_and_reap(pid_, SIGKILL);
}

std::string daemon_process::log() const {
  return read_file(log_path_);
}

gate_process::gate_process(std::string binary, std::string data_dir, std::vector<std::string> args)
    : binary_(std::move(binary)),
      data_dir_(std::move(data_dir)),
      args_(std::move(args)),
      log_path_(data_dir_ + ".gate.log") {}

gate_process::~gate_process() {
  signal_and_reap(pid_, SIGKILL);
}

bool gate_process::start() {
  auto at = std::find(args_.begin(), args_.end(), "--gateway-standby");
  if (at == args_.end() || at + 1 == args_.end()) return false;
  std::vector<std::string> args = {binary_, "gate", "--data-dir", data_dir_};
  args.insert(args.end(), args_.begin(), args_.end());
  pid_ = spawn_logged(binary_, args, log_path_);
  return answers_while_alive(pid_, "http://" + *(at + 1) + "/.rockpool/auth", 200, true);
}

int gate_process::stop() {
  return signal_and_reap(pid_, SIGTERM);
}

std::string gate_process::log() const {
  return read_file(log_path_);
}

}  // namespace rockpool::test_support

namespace rockpool::test_support {

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

caddy_process::caddy_process() : admin_port_(free_port()) {}

caddy_process::~caddy_process() {
  kill9();
}

bool caddy_process::start() {
  auto config = dir_ / "caddy.json";
  { std::ofstream(config) << R"({"admin":{"listen":")" << admin() << R"("},"apps":{}})"; }
  auto data = dir_ / "data";
  pid_ = ::fork();
  if (pid_ == 0) {
    FILE* log = std::fopen((dir_ / "caddy.log").c_str(), "a");
    ::dup2(fileno(log), 1);
    ::dup2(fileno(log), 2);
    ::setenv("XDG_DATA_HOME", data.c_str(), 1);
    ::setenv("XDG_CONFIG_HOME", data.c_str(), 1);
    ::execlp("caddy", "caddy", "run", "--config", config.c_str(), nullptr);
    std::_Exit(127);
  }
  return answers_while_alive(pid_, "http://" + admin() + "/config/", 100);
}

void caddy_process::kill9() {
  signal_and_reap(pid_, SIGKILL);
}

etcd_cluster::etcd_cluster(std::size_t members) {
  for (std::size_t i = 0; i < members; ++i) members_.push_back({free_port(), free_port()});
}

etcd_cluster::~etcd_cluster() {
  for (std::size_t i = 0; i < members_.size(); ++i) {
    resume(i);
    kill9(i);
  }
}

std::string etcd_cluster::url(std::size_t i) const {
  return "http://" + endpoint(i);
}
std::string etcd_cluster::endpoint(std::size_t i) const {
  return "127.0.0.1:" + std::to_string(members_.at(i).client_port);
}
std::string etcd_cluster::endpoints() const {
  std::string out;
  for (std::size_t i = 0; i < members_.size(); ++i) out += (i ? "," : "") + endpoint(i);
  return out;
}

void etcd_cluster::spawn(std::size_t i) {
  auto peer = [&](std::size_t m) { return "http://127.0.0.1:" + std::to_string(members_[m].peer_port); };
  std::string cluster;
  for (std::size_t m = 0; m < members_.size(); ++m)
    cluster += (m ? "," : "") + ("m" + std::to_string(m)) + "=" + peer(m);
  auto name = "m" + std::to_string(i);
  auto data = dir_ / (name + ".data");
  auto log_path = dir_ / (name + ".log");
  auto client = url(i);
  auto own_peer = peer(i);
  members_[i].pid = ::fork();
  if (members_[i].pid == 0) {
    FILE* log = std::fopen(log_path.c_str(), "a");
    ::dup2(fileno(log), 1);
    ::dup2(fileno(log), 2);
    ::execlp("etcd", "etcd", "--name", name.c_str(), "--data-dir", data.c_str(),
             "--listen-client-urls", client.c_str(), "--advertise-client-urls", client.c_str(),
             "--listen-peer-urls", own_peer.c_str(), "--initial-advertise-peer-urls",
             own_peer.c_str(), "--initial-cluster", cluster.c_str(), "--initial-cluster-token",
             dir_.path().filename().c_str(), nullptr);
    std::_Exit(127);
  }
}

int etcd_cluster::leader() const {
  for (std::size_t i = 0; i < members_.size(); ++i) {
    if (members_[i].pid <= 0) continue;
    auto r = run_command("curl -s -m 2 -X POST " + url(i) + "/v3/maintenance/status -d '{}'");
    auto v = specs::parse_json(r.out);
    if (!v.ok()) continue;
    auto leader = specs::string_at(*v, "leader");
    if (!leader.empty() && leader == specs::string_at(*v, "header.member_id")) return static_cast<int>(i);
  }
  return -1;
}

bool etcd_cluster::healthy(std::size_t i) {
  return answers_while_alive(members_[i].pid, url(i) + "/health", 200);
}

bool etcd_cluster::start() {
  // Every member first: none is healthy before a majority runs.
  for (std::size_t i = 0; i < members_.size(); ++i) spawn(i);
  for (std::size_t i = 0; i < members_.size(); ++i)
    if (!healthy(i)) return false;
  return true;
}

bool etcd_cluster::start(std::size_t i) {
  spawn(i);
  return healthy(i);
}

void etcd_cluster::kill9(std::size_t i) {
  signal_and_reap(members_.at(i).pid, SIGKILL);
}
void etcd_cluster::pause(std::size_t i) {
  if (members_.at(i).pid > 0) ::kill(members_[i].pid, SIGSTOP);
}
void etcd_cluster::resume(std::size_t i) {
  if (members_.at(i).pid > 0) ::kill(members_[i].pid, SIGCONT);
}

}  // namespace rockpool::test_support
