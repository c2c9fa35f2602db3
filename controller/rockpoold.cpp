// rockpoold: the Rockpool control-plane daemon. Flags, logging, signals; the
// parts and their order live in controller/src/daemon/.
#include "rockpool/controller/daemon.hpp"

#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <csignal>
#include <variant>

// jemalloc (linked into rockpoold only): a background thread returns pages
// unused for 1 s to the system, so RSS follows the live set down after mass
// deletes instead of staying at its peak until restart; two arenas (not
// four per core) keep fewer partly used pages. MALLOC_CONF overrides.
extern "C" {
const char* malloc_conf = "background_thread:true,narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0";
}

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts (every thread inherits
  // the mask), so only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // Each client connection is a file descriptor; the API server holds up to
  // 4,096 unix and 16,384 TCP connections, far past the usual soft limit of
  // 1,024. Raise the soft limit to the hard one, as Go's runtime does.
  if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  auto parsed = rockpool::controller::parse_daemon_flags(argc, argv);
  if (auto* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  const auto& config = std::get<rockpool::controller::daemon_config>(parsed);
  rockpool::controller::configure_logging(config.log_level, config.log_format);

  auto daemon = rockpool::controller::daemon::start(config);
  if (!daemon.ok()) {
    spdlog::error("{}", daemon.err().message);
    return 1;
  }
  spdlog::info("{}", (*daemon)->serving_line());
  // Ready: the store is open and the API listens (systemd Type=notify).
  rockpool::controller::notify_service_manager("READY=1\nSTATUS=" + (*daemon)->serving_line());
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received signal {}, shutting down", sig);
  rockpool::controller::notify_service_manager("STOPPING=1\nSTATUS=draining watches and writes");
  (*daemon)->stop();
  return 0;
}
