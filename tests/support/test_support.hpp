#pragma once

#include "rockpool/specs/clock.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace rockpool::test_support {

/// A clock that moves only when told to.
class fake_clock final : public specs::clock {
 public:
  std::chrono::system_clock::time_point now() const override { return now_; }
  void advance(std::chrono::milliseconds d) { now_ += d; }

 private:
  std::chrono::system_clock::time_point now_ =
      std::chrono::system_clock::from_time_t(1790000000);  // 2026-09-21
};

/// A fresh directory under /tmp, removed when the object goes.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& leaf) const { return (path_ / leaf).string(); }

 private:
  std::filesystem::path path_;
};

/// Reads a whole file.
std::string read_file(const std::string& path);

}  // namespace rockpool::test_support

namespace rockpool::test_support {

/// Result of running a command through the shell.
struct command_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `command` with sh -c, capturing stdout and stderr.
command_result run_command(const std::string& command);

/// A loopback TCP port that was free a moment ago.
unsigned short free_port();

/// The first of `span` host loopback ports for a controller under test: a
/// block in 20000-31999 (below the ephemeral range) chosen by process id, with
/// no listener on any of its ports a moment ago. REQUIRES: span <= 100.
unsigned short host_port_base(unsigned short span);

/// A rockpoold child process on a temporary data directory and socket.
class daemon_process {
 public:
  /// REQUIRES: binary is the rockpoold executable.
  daemon_process(std::string binary, std::string data_dir, std::string socket,
                 std::vector<std::string> extra_args = {});
  ~daemon_process();
  /// Starts it and waits until /healthz answers (or it exits). Returns false on failure.
  bool start();
  /// SIGTERM, then waits. Returns the exit status.
  int stop();
  /// SIGKILL, then waits.
  void kill9();
  const std::string& socket() const { return socket_; }
  /// Whether its API socket answers now.
  bool serving() const;
  std::string log() const;
  std::string server_url() const { return "unix://" + socket_; }
  int pid() const { return pid_; }

 private:
  std::string binary_, data_dir_, socket_;
  std::vector<std::string> extra_;
  std::string log_path_;
  int pid_ = -1;
};

/// `rockpoold gate` (the standby sign-in check) as a child process, with the
/// daemon's flags (the same data directory and --gateway-standby).
class gate_process {
 public:
  gate_process(std::string binary, std::string data_dir, std::vector<std::string> args);
  ~gate_process();
  /// Starts it and waits until its --gateway-standby address answers HTTP.
  bool start();
  /// SIGTERM, then waits. Returns the exit status.
  int stop();
  std::string log() const;

 private:
  std::string binary_, data_dir_;
  std::vector<std::string> args_;
  std::string log_path_;
  int pid_ = -1;
};

}  // namespace rockpool::test_support

namespace rockpool::test_support {

/// A Caddy child process with an empty config and its admin API on a free
/// loopback port, state in a temporary directory.
class caddy_process {
 public:
  caddy_process();
  ~caddy_process();
  /// Starts it; false when caddy is missing or does not answer.
  bool start();
  void kill9();
  std::string admin() const { return "127.0.0.1:" + std::to_string(admin_port_); }

 private:
  temp_dir dir_;
  unsigned short admin_port_;
  int pid_ = -1;
};

/// True when the CI environment variable is "true".
bool in_ci();

/// An etcd cluster of its own (Debian's etcd-server): `members` members on
/// free loopback ports, data in a temporary directory. Member i's calls
/// default to the first member, as a single etcd.
class etcd_cluster {
 public:
  explicit etcd_cluster(std::size_t members = 1);
  ~etcd_cluster();
  etcd_cluster(const etcd_cluster&) = delete;
  etcd_cluster& operator=(const etcd_cluster&) = delete;
  /// Starts every member and waits until each answers healthy (it has a
  /// leader); false when etcd is missing or a member does not within 10 s.
  bool start();
  /// Starts member i again on its data and waits until it answers healthy.
  bool start(std::size_t i);
  void kill9(std::size_t i = 0);
  /// SIGSTOP / SIGCONT: a member that holds its connections but answers nothing.
  void pause(std::size_t i = 0);
  void resume(std::size_t i = 0);
  /// Member i's client URL, e.g. http://127.0.0.1:23790.
  std::string url(std::size_t i = 0) const;
  /// Member i's HOST:PORT.
  std::string endpoint(std::size_t i = 0) const;
  /// Every member's HOST:PORT, comma-separated (for --store etcd://...).
  std::string endpoints() const;
  std::size_t size() const { return members_.size(); }
  /// The member that leads the cluster's raft now, or -1 (none answers).
  int leader() const;

 private:
  struct member {
    unsigned short client_port, peer_port;
    int pid = -1;
  };
  void spawn(std::size_t i);
  bool healthy(std::size_t i);
  temp_dir dir_;
  std::vector<member> members_;
};

/// One etcd member of its own.
using etcd_process = etcd_cluster;

}  // namespace rockpool::test_support
