// rockpoold's flags: parsed with CLI11, checked before anything starts.
#include "rockpool/controller/daemon.hpp"
#include "options.hpp"

#include "rockpool/specs/etcd_backend.hpp"
#include "rockpool/specs/validation.hpp"

#include <CLI/CLI.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace rockpool::controller {

namespace {

// Like ssh with a private key, a token others can read is refused.
std::string read_token(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error("cannot read token file " + path);
  if ((st.st_mode & 077) != 0)
    throw std::runtime_error("token file " + path +
                             " is readable or writable by group or others; chmod 600 " + path);
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read token file " + path);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.size() < 16)
    throw std::runtime_error("token in " + path + " is shorter than 16 characters");
  return token;
}

}  // namespace

// Long: one line per flag; a table reads best whole.
void add_options(CLI::App& app, daemon_config& c) {
  app.set_config("--config", "", "Read flags from this config file (INI/TOML)");
  app.add_option("--data-dir", c.data_dir, "RocksDB directory (exclusively locked)")
      ->capture_default_str();
  app.add_option("--socket", c.socket, "Unix socket for the API (mode 0600)")
      ->capture_default_str();
  app.add_option("--socket-group", c.socket_group,
                 "Give the socket to this group, mode 0660, so its members may use the API "
                 "(the package makes the group rockpool)");
  app.add_option("--listen", c.listen,
                 "Also serve on loopback TCP, 127.0.0.1:PORT (needs --token-file)");
  app.add_option("--token-file", c.token_file,
                 "File holding the bearer token required on --listen");
  app.add_flag("--plain-http", c.plain_http,
               "Serve --listen as plain HTTP (default: HTTPS, with a certificate made in "
               "DATA_DIR/tls unless --tls-cert-file is given)");
  app.add_option("--tls-cert-file", c.tls_cert_file,
                 "PEM certificate chain for --listen (with --tls-private-key-file)");
  app.add_option("--tls-private-key-file", c.tls_key_file, "PEM private key of --tls-cert-file");
  app.add_option("--tls-ca-file", c.tls_ca_file,
                 "PEM CA that signed --tls-cert-file (trusted by Caddy's route to the API)");
  app.add_option(
         "--runtime", c.runtime,
         "incus (real Incus and Caddy), fake (in memory), or none (store and serve specs only)")
      ->check(CLI::IsMember({"incus", "fake", "none"}))
      ->capture_default_str();
  app.add_option("--incus-socket", c.incus_where.socket, "Incus unix socket")
      ->capture_default_str();
  app.add_option("--incus-url", c.incus_where.url,
                 "Reach Incus over HTTPS instead, e.g. https://10.0.0.2:8443 (needs "
                 "--incus-client-cert and --incus-client-key)");
  app.add_option("--incus-client-cert", c.incus_where.client_cert,
                 "PEM certificate Incus trusts (incus config trust add-certificate)");
  app.add_option("--incus-client-key", c.incus_where.client_key,
                 "PEM private key of that certificate");
  app.add_option("--incus-server-cert", c.incus_where.server_cert,
                 "PEM server certificate of Incus (its server.crt), pinned");
  app.add_option("--storage-pool", c.incus_where.storage_pool,
                 "Incus storage pool for workspaces' root disks and home volumes")
      ->capture_default_str();
  app.add_option("--incus-project", c.incus_where.project,
                 "Incus project for everything the controller creates")
      ->capture_default_str();
  app.add_option("--caddy-admin", c.caddy_admin, "Caddy admin API address")->capture_default_str();
  app.add_option("--caddy-control-listen", c.caddy_control_listen,
                 "Caddy's control-plane server (/api, /app)")
      ->capture_default_str();
  app.add_option("--caddy-workspace-listen", c.caddy_workspace_listen,
                 "Caddy's workspace server (/workspace/...)")
      ->capture_default_str();
  app.add_flag("--inner", c.inner, "This is an inner Rockpool running inside a NestedHost");
  app.add_option("--nested-host", c.nested_host,
                 "With --inner: the name of the NestedHost it runs in (shown by /version)");
  app.add_option("--event-retention", c.event_retention, "Events kept for watch resumption")
      ->capture_default_str();
  app.add_option("--store", c.store,
                 "Where the specs live: rocksdb (in --data-dir), or etcd://HOST:PORT[,HOST:PORT...] "
                 "(an etcd v3 cluster; https with --etcd-cacert)")
      ->capture_default_str();
  app.add_option("--etcd-prefix", c.etcd_prefix, "With --store etcd://: the prefix of every key")
      ->capture_default_str();
  app.add_option("--etcd-cacert", c.etcd_cacert,
                 "With --store etcd://: reach etcd over TLS, trusting this CA (PEM)");
  app.add_option("--etcd-cert", c.etcd_cert, "With --etcd-cacert: a client certificate (PEM)");
  app.add_option("--etcd-key", c.etcd_key, "The private key of --etcd-cert (PEM)");
  app.add_option("--leader-ttl", c.leader_ttl_seconds,
                 "With --store etcd://: seconds of the lease behind the leadership (one rockpoold "
                 "per prefix reconciles; the others wait)")
      ->check(CLI::Range(2, 60))
      ->capture_default_str();
  app.add_option("--bookmark-interval", c.bookmark_seconds, "Seconds between watch BOOKMARK events")
      ->capture_default_str();
  app.add_option("--outer-network", c.outer_networks,
                 "IPv4 CIDR a NestedHost's innerNetwork must not overlap (repeatable)");
  app.add_option("--sweep-interval", c.sweep_seconds,
                 "Seconds between drift sweeps that re-observe every object (0: off)")
      ->capture_default_str();
  app.add_option("--max-concurrent-reconciles", c.max_reconciles,
                 "Reconcile passes (and so Incus operations) in flight at once")
      ->capture_default_str();
  app.add_option("--backoff-cap", c.backoff_cap_seconds,
                 "Longest retry delay after failures, in seconds")
      ->capture_default_str();
  app.add_option("--host-ports", c.host_ports,
                 "Range of host loopback ports for proxy upstreams, FIRST-LAST")
      ->capture_default_str();
  app.add_option("--events-kept", c.event_limit, "Events kept in the store; the oldest are removed")
      ->capture_default_str();
  app.add_option("--events-trim-after", c.event_trim_after_s,
                 "Seconds after new events arrive that the oldest beyond --events-kept go")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--fake-start-latency", c.fake_start_latency_ms,
                 "With --runtime=fake: milliseconds each instance start takes")
      ->capture_default_str();
  app.add_option("--bridge", c.bridge,
                 "Managed Incus bridge for network: bridge workspaces (none: off)")
      ->capture_default_str();
  app.add_option("--bridge-cidr", c.bridge_cidr,
                 "The bridge's IPv4 network, /16 to /29 (default: the first of 10.77.0.0/24 .. "
                 "10.99.0.0/24 free of host routes and --outer-network)");
  app.add_option("--log-format", c.log_format,
                 "text, or json: one object per line (time, level, component, message)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", c.log_level,
                 "trace, debug, info, warn, error (changeable while running: PUT /debug/flags/v)")
      ->capture_default_str();
  app.add_option("--workspace-signin", c.workspace_signin,
                 "Ask for a signed-in browser before serving any /workspace/... request "
                 "(Caddy forward_auth to rockpoold's gateway); false serves workspaces to anyone "
                 "who reaches the workspace server")
      ->capture_default_str();
  app.add_option("--gateway-listen", c.gateway_listen,
                 "Loopback address of the sign-in gateway that Caddy asks (port 0: any free one)")
      ->capture_default_str();
  app.add_option("--gateway-standby", c.gateway_standby,
                 "127.0.0.1:PORT of the standby gate (`rockpoold gate`, run as a service of its "
                 "own with the same config), which Caddy asks while rockpoold is down; empty: "
                 "none");
  app.add_option("--session-ttl", c.session_ttl,
                 "How long a workspace sign-in lasts (e.g. 12h, 30m, 90s)")
      ->capture_default_str();
  app.add_option("--wake-timeout", c.wake_timeout,
                 "How long a request for a sleeping workspace waits while it wakes, before 503 "
                 "with Retry-After (e.g. 60s)")
      ->capture_default_str();
}

namespace {

// "12h", "30m", "90s" or plain seconds; throws what to print.
std::chrono::seconds parse_ttl(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  long long n = -1;
  try {
    n = std::stoll(text, &used);
  } catch (const std::exception&) {
  }
  auto unit = text.substr(used);
  long long scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
  if (n <= 0 || scale == 0 || n > 366LL * 24 * 3600 / scale)
    throw std::runtime_error(flag + " must be a duration such as 12h, 30m or 90s (at most a year), got \"" +
                             text + "\"");
  return std::chrono::seconds(n * scale);
}

}  // namespace

void check_options(daemon_config& c) {
  if (std::sscanf(c.host_ports.c_str(), "%hu-%hu", &c.first_port, &c.last_port) != 2 ||
      c.first_port > c.last_port)
    throw std::runtime_error("--host-ports must be FIRST-LAST, got " + c.host_ports);
  if (!c.incus_where.url.empty() &&
      (c.incus_where.client_cert.empty() || c.incus_where.client_key.empty()))
    throw std::runtime_error("--incus-url needs --incus-client-cert and --incus-client-key");
  if (c.bridge != "none") {
    if (!specs::is_dns1123_label(c.bridge) || c.bridge.size() > 15)
      throw std::runtime_error(
          "--bridge must be an interface name (a-z, 0-9, -; at most 15), got " + c.bridge);
    if (c.bridge_cidr.empty()) {
      std::ifstream in("/proc/net/route");
      std::string table((std::istreambuf_iterator<char>(in)), {});
      c.bridge_cidr = choose_bridge_cidr(host_routes(table, c.bridge), c.outer_networks);
      if (c.bridge_cidr.empty())
        throw std::runtime_error(
            "no free network for the bridge among 10.77.0.0/24 .. 10.99.0.0/24; set --bridge-cidr");
    }
    auto parsed = specs::parse_cidr(c.bridge_cidr);
    if (!parsed || parsed->second < 16 || parsed->second > 29)
      throw std::runtime_error("--bridge-cidr must be an IPv4 network /16 to /29, got " +
                               c.bridge_cidr);
    for (const auto& outer : c.outer_networks)
      if (specs::cidrs_overlap(c.bridge_cidr, outer))
        throw std::runtime_error("--bridge-cidr " + c.bridge_cidr + " overlaps --outer-network " +
                                 outer);
  }
  if (c.store != "rocksdb") {
    if (auto e = specs::parse_etcd_endpoints(c.store, !c.etcd_cacert.empty()); !e.ok())
      throw std::runtime_error(e.err().message);
    if (c.etcd_prefix.empty() || c.etcd_prefix.front() != '/' || c.etcd_prefix.back() != '/')
      throw std::runtime_error("--etcd-prefix must start and end with /, got " + c.etcd_prefix);
  }
  if (c.etcd_cert.empty() != c.etcd_key.empty())
    throw std::runtime_error("--etcd-cert and --etcd-key go together");
  c.session_ttl_seconds = parse_ttl("--session-ttl", c.session_ttl);
  c.wake_timeout_seconds = parse_ttl("--wake-timeout", c.wake_timeout);
  auto loopback = [](const char* flag, const std::string& address) {
    if (auto colon = address.rfind(':');
        colon == std::string::npos || address.substr(0, colon) != "127.0.0.1")
      throw std::runtime_error(std::string(flag) + " must be 127.0.0.1:PORT, got " + address);
  };
  loopback("--gateway-listen", c.gateway_listen);
  if (!c.gateway_standby.empty()) {
    loopback("--gateway-standby", c.gateway_standby);
    if (c.gateway_standby.ends_with(":0"))
      throw std::runtime_error("--gateway-standby needs a fixed port (Caddy's routes name it)");
  }
  c.server.socket_path = c.socket;
  c.server.socket_group = c.socket_group;
  if (c.listen.empty()) return;
  if (c.token_file.empty()) throw std::runtime_error("--listen requires --token-file");
  c.server.listen = c.listen;
  c.server.token = read_token(c.token_file);
  if (c.plain_http && !c.tls_cert_file.empty())
    throw std::runtime_error("--plain-http and --tls-cert-file exclude each other");
  if (c.tls_cert_file.empty() != c.tls_key_file.empty())
    throw std::runtime_error("--tls-cert-file and --tls-private-key-file go together");
}


std::vector<std::string> host_routes(const std::string& table, const std::string& skip) {
  // Iface Destination Gateway Flags RefCnt Use Metric Mask ...; addresses in
  // hex, little-endian.
  std::vector<std::string> out;
  std::istringstream lines(table);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string iface, dest, gw, flags, refcnt, use, metric, mask;
    if (!(f >> iface >> dest >> gw >> flags >> refcnt >> use >> metric >> mask)) continue;
    if (iface == skip) continue;
    auto d = static_cast<std::uint32_t>(std::stoul(dest, nullptr, 16));
    auto m = static_cast<std::uint32_t>(std::stoul(mask, nullptr, 16));
    if (m == 0) continue;  // the default route covers everything; it is not a network here
    d = __builtin_bswap32(d);
    m = __builtin_bswap32(m);
    int prefix = __builtin_popcount(m);
    out.push_back(std::to_string(d >> 24) + "." + std::to_string((d >> 16) & 255) + "." +
                  std::to_string((d >> 8) & 255) + "." + std::to_string(d & 255) + "/" +
                  std::to_string(prefix));
  }
  return out;
}

std::string choose_bridge_cidr(const std::vector<std::string>& routes,
                               const std::vector<std::string>& outer) {
  for (int second = 77; second <= 99; ++second) {
    auto cidr = "10." + std::to_string(second) + ".0.0/24";
    auto overlaps = [&](const std::vector<std::string>& nets) {
      return std::any_of(nets.begin(), nets.end(),
                         [&](const std::string& n) { return specs::cidrs_overlap(cidr, n); });
    };
    if (!overlaps(routes) && !overlaps(outer)) return cidr;
  }
  return {};
}

std::variant<daemon_config, int> parse_options(CLI::App& app, int argc, char** argv,
                                               int bad_flags) {
  daemon_config c;
  add_options(app, c);
  try {
    app.parse(argc, argv);
    check_options(c);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : bad_flags;  // --help is 0, not CLI11's codes
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return bad_flags;
  }
  return c;
}

std::variant<daemon_config, int> parse_daemon_flags(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "restore") return run_restore(argc - 1, argv + 1);
  if (argc > 1 && std::string_view(argv[1]) == "gate") return run_gate(argc - 1, argv + 1);
  CLI::App app{
      "rockpoold: Rockpool's control-plane daemon. Keeps declarative specs in RocksDB and "
      "serves the Kubernetes-style API. Every flag may also be set in a config file "
      "(--config, INI/TOML: `data-dir = \"/var/lib/rockpool\"`)."};
  return parse_options(app, argc, argv, 1);  // any bad flag is 1
}

}  // namespace rockpool::controller
