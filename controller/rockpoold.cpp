// rockpoold: the Rockpool control-plane daemon. Wiring only; logic lives in libraries.
#include "rockpool/actors/controller.hpp"
#include "rockpool/actors/incus_events.hpp"
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/actors/kinds.hpp"
#include "rockpool/actors/route_table.hpp"
#include "rockpool/controller/api_handler.hpp"
#include "rockpool/controller/api_server.hpp"
#include "rockpool/controller/version.hpp"
#include "rockpool/runtime/caddy.hpp"
#include "rockpool/runtime/fake.hpp"
#include "rockpool/runtime/host_probe.hpp"
#include "rockpool/runtime/incus_rest.hpp"
#include "rockpool/specs/object_store.hpp"
#include "rockpool/specs/rocksdb_backend.hpp"
#include "rockpool/specs/schema.hpp"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include <malloc.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

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

int main(int argc, char** argv) {
  // Dozens of worker threads would each get a malloc arena that keeps freed
  // memory; a few shared arenas keep RSS proportional to live objects.
  mallopt(M_ARENA_MAX, 4);
  CLI::App app{
      "rockpoold: Rockpool's control-plane daemon. Keeps declarative specs in RocksDB and "
      "serves the Kubernetes-style API. Every flag may also be set in a config file "
      "(--config, INI/TOML: `data-dir = \"/var/lib/rockpool\"`)."};
  std::string data_dir = "/var/lib/rockpool";
  std::string socket = "/run/rockpool/rockpoold.sock";
  std::string listen;
  std::string token_file;
  std::string runtime = "incus";
  rockpool::runtime::incus_rest_options incus_where;  // socket, URL, certificates, project
  std::string caddy_admin = "127.0.0.1:2019";
  bool inner = false;
  std::string log_level = "info";
  std::uint64_t event_retention = 10000;
  unsigned bookmark_seconds = 10;
  std::vector<std::string> outer_networks;
  unsigned sweep_seconds = 30;
  std::size_t max_reconciles = 32;
  unsigned backoff_cap_seconds = 60;
  std::string host_ports = "20000-31999";
  unsigned fake_start_latency_ms = 0;
  std::size_t event_limit = 1000;
  std::string caddy_control_listen = "127.0.0.1:8080";
  std::string caddy_workspace_listen = "127.0.0.1:8081";

  app.set_config("--config", "", "Read flags from this config file (INI/TOML)");
  app.add_option("--data-dir", data_dir, "RocksDB directory (exclusively locked)")
      ->capture_default_str();
  app.add_option("--socket", socket, "Unix socket for the API (mode 0600)")->capture_default_str();
  app.add_option("--listen", listen,
                 "Also serve on loopback TCP, 127.0.0.1:PORT (needs --token-file)");
  app.add_option("--token-file", token_file, "File holding the bearer token required on --listen");
  app.add_option(
         "--runtime", runtime,
         "incus (real Incus and Caddy), fake (in memory), or none (store and serve specs only)")
      ->check(CLI::IsMember({"incus", "fake", "none"}))
      ->capture_default_str();
  app.add_option("--incus-socket", incus_where.socket, "Incus unix socket")->capture_default_str();
  app.add_option("--incus-url", incus_where.url,
                 "Reach Incus over HTTPS instead, e.g. https://10.0.0.2:8443 (needs "
                 "--incus-client-cert and --incus-client-key)");
  app.add_option("--incus-client-cert", incus_where.client_cert,
                 "PEM certificate Incus trusts (incus config trust add-certificate)");
  app.add_option("--incus-client-key", incus_where.client_key,
                 "PEM private key of that certificate");
  app.add_option("--incus-server-cert", incus_where.server_cert,
                 "PEM server certificate of Incus (its server.crt), pinned");
  app.add_option("--incus-project", incus_where.project,
                 "Incus project for everything the controller creates")
      ->capture_default_str();
  app.add_option("--caddy-admin", caddy_admin, "Caddy admin API address")->capture_default_str();
  app.add_option("--caddy-control-listen", caddy_control_listen,
                 "Caddy's control-plane server (/api, /app)")
      ->capture_default_str();
  app.add_option("--caddy-workspace-listen", caddy_workspace_listen,
                 "Caddy's workspace server (/workspace/...)")
      ->capture_default_str();
  app.add_flag("--inner", inner, "This is an inner Rockpool running inside a NestedHost");
  app.add_option("--event-retention", event_retention, "Events kept for watch resumption")
      ->capture_default_str();
  app.add_option("--bookmark-interval", bookmark_seconds, "Seconds between watch BOOKMARK events")
      ->capture_default_str();
  app.add_option("--outer-network", outer_networks,
                 "IPv4 CIDR a NestedHost's innerNetwork must not overlap (repeatable)");
  app.add_option("--sweep-interval", sweep_seconds,
                 "Seconds between drift sweeps that re-observe every object (0: off)")
      ->capture_default_str();
  app.add_option("--max-concurrent-reconciles", max_reconciles,
                 "Reconcile passes (and so Incus operations) in flight at once")
      ->capture_default_str();
  app.add_option("--backoff-cap", backoff_cap_seconds,
                 "Longest retry delay after failures, in seconds")
      ->capture_default_str();
  app.add_option("--host-ports", host_ports,
                 "Range of host loopback ports for proxy upstreams, FIRST-LAST")
      ->capture_default_str();
  app.add_option("--events-kept", event_limit, "Events kept in the store; the oldest are removed")
      ->capture_default_str();
  app.add_option("--fake-start-latency", fake_start_latency_ms,
                 "With --runtime=fake: milliseconds each instance start takes")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  // Flags that can fail are checked before anything starts.
  rockpool::controller::server_options srv;
  srv.socket_path = socket;
  try {
    if (!listen.empty()) {
      srv.listen = listen;
      if (token_file.empty()) {
        spdlog::error("--listen requires --token-file");
        return 1;
      }
      srv.token = read_token(token_file);
    }
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  try {
    (void)rockpool::specs::kinds();  // fail fast on a broken embedded CRD
    // Every object is readable in the database files: owner only.
    if (std::filesystem::create_directories(data_dir))
      std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all);
    if (auto parent = std::filesystem::path(socket).parent_path(); !parent.empty())
      std::filesystem::create_directories(parent);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }

  rockpool::specs::rocksdb_options db_options;
  db_options.event_retention = event_retention;
  auto backend = rockpool::specs::open_rocksdb(data_dir, db_options);
  if (!backend.ok()) {
    spdlog::error("{}", backend.err().message);
    return 1;
  }
  rockpool::specs::object_store store(**backend, rockpool::specs::system_clock(), outer_networks,
                                      &rockpool::actors::kind_rules());
  rockpool::controller::metrics metrics;
  rockpool::controller::api_options api_opts;
  api_opts.bookmark_interval = std::chrono::seconds(bookmark_seconds);
  api_opts.version = rockpool::controller::version;

  // The actor runtime: real Incus and Caddy, or the in-memory fakes.
  unsigned short first_port = 20000, last_port = 31999;
  if (std::sscanf(host_ports.c_str(), "%hu-%hu", &first_port, &last_port) != 2 ||
      first_port > last_port) {
    spdlog::error("--host-ports must be FIRST-LAST, got {}", host_ports);
    return 1;
  }
  caf::actor_system_config caf_cfg;
  caf_cfg.set("logger.file-verbosity", caf::atom("quiet"));
  caf_cfg.set("logger.console-verbosity", caf::atom("quiet"));
  caf::actor_system actor_system{caf_cfg};
  rockpool::runtime::fake_incus fake_incus;
  rockpool::runtime::fake_routes fake_routes;
  fake_incus.set_start_latency(std::chrono::milliseconds(fake_start_latency_ms));
  std::unique_ptr<rockpool::runtime::incus_rest> real_incus;
  std::unique_ptr<rockpool::actors::actor_route_table> caddy;
  rockpool::runtime::incus_client* incus = &fake_incus;
  rockpool::runtime::route_table* routes = &fake_routes;
  if (runtime == "incus") {
    if (!incus_where.url.empty() &&
        (incus_where.client_cert.empty() || incus_where.client_key.empty())) {
      spdlog::error("--incus-url needs --incus-client-cert and --incus-client-key");
      return 1;
    }
    real_incus = std::make_unique<rockpool::runtime::incus_rest>(incus_where);
    const auto& where = incus_where.url.empty() ? incus_where.socket : incus_where.url;
    auto version = real_incus->server_version();
    if (!version.ok()) {
      spdlog::warn("{}; workspaces will report IncusUnavailable until it answers",
                   version.err().message);
    } else {
      spdlog::info("Incus {} on {}, project {}", *version, where, incus_where.project);
      if (incus_where.project != "default")
        if (auto st = real_incus->create_project(incus_where.project); !st.ok())
          spdlog::warn("cannot create Incus project {}: {}", incus_where.project, st.err().message);
    }
    rockpool::runtime::caddy_options co;
    co.admin = caddy_admin;
    co.control_listen = caddy_control_listen;
    co.workspace_listen = caddy_workspace_listen;
    if (!listen.empty()) co.control_upstream = listen;
    caddy = std::make_unique<rockpool::actors::actor_route_table>(
        actor_system, std::make_shared<rockpool::runtime::caddy_admin_http>(co), co);
    if (auto st = caddy->sync(); !st.ok())
      spdlog::warn("{}; routes will be written once Caddy answers", st.err().message);
    incus = real_incus.get();
    routes = caddy.get();
  }
  rockpool::actors::host_port_allocator ports(**backend, first_port, last_port);
  rockpool::actors::event_recorder events(store, rockpool::specs::system_clock(), event_limit);
  rockpool::actors::controller_options copts;
  copts.sweep_interval = std::chrono::seconds(sweep_seconds);
  copts.workers = max_reconciles;
  copts.backoff_cap = std::chrono::seconds(backoff_cap_seconds);
  // The Host kind probes the machine every minute and keeps Host/local's status.
  rockpool::actors::kind_dependencies kind_deps;
  auto& probe = kind_deps.host.emplace();
  if (real_incus) {
    probe.sources.incus_info = [&real_incus] { return real_incus->server_info(); };
    probe.incus_version = [&real_incus] {
      auto v = real_incus->server_version();
      return v.ok() ? *v : std::string();
    };
  }
  if (runtime == "incus")
    probe.sources.caddy_reachable = [caddy_admin] {
      rockpool::runtime::caddy_options admin_only;
      admin_only.admin = caddy_admin;
      return rockpool::runtime::caddy_admin_http(admin_only).live_http_app().ok();
    };
  const auto kinds = rockpool::actors::standard_kinds(kind_deps);
  std::unique_ptr<rockpool::actors::controller> reconciler;
  if (runtime != "none") {
    reconciler = std::make_unique<rockpool::actors::controller>(
        actor_system,
        rockpool::actors::reconcile_context{store, *incus, *routes, ports, events,
                                            rockpool::specs::system_clock()},
        kinds, copts);
    (*backend)->set_commit_listener([&reconciler](std::vector<rockpool::specs::kv_event> e) {
      reconciler->publish(std::move(e));
    });
    reconciler->start();
  } else {
    spdlog::info("--runtime=none: specs are stored and served, not reconciled");
  }
  // Self-healing: Incus lifecycle events poke the workspace of the same name at once.
  std::unique_ptr<rockpool::actors::incus_events> incus_events;
  if (runtime == "incus")
    incus_events = std::make_unique<rockpool::actors::incus_events>(actor_system, incus_where,
                                                                    reconciler->manager());

  api_opts.extra_metrics = [&reconciler, &caddy, &incus_events] {
    if (!reconciler) return std::string();
    const auto& st = reconciler->stats();
    std::string out;
    auto counter = [&](const char* name, const char* help, const char* type, std::uint64_t v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
             name + " " + std::to_string(v) + "\n";
    };
    counter("rockpool_reconcile_passes_total", "Reconcile passes run.", "counter", st.passes);
    counter("rockpool_reconcile_failures_total", "Reconcile passes that failed and were retried.",
            "counter", st.failed_passes);
    counter("rockpool_reconciler_restarts_total", "Reconciler actors restarted after a crash.",
            "counter", st.reconciler_restarts);
    counter("rockpool_reconcilers", "Live reconciler actors.", "gauge", st.live_reconcilers);
    counter("rockpool_watch_subscribers_cut_off_total",
            "Hub subscribers cut off for falling behind.", "counter", st.subscribers_cut_off);
    if (caddy) {
      counter("rockpool_caddy_loads_total", "Config loads sent to Caddy (one per batch).",
              "counter", caddy->stats().loads.load());
      counter("rockpool_caddy_drift_repairs_total",
              "Times Caddy's live config was found changed and restored.", "counter",
              caddy->stats().repairs.load());
    }
    if (incus_events) {
      counter("rockpool_incus_event_connections_total",
              "Websocket connections made to Incus's lifecycle events.", "counter",
              incus_events->stats().connections.load());
      counter("rockpool_incus_events_total", "Incus instance events received.", "counter",
              incus_events->stats().events.load());
    }
    return out;
  };
  rockpool::controller::api_handler handler(store, metrics, api_opts);

  // Block the stop signals before any thread starts, then wait for one here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  rockpool::controller::api_server server(handler, srv);
  if (auto st = server.start(); !st.ok()) {
    spdlog::error("{}", st.err().message);
    return 1;
  }
  spdlog::info(
      "rockpoold {} serving unix://{}{} (data {}, revision {}, runtime {}{})",
      rockpool::controller::version, socket,
      srv.listen ? " and http://127.0.0.1:" + std::to_string(server.tcp_port()) : std::string(),
      data_dir, store.revision(), runtime, inner ? ", inner" : "");
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received signal {}, shutting down", sig);
  (*backend)->wake_all();
  server.stop();
  if (incus_events) incus_events->stop();
  if (caddy) caddy->stop();
  (*backend)->set_commit_listener(nullptr);
  if (reconciler) reconciler->stop();
  return 0;
}
