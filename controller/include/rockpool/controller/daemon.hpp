#pragma once

// rockpoold's configuration and the object that owns its running parts.
// controller/rockpoold.cpp is only: parse, log, start, wait for a signal, stop.

#include "rockpool/controller/api_server.hpp"
#include "rockpool/runtime/incus_rest.hpp"
#include "rockpool/specs/result.hpp"

#include <memory>
#include <chrono>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace rockpool::controller {

/// Every flag of rockpoold (and of its --config file), with the defaults.
struct daemon_config {
  std::string data_dir = "/var/lib/rockpool";
  std::string socket = "/run/rockpool/rockpoold.sock";
  std::string listen;
  std::string token_file;
  /// --listen serves HTTPS unless plain_http; with no certificate given, one
  /// is made in DATA_DIR/tls (controller/tls.hpp).
  bool plain_http = false;
  std::string tls_cert_file, tls_key_file;
  /// The CA that signed the certificate (what Caddy and kubeconfigs trust);
  /// DATA_DIR/tls/ca.crt for a made one.
  std::string tls_ca_file;
  std::string runtime = "incus";
  rockpool::runtime::incus_rest_options incus_where;  // socket, URL, certificates, project
  std::string caddy_admin = "127.0.0.1:2019";
  bool inner = false;
  std::string nested_host;  // with --inner: the NestedHost this Rockpool runs in
  std::string log_level = "info";
  std::string log_format = "text";  // text | json
  std::string socket_group;          // empty: the socket is owner-only
  std::uint64_t event_retention = 10000;
  /// Where the specs live: "rocksdb" (in data_dir) or etcd://HOST:PORT[,...]
  /// (docs/operations.md, "The store on etcd"), with its key prefix and TLS.
  std::string store = "rocksdb";
  std::string etcd_prefix = "/rockpool/";
  std::string etcd_cacert, etcd_cert, etcd_key;
  unsigned leader_ttl_seconds = 5;  // the etcd lease behind the leadership
  unsigned bookmark_seconds = 10;
  std::vector<std::string> outer_networks;
  unsigned sweep_seconds = 30;
  std::size_t max_reconciles = 32;
  unsigned backoff_cap_seconds = 60;
  std::string host_ports = "20000-31999";
  unsigned short first_port = 20000, last_port = 31999;  // parsed from host_ports
  unsigned fake_start_latency_ms = 0;
  std::size_t event_limit = 1000;
  int event_trim_after_s = 10;  // the oldest events go this long after a burst
  std::string caddy_control_listen = "127.0.0.1:8080";
  std::string caddy_workspace_listen = "127.0.0.1:8081";
  /// The managed Incus bridge for network: bridge ("none": off) and its IPv4
  /// network; an empty CIDR is chosen at start (choose_bridge_cidr).
  std::string bridge = "rockpoolbr0";
  std::string bridge_cidr;
  /// Sign-in on the workspace server (docs/security.md): Caddy asks rockpoold's
  /// gateway, on gateway_listen (loopback; port 0 picks one), before any
  /// /workspace/... request. Sessions last session_ttl ("12h", "30m", "90s").
  bool workspace_signin = true;
  std::string gateway_listen = "127.0.0.1:0";
  /// The standby gate's address (`rockpoold gate`, a process of its own, on
  /// 127.0.0.1:PORT): Caddy asks it when the gateway does not answer, so
  /// signed-in browsers keep their workspaces while rockpoold is down. Empty:
  /// no standby (requests wait up to 15 s for rockpoold).
  std::string gateway_standby;
  std::string session_ttl = "12h";
  std::chrono::seconds session_ttl_seconds{12 * 3600};  // parsed from session_ttl
  /// How long the gateway holds a request for a sleeping workspace while it
  /// wakes, before 503 with Retry-After ("60s").
  std::string wake_timeout = "60s";
  std::chrono::seconds wake_timeout_seconds{60};  // parsed from wake_timeout

  server_options server;  // socket, loopback TCP and the token read from token_file
};

/// Parses the command line (and --config). Returns the configuration, or the
/// exit code when the process should end now: 0 after --help, 1 after a bad
/// flag, an unreadable or group-readable token file, or an invalid range (the
/// reason is already printed as one line).
/// `rockpoold restore ...` is a command of its own (run_restore), whose exit
/// code this returns.
std::variant<daemon_config, int> parse_daemon_flags(int argc, char** argv);

/// Sets spdlog's default logger up: level, and format "text" (one line,
/// time level message) or "json" (one object per line: time, level,
/// component, message).
void configure_logging(const std::string& level, const std::string& format);

/// `rockpoold restore --from FILE --data-dir DIR`, with the daemon stopped:
/// checks the backup whole (format, checksum, records), then writes it as a
/// new store into DIR, which must hold none. Prints what it did or why it
/// refused, and returns the exit code (0, 1 refused or failed, 2 bad flags).
/// A refused or failed restore leaves DIR as it was.
int run_restore(int argc, char** argv);

/// `rockpoold gate`: the standby gate, run as a service of its own next to
/// rockpoold with the same flags (--config): checks the session cookies with
/// the sign-in key in the data directory (re-read when it changes), on
/// --gateway-standby, and writes the activity it lets through to
/// DATA/gate-activity for rockpoold to read when it starts. Returns the
/// exit code (0 after SIGTERM, 1 on an error, 2 bad flags).
int run_gate(int argc, char** argv);
/// In the data directory: what the standby gate let through (load_activity).
inline constexpr const char* gate_activity_file = "gate-activity";

/// The first of 10.77.0.0/24, 10.78.0.0/24, ... 10.99.0.0/24 that overlaps
/// none of `routes` (IPv4 routes as CIDRs, from /proc/net/route, without the
/// bridge's own) and none of `outer`. "" when all do.
std::string choose_bridge_cidr(const std::vector<std::string>& routes,
                               const std::vector<std::string>& outer);
/// The host's IPv4 routes as CIDRs, except those on interface `skip`.
std::vector<std::string> host_routes(const std::string& proc_net_route, const std::string& skip);

/// Tells the service manager about rockpoold (systemd's Type=notify:
/// "READY=1", "STOPPING=1", "STATUS=..."), when $NOTIFY_SOCKET names one;
/// false when there is none or the datagram could not be sent.
bool notify_service_manager(std::string_view state);

/// rockpoold's running parts, wired together: the store, Incus and Caddy (or
/// the in-memory fakes), the actor runtime and the API server. It owns them
/// all; stop() takes them down in order.
class daemon {
 public:
  /// Opens the store and starts every part; an error names what failed.
  [[nodiscard]] static specs::result<std::unique_ptr<daemon>> start(const daemon_config& config);
  ~daemon();
  daemon(const daemon&) = delete;
  daemon& operator=(const daemon&) = delete;

  /// Stops, in order: watch streams and the API server, the Incus event
  /// listener, the Caddy route table, the commit listener, the reconcilers.
  void stop();
  /// "rockpoold VERSION serving unix://... (data ..., revision N, runtime R)".
  std::string serving_line() const;

 private:
  struct parts;
  explicit daemon(std::unique_ptr<parts> p);
  std::unique_ptr<parts> parts_;
};

}  // namespace rockpool::controller
