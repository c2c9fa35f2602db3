// rockpoold gate: the standby sign-in check (decision 87). Caddy asks it
// when rockpoold's gateway does not answer; it checks session cookies with
// the same key and counts activity for rockpoold to pick up.
#include "rockpool/controller/api_server.hpp"
#include "rockpool/controller/daemon.hpp"
#include "rockpool/controller/standby_gate.hpp"
#include "options.hpp"

#include "rockpool/runtime/http.hpp"

#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <csignal>
#include <ctime>
#include <iostream>
#include <variant>

namespace rockpool::controller {

standby_gate::standby_gate(std::string key_file, std::string control_url,
                           actors::workspace_activity& activity, const specs::clock& clock)
    : key_file_(std::move(key_file)),
      control_url_(std::move(control_url)),
      activity_(activity),
      clock_(clock) {}

// The checker for the key file as it is now: read again when the file was
// replaced (a new inode or modification time), looked at once a second.
std::shared_ptr<standby_gate::checker> standby_gate::current() {
  std::lock_guard lk(mu_);
  auto now = clock_.now();
  if (checker_ && now - checked_ < std::chrono::seconds(1)) return checker_;
  checked_ = now;
  struct stat st {};
  if (::stat(key_file_.c_str(), &st) != 0) return checker_ = nullptr;
  auto id = std::to_string(st.st_ino) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
            std::to_string(st.st_mtim.tv_nsec);
  if (checker_ && id == key_id_) return checker_;
  auto opened = workspace_signin::open(key_file_, std::chrono::seconds(0), clock_, false);
  if (!opened.ok()) {
    spdlog::warn("standby gate: {}", opened.err().message);
    return checker_ = nullptr;
  }
  auto c = std::make_shared<checker>();
  c->signin = std::move(*opened);
  c->gateway = std::make_unique<workspace_gateway>(
      c->signin.get(), control_url_, [this](const std::string& uri) -> specs::status {
        actors::count_workspace_request(activity_, uri);
        return specs::done{};
      });
  key_id_ = id;
  spdlog::info("standby gate: checking sessions with the key in {}", key_file_);
  return checker_ = c;
}

http_response standby_gate::handle(const http_request& req) {
  if (req.target.rfind("/.rockpool/auth", 0) != 0)
    return {404, "text/plain", "the standby gate answers /.rockpool/auth only\n", {}};
  auto c = current();
  if (!c) {
    http_response r{503, "text/plain",
                    "Rockpool is restarting and the sign-in key is not readable yet; try again\n",
                    {}};
    r.headers["Retry-After"] = "5";
    return r;
  }
  return c->gateway->handle(req);
}

namespace {

// rockpoold's flags (or its --config) for the gate; the exit code when it
// should not run (after --help, or bad or missing settings).
std::variant<daemon_config, int> gate_flags(int argc, char** argv) {
  CLI::App app{
      "rockpoold gate: the standby sign-in check. Run it as a service of its own, with "
      "rockpoold's flags (or its --config), next to rockpoold: Caddy asks it on "
      "--gateway-standby when rockpoold's gateway does not answer (a restart, an upgrade), so "
      "signed-in browsers keep reaching their workspaces. It signs no one in and wakes nothing.",
      "rockpoold gate"};
  auto parsed = parse_options(app, argc, argv, 2);
  auto* c = std::get_if<daemon_config>(&parsed);
  if (c == nullptr) return parsed;
  if (c->gateway_standby.empty() || !c->workspace_signin) {
    std::cerr << "error: rockpoold gate needs --gateway-standby 127.0.0.1:PORT and "
                 "--workspace-signin=true (the same settings rockpoold runs with)\n";
    return 2;
  }
  return parsed;
}

}  // namespace

int run_gate(int argc, char** argv) {
  auto parsed = gate_flags(argc, argv);
  if (auto* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  const auto& c = std::get<daemon_config>(parsed);
  configure_logging(c.log_level, c.log_format);
  actors::workspace_activity activity(specs::system_clock());
  auto activity_file = c.data_dir + "/" + gate_activity_file;
  actors::load_activity(activity, activity_file);
  standby_gate gate(c.data_dir + "/signin.key",
                    "http://" + runtime::dial_address(c.caddy_control_listen), activity,
                    specs::system_clock());
  server_options o;
  o.listen = c.gateway_standby;
  o.listen_flag = "--gateway-standby";
  o.require_token = false;
  o.handler_threads = 4;
  o.max_tcp_connections = 1024;
  api_server server(gate, o);
  if (auto st = server.start(); !st.ok()) {
    spdlog::error("{}", st.err().message);
    return 1;
  }
  spdlog::info("standby gate on {} (data directory {})", c.gateway_standby, c.data_dir);
  notify_service_manager("READY=1\nSTATUS=standby gate on " + c.gateway_standby);
  // The stop signals are blocked in every thread (main() did it before
  // parsing); wait for one, writing the activity out every 2 s meanwhile.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  auto saved = activity.all();
  for (;;) {
    timespec two_seconds{2, 0};
    int sig = sigtimedwait(&signals, nullptr, &two_seconds);
    if (auto now = activity.all(); now != saved) {
      if (auto st = actors::save_activity(activity, activity_file); !st.ok())
        spdlog::warn("standby gate: {}", st.err().message);
      saved = std::move(now);
    }
    if (sig > 0) break;
  }
  server.stop();
  return 0;
}

}  // namespace rockpool::controller
