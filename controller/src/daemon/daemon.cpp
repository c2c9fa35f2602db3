// rockpoold's wiring: one object owns every part, built in dependency order
// and stopped in the reverse of the order data flows.
#include "rockpool/controller/daemon.hpp"

#include "rockpool/actors/controller.hpp"
#include "rockpool/actors/incus_events.hpp"
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/actors/kinds.hpp"
#include "rockpool/actors/route_table.hpp"
#include "rockpool/actors/workspace_activity.hpp"
#include "rockpool/controller/api_handler.hpp"
#include "rockpool/controller/metrics.hpp"
#include "rockpool/controller/tls.hpp"
#include "rockpool/specs/version.hpp"
#include "rockpool/controller/workspace_signin.hpp"
#include "rockpool/runtime/caddy.hpp"
#include "rockpool/runtime/fake.hpp"
#include "rockpool/runtime/http.hpp"
#include "rockpool/specs/etcd_backend.hpp"
#include "rockpool/specs/object_store.hpp"
#include "rockpool/specs/rocksdb_backend.hpp"
#include "rockpool/specs/schema.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

namespace rockpool::controller {

using specs::make_error;
using specs::reason;

// Members are declared in the order they are built; each may use those above it.
struct daemon::parts {
  daemon_config config;
  std::unique_ptr<specs::kv_backend> backend;
  // With --store etcd://: this process's leadership of the prefix.
  std::unique_ptr<specs::etcd_leadership> leadership;
  std::unique_ptr<specs::object_store> store;
  metrics api_metrics;
  std::unique_ptr<workspace_signin> signin;  // null with --workspace-signin=false
  actors::workspace_activity activity{specs::system_clock()};
  std::unique_ptr<workspace_gateway> gateway;
  std::unique_ptr<api_server> gateway_server;
  caf::actor_system_config caf_config;
  std::unique_ptr<caf::actor_system> actor_system;
  runtime::fake_incus fake_incus;
  runtime::fake_routes fake_routes;
  std::unique_ptr<runtime::incus_rest> real_incus;
  std::unique_ptr<actors::actor_route_table> caddy;
  runtime::incus_client* incus = &fake_incus;
  runtime::route_table* routes = &fake_routes;
  runtime::fake_inner_probe fake_inner;
  std::unique_ptr<runtime::inner_probe_http> real_inner;
  runtime::inner_probe* inner = &fake_inner;
  std::unique_ptr<actors::host_port_allocator> ports;
  std::unique_ptr<actors::bridge_network> bridge;  // network: bridge; null with --bridge none
  std::unique_ptr<actors::event_recorder> events;
  actors::kind_registry kinds;
  std::unique_ptr<actors::subresource_services> subresource_services;  // the handlers hold it
  std::unique_ptr<actors::controller> reconciler;
  std::unique_ptr<actors::incus_events> incus_events;
  std::unique_ptr<api_handler> handler;
  std::unique_ptr<api_server> server;
  bool stopped = false;

  specs::status open_store();
  specs::status lead();
  std::thread campaigner;  // with --store etcd://
  std::atomic<bool> leading{false};
  std::atomic<bool> controller_started{false};
  std::atomic<bool> stopping{false};
  specs::status start_gateway();
  void connect_runtime();
  void prepare_kinds();
  void start_routes();
  void start_controller();
  // With --store etcd://: campaigns, then starts the leader's parts.
  void campaign();
  std::string runtime_metrics() const;
};

specs::status daemon::parts::open_store() {
  try {
    (void)specs::kinds();  // fail fast on a broken embedded CRD
    // Every object is readable in the database files: owner only.
    if (std::filesystem::create_directories(config.data_dir))
      std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all);
    if (auto parent = std::filesystem::path(config.socket).parent_path(); !parent.empty())
      std::filesystem::create_directories(parent);
  } catch (const std::exception& e) {
    return make_error(reason::internal, e.what());
  }
  if (config.store == "rocksdb") {
    specs::rocksdb_options db_options;
    db_options.event_retention = config.event_retention;
    db_options.log = [](const std::string& line) { spdlog::info("{}", line); };
    auto opened = specs::open_rocksdb(config.data_dir, db_options);
    if (!opened.ok()) return opened.err();
    backend = std::move(*opened);
  } else {
    specs::etcd_options o;
    auto endpoints = specs::parse_etcd_endpoints(config.store, !config.etcd_cacert.empty());
    if (!endpoints.ok()) return endpoints.err();
    o.endpoints = std::move(*endpoints);
    o.prefix = config.etcd_prefix;
    o.ca_file = config.etcd_cacert;
    o.cert_file = config.etcd_cert;
    o.key_file = config.etcd_key;
    o.event_retention = config.event_retention;
    auto opened = specs::open_etcd(std::move(o));
    if (!opened.ok()) return opened.err();
    backend = std::move(*opened);
  }
  // A nested host's inner network must not overlap the workspaces' bridge either.
  auto taken = config.outer_networks;
  if (config.bridge != "none") taken.push_back(config.bridge_cidr);
  store = std::make_unique<specs::object_store>(*backend, specs::system_clock(), std::move(taken),
                                                &actors::kind_rules());
  return specs::done{};
}

// One rockpoold reconciles an etcd prefix: this one serves the API and waits
// until it holds the leadership, then reconciles; it exits if it loses it,
// fenced meanwhile (docs/scale-out.md). A stop ends the wait.
specs::status daemon::parts::lead() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  specs::leadership_options o;
  o.identity = std::string(host) + ":" + std::to_string(::getpid());
  o.ttl = std::chrono::seconds(config.leader_ttl_seconds);
  o.waiting = [prefix = config.etcd_prefix](const std::string& holder) {
    spdlog::info("waiting for the leadership of {} in etcd, held by {}", prefix, holder);
  };
  o.give_up = [this] { return stopping.load(); };
  o.on_lost = [prefix = config.etcd_prefix](const std::string& why) {
    spdlog::error("lost the leadership of {}: {}; exiting (fenced: nothing more is written) so "
                  "that the service manager starts this replica again as a follower",
                  prefix, why);
    spdlog::default_logger()->flush();
    std::_Exit(3);
  };
  auto held = specs::lead_etcd(*backend, std::move(o));
  if (!held.ok()) return held.err();
  spdlog::info("leading {} in etcd (lease TTL {} s)", config.etcd_prefix, config.leader_ttl_seconds);
  leadership = std::move(*held);
  leading = true;
  return specs::done{};
}

void daemon::parts::campaign() {
  if (auto st = lead(); !st.ok()) {
    if (!stopping) spdlog::error("cannot take the leadership: {}", st.err().message);
    return;
  }
  start_routes();
  start_controller();
}

// The workspace server's sign-in gateway, on a loopback port of its own that
// only Caddy uses; bound before Caddy's routes are written, which name it.
specs::status daemon::parts::start_gateway() {
  if (!config.workspace_signin) {
    spdlog::warn("--workspace-signin=false: workspaces answer anyone who reaches {}",
                 config.caddy_workspace_listen);
  } else {
    auto opened = workspace_signin::open(config.data_dir + "/signin.key",
                                         config.session_ttl_seconds, specs::system_clock());
    if (!opened.ok()) return opened.err();
    signin = std::move(*opened);
  }
  // What the standby gate let through while rockpoold was down counts as
  // activity, so a workspace used then does not fall asleep now.
  actors::load_activity(activity, config.data_dir + "/" + gate_activity_file);
  // Every request it lets through is its workspace's activity, and wakes it
  // if it sleeps (held here until it serves: docs/user-guide.md, "Sleeping
  // workspaces").
  std::chrono::milliseconds wake_timeout = config.wake_timeout_seconds;
  gateway = std::make_unique<workspace_gateway>(
      signin.get(), "http://" + runtime::dial_address(config.caddy_control_listen),
      [this, wake_timeout](const std::string& uri) {
        return actors::admit_workspace_request(*store, activity, uri, wake_timeout);
      });
  // Only Caddy asks the gateway, and only --runtime incus programs Caddy.
  if (config.runtime == "none") return specs::done{};
  server_options o;
  o.listen = config.gateway_listen;
  o.listen_flag = "--gateway-listen";
  o.require_token = false;
  // A request for a sleeping workspace holds its thread while the workspace
  // wakes (a page's assets arrive together): enough threads that others
  // are not kept waiting behind them.
  o.handler_threads = 32;
  o.max_tcp_connections = 1024;
  // Port 0: the port of the previous run when it is free, so that Caddy's
  // routes (which name it) stay as they are across a restart or an upgrade,
  // and requests held by Caddy meanwhile reach the new rockpoold.
  auto port_file = config.data_dir + "/gateway.port";
  bool any_port = config.gateway_listen.ends_with(":0");
  if (any_port) {
    std::ifstream in(port_file);
    if (unsigned port = 0; in >> port && port > 0 && port < 65536) {
      auto previous = o;
      previous.listen = "127.0.0.1:" + std::to_string(port);
      gateway_server = std::make_unique<api_server>(*gateway, previous);
      if (auto st = gateway_server->start(); st.ok()) return st;
      spdlog::info("the sign-in gateway's previous port {} is taken; Caddy's routes move", port);
    }
  }
  gateway_server = std::make_unique<api_server>(*gateway, o);
  auto st = gateway_server->start();
  if (st.ok() && any_port) std::ofstream(port_file) << gateway_server->tcp_port() << "\n";
  return st;
}

// Real Incus and Caddy with --runtime incus; the in-memory fakes otherwise.
void daemon::parts::connect_runtime() {
  caf_config.set("logger.file-verbosity", caf::atom("quiet"));
  caf_config.set("logger.console-verbosity", caf::atom("quiet"));
  // The cooperative actors (manager, reconcilers, hub, queue) do little work
  // per message; passes run on detached workers. Work stealing's idle workers
  // poll with short sleeps, which cost about a fifth of the CPU of a burst of
  // 10,000 workspaces on two cores; work sharing's idle workers block instead.
  caf_config.set("scheduler.policy", caf::atom("sharing"));
  if (config.runtime == "none") return;  // nothing reconciles: no actors
  actor_system = std::make_unique<caf::actor_system>(caf_config);
  fake_incus.set_start_latency(std::chrono::milliseconds(config.fake_start_latency_ms));
  if (config.runtime != "incus") return;
  const auto& where = config.incus_where;
  real_incus = std::make_unique<runtime::incus_rest>(where);
  auto version = real_incus->server_version();
  if (!version.ok()) {
    spdlog::warn("{}; workspaces will report IncusUnavailable until it answers",
                 version.err().message);
  } else {
    spdlog::info("Incus {} on {}, project {}", *version,
                 where.url.empty() ? where.socket : where.url, where.project);
    if (where.project != "default")
      if (auto st = real_incus->create_project(where.project); !st.ok())
        spdlog::warn("cannot create Incus project {}: {}", where.project, st.err().message);
  }
  incus = real_incus.get();
  real_inner = std::make_unique<runtime::inner_probe_http>(config.caddy_workspace_listen);
  inner = real_inner.get();
}

// Caddy's routes: only the leader programs Caddy.
void daemon::parts::start_routes() {
  if (config.runtime != "incus") return;
  runtime::caddy_options co;
  co.admin = config.caddy_admin;
  co.control_listen = config.caddy_control_listen;
  co.workspace_listen = config.caddy_workspace_listen;
  if (!config.listen.empty()) co.control_upstream = config.listen;
  co.control_upstream_tls = !config.tls_cert_file.empty();
  co.control_upstream_ca = config.tls_ca_file;
  if (gateway_server) co.gateway = "127.0.0.1:" + std::to_string(gateway_server->tcp_port());
  if (gateway_server && signin) co.gateway_standby = config.gateway_standby;
  if (signin) {
    co.session_cookie = signin->cookie_name();
    co.probe_cookie = [s = signin.get()] { return s->cookie_name() + "=" + s->new_session(); };
  }
  // The routes Caddy serves now (rockpoold restarted, or upgraded) stay in
  // place until the reconcilers claim them: the first load changes nothing.
  auto admin = std::make_shared<runtime::caddy_admin_http>(co);
  std::vector<runtime::route> inherited;
  if (auto live = admin->live_http_app(); live.ok()) inherited = runtime::routes_of_http_app(*live);
  if (!inherited.empty())
    spdlog::info("kept {} workspace routes found in Caddy until their objects are reconciled",
                 inherited.size());
  caddy = std::make_unique<actors::actor_route_table>(*actor_system, admin, co,
                                                      std::move(inherited));
  if (auto st = caddy->sync(); !st.ok())
    spdlog::warn("{}; routes will be written once Caddy answers", st.err().message);
  routes = caddy.get();
}

void daemon::parts::prepare_kinds() {
  ports =
      std::make_unique<actors::host_port_allocator>(*backend, config.first_port, config.last_port);
  events =
      std::make_unique<actors::event_recorder>(*store, specs::system_clock(), config.event_limit);
  // The oldest events go after a burst, not in the passes that record them.
  events->trim_every(std::chrono::seconds(config.event_trim_after_s));
  if (config.bridge != "none")
    bridge = std::make_unique<actors::bridge_network>(*backend, config.bridge, config.bridge_cidr);
  // The Host kind probes the machine every minute and keeps Host/local's status.
  actors::kind_dependencies deps;
  auto& probe = deps.host.emplace();
  if (real_incus) {
    probe.sources.incus_info = [this] { return real_incus->server_info(); };
    probe.incus_version = [this] {
      auto v = real_incus->server_version();
      return v.ok() ? *v : std::string();
    };
  }
  if (config.runtime == "incus")
    probe.sources.caddy_reachable = [admin = config.caddy_admin] {
      runtime::caddy_options admin_only;
      admin_only.admin = admin;
      return runtime::caddy_admin_http(admin_only).live_http_app().ok();
    };
  // Git sources are cloned next to the database files (RocksDB ignores them).
  deps.gitsync.clone_root = config.data_dir + "/gitsync";
  kinds = actors::standard_kinds(deps);
  if (config.runtime == "none") {
    spdlog::info("--runtime=none: specs are stored and served, not reconciled");
    return;
  }
  store->add_finalizers_on_create(kinds.creation_finalizers());
}

// The manager and reconcilers, and Incus's events: only the leader reconciles.
void daemon::parts::start_controller() {
  if (config.runtime == "none") return;
  actors::controller_options options;
  options.sweep_interval = std::chrono::seconds(config.sweep_seconds);
  options.workers = config.max_reconciles;
  options.backoff_cap = std::chrono::seconds(config.backoff_cap_seconds);
  reconciler = std::make_unique<actors::controller>(
      *actor_system,
      actors::reconcile_context{*store, *incus, *routes, *ports, *events, specs::system_clock(),
                                bridge.get(), inner, &activity},
      kinds, options);
  backend->set_commit_listener(
      [this](std::vector<specs::kv_event> e) { reconciler->publish(std::move(e)); });
  reconciler->start();
  controller_started = true;
  // Self-healing: Incus lifecycle events poke the workspace of the same name at once.
  if (config.runtime == "incus")
    incus_events = std::make_unique<actors::incus_events>(*actor_system, config.incus_where,
                                                          reconciler->manager());
}

std::string daemon::parts::runtime_metrics() const {
  using specs::append_header;
  std::string leader;
  if (config.store != "rocksdb")
    append_metric(leader, "rockpool_leader",
                  "1 while this replica leads its etcd prefix (reconciles), 0 while it waits.",
                  "gauge", leading ? 1 : 0);
  // The controller may be starting on the campaign's thread: read it once started.
  if (!controller_started) return leader;
  const auto& st = reconciler->stats();
  std::string out;
  append_metric(out, "rockpool_reconcile_passes_total", "Reconcile passes run.", "counter",
                st.passes);
  append_metric(out, "rockpool_reconcile_failures_total",
                "Reconcile passes that failed and were retried.", "counter", st.failed_passes);
  append_metric(out, "rockpool_reconciler_restarts_total",
                "Reconciler actors restarted after a crash.", "counter", st.reconciler_restarts);
  append_metric(out, "rockpool_reconcilers", "Live reconciler actors.", "gauge",
                st.live_reconcilers);
  append_metric(out, "rockpool_watch_subscribers_cut_off_total",
                "Hub subscribers cut off for falling behind.", "counter", st.subscribers_cut_off);
  st.render(out);
  if (caddy) {
    append_metric(out, "rockpool_caddy_loads_total", "Config loads sent to Caddy (one per batch).",
                  "counter", caddy->stats().loads.load());
    append_metric(out, "rockpool_caddy_drift_repairs_total",
                  "Times Caddy's live config was found changed and restored.", "counter",
                  caddy->stats().repairs.load());
    append_metric(out, "rockpool_caddy_load_failures_total",
                  "Config loads Caddy refused or did not answer.", "counter",
                  caddy->stats().load_failures.load());
  }
  if (real_incus) {
    const auto& calls = real_incus->calls();
    append_header(out, "rockpool_incus_requests_total",
                  "Incus API calls by result: ok, not_found (often expected), error (other 4xx "
                  "and 5xx), unanswered (no answer or not JSON).",
                  "counter");
    for (auto [result, n] : {std::pair{"ok", &calls.ok}, std::pair{"not_found", &calls.not_found},
                             std::pair{"error", &calls.error},
                             std::pair{"unanswered", &calls.unanswered}})
      out += std::string("rockpool_incus_requests_total{result=\"") + result + "\"} " +
             std::to_string(n->load()) + "\n";
  }
  if (incus_events) {
    append_metric(out, "rockpool_incus_event_connections_total",
                  "Websocket connections made to Incus's lifecycle events.", "counter",
                  incus_events->stats().connections.load());
    append_metric(out, "rockpool_incus_events_total", "Incus instance events received.", "counter",
                  incus_events->stats().events.load());
  }
  return leader + out;
}

specs::result<std::unique_ptr<daemon>> daemon::start(const daemon_config& config) {
  auto p = std::make_unique<parts>();
  p->config = config;
  if (auto st = p->open_store(); !st.ok()) return st.err();
  if (auto st = p->start_gateway(); !st.ok()) return st.err();
  // --listen is HTTPS unless --plain-http: the user's certificate, or ours.
  auto& c = p->config;
  if (!c.listen.empty() && !c.plain_http && c.tls_cert_file.empty()) {
    auto made = ensure_tls_files(c.data_dir + "/tls");
    if (!made.ok()) return made.err();
    if (!made->made_because.empty())
      spdlog::info("made a new server certificate for --listen in {}: {}", c.data_dir + "/tls",
                   made->made_because);
    c.tls_cert_file = made->server_cert;
    c.tls_key_file = made->server_key;
    c.tls_ca_file = made->ca_cert;
  }
  c.server.tls_cert_file = c.tls_cert_file;
  c.server.tls_key_file = c.tls_key_file;
  p->connect_runtime();
  p->prepare_kinds();
  // RocksDB: this process is the only one. etcd: after the API serves, the
  // leader's parts start once this replica leads (campaign()).
  bool elects = config.store != "rocksdb";
  if (!elects) {
    p->start_routes();
    p->start_controller();
  }
  api_options api;
  api.bookmark_interval = std::chrono::seconds(config.bookmark_seconds);
  api.version = version;
  api.role = config.inner ? "inner" : "outer";
  api.nested_host = config.nested_host;
  api.workspace_url = "http://" + runtime::dial_address(config.caddy_workspace_listen);
  p->subresource_services = std::make_unique<actors::subresource_services>(
      actors::subresource_services{*p->store, config.runtime == "none" ? nullptr : p->incus,
                                   api.workspace_url});
  if (auto* s = p->signin.get())
    p->subresource_services->issue_signin_code = [s] { return s->issue_code(); };
  p->subresource_services->activity = &p->activity;
  p->subresource_services->wake_timeout = config.wake_timeout_seconds;
  api.subresources = p->kinds.subresources(*p->subresource_services);
  api.extra_metrics = [raw = p.get()] { return raw->runtime_metrics(); };
  if (elects)
    api.leadership = [raw = p.get()] { return std::string(raw->leading ? "leader" : "follower"); };
  p->handler = std::make_unique<api_handler>(*p->store, p->api_metrics, api);
  p->server = std::make_unique<api_server>(*p->handler, c.server);
  // Owned from here on, so a failure below is stopped in order, like a signal.
  std::unique_ptr<daemon> d(new daemon(std::move(p)));
  if (auto st = d->parts_->server->start(); !st.ok()) return st.err();
  if (elects) d->parts_->campaigner = std::thread([raw = d->parts_.get()] { raw->campaign(); });
  return d;
}

daemon::daemon(std::unique_ptr<parts> p) : parts_(std::move(p)) {}

daemon::~daemon() {
  stop();
}

void daemon::stop() {
  if (!parts_) return;
  auto& p = *parts_;
  if (p.stopped) return;
  p.stopped = true;
  p.stopping = true;  // a campaign gives up; its leader's parts are then started or not
  if (p.campaigner.joinable()) p.campaigner.join();
  p.backend->wake_all();  // watch streams waiting for a revision
  p.server->stop();
  if (p.gateway_server) p.gateway_server->stop();
  if (p.incus_events) p.incus_events->stop();
  if (p.caddy) p.caddy->stop();
  p.backend->set_commit_listener(nullptr);
  if (p.reconciler) p.reconciler->stop();
  p.leadership.reset();  // revokes the lease: a standby takes over at once
}

std::string daemon::serving_line() const {
  const auto& p = *parts_;
  const auto& c = p.config;
  return "rockpoold " + std::string(version) + " serving unix://" + c.socket +
         (c.server.listen ? std::string(c.tls_cert_file.empty() ? " and http" : " and https") +
                                "://127.0.0.1:" + std::to_string(p.server->tcp_port())
                          : std::string()) +
         " (data " + c.data_dir + ", revision " + std::to_string(p.store->revision()) +
         ", runtime " + c.runtime + (c.inner ? ", inner" : "") + ")";
}

}  // namespace rockpool::controller
