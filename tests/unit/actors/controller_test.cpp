// Deterministic tests of the actor runtime: CAF's test coordinator runs every
// actor on this thread, time moves only when the test advances it (the CAF
// clock and the store's clock together), and the runtime is the in-memory fake.
#include "rockpool/actors/controller.hpp"
#include "rockpool/actors/interfaces.hpp"
#include "rockpool/actors/incus_events.hpp"
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/actors/kinds.hpp"
#include "rockpool/actors/orphans.hpp"
#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/rocksdb_backend.hpp"
#include "rockpool/specs/schema.hpp"
#include "host/reconciler.hpp"
#include "scripted_runtime.hpp"
#include "test_support.hpp"
#include "rockpool/crds/types.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <mutex>
#include <set>

using namespace rockpool;
using namespace std::chrono_literals;
using specs::string_at;

namespace {

class actor_runtime : public ::testing::Test {
 protected:
  using json_value = boost::json::value;

  void SetUp() override {
    open_store();
    options_.detached_workers = false;
    options_.sweep_interval = 0ms;
    options_.workers = 4;
    options_.jitter_seed = 42;
    options_.backoff_base = 50ms;
    options_.backoff_cap = 60000ms;
  }
  void TearDown() override { shutdown(); }

  void open_store() {
    auto b = specs::open_rocksdb(dir_ / "db");
    ASSERT_TRUE(b.ok()) << b.err().message;
    backend_ = std::move(*b);
    store_ = std::make_unique<specs::object_store>(*backend_, clock_, std::vector<std::string>{},
                                                   &actors::kind_rules());
    ports_ = std::make_unique<actors::host_port_allocator>(
        *backend_, 41000, 41999, [this](unsigned short p) { return busy_ports_.count(p) > 0; });
    events_ = std::make_unique<actors::event_recorder>(*store_, clock_, 1000);
    bridge_ = std::make_unique<actors::bridge_network>(*backend_, "rpbr-test", "10.77.0.0/24");
  }

  void boot() {
    cfg_ = std::make_unique<caf::actor_system_config>();
    cfg_->set("scheduler.policy", caf::atom("testing"));
    cfg_->set("logger.file-verbosity", caf::atom("quiet"));
    cfg_->set("logger.console-verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(*cfg_);
    ctl_ = std::make_unique<actors::controller>(
        *sys_,
        actors::reconcile_context{*store_, incus_, routes_, *ports_, *events_, clock_,
                                  bridge_.get(), &inner_, &activity_},
        kinds_, options_);
    backend_->set_commit_listener(
        [this](std::vector<specs::kv_event> e) { ctl_->publish(std::move(e)); });
    ctl_->start();
    run();
  }

  void shutdown() {
    if (!sys_) return;
    backend_->set_commit_listener(nullptr);
    ctl_->stop();
    run();
    ctl_.reset();
    sys_.reset();
    cfg_.reset();
  }

  caf::scheduler::test_coordinator& sched() {
    return dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
  }
  void run() { sched().run(); }
  // Moves both clocks and runs what became due.
  void advance(std::chrono::milliseconds d) {
    clock_.advance(d);
    sched().advance_time(d);
    run();
  }

  json_value apply(const std::string& json) {
    auto v = specs::parse_json(json);
    auto r = store_->apply(*v, {false, "test"}, true);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().message);
    return r.ok() ? r->object : json_value();
  }
  static std::string workspace(const std::string& name, const std::string& extra = "") {
    return R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":")" +
           name + R"("},"spec":{"image":"rockpool-tiny")" + extra + "}}";
  }
  json_value get(const std::string& kind, const std::string& name) {
    auto r = store_->get(kind, name);
    return r.ok() ? *r : json_value();
  }
  std::string condition(const json_value& obj, const std::string& type) {
    const auto* conds = specs::find_path(obj, "status.conditions");
    if (conds && conds->is_array())
      for (const auto& c : conds->get_array())
        if (string_at(c, "type") == type)
          return string_at(c, "status") + "/" + string_at(c, "reason");
    return "-";
  }
  bool ready(const std::string& kind, const std::string& name) {
    return condition(get(kind, name), "Ready").rfind("True", 0) == 0;
  }

  test_support::temp_dir dir_;
  test_support::fake_clock clock_;
  actors::workspace_activity activity_{clock_};
  std::unique_ptr<specs::kv_backend> backend_;
  std::unique_ptr<specs::object_store> store_;
  std::unique_ptr<actors::host_port_allocator> ports_;
  std::unique_ptr<actors::event_recorder> events_;
  std::unique_ptr<actors::bridge_network> bridge_;
  test_support::scripted_incus incus_;
  test_support::scripted_routes routes_;
  std::set<unsigned short> busy_ports_;  // "listened on by another process"
  // A nested host's inner control plane, as seen through the outer route.
  struct scripted_inner final : runtime::inner_probe {
    runtime::inner_health look(const std::string& api_path, const std::string& token) override {
      std::lock_guard lk(mu);
      looked_at = api_path;
      seen_token = token;
      return health;
    }
    std::mutex mu;
    runtime::inner_health health = runtime::inner_health::down("connection refused");
    std::string looked_at, seen_token;
  } inner_;
  actors::controller_options options_;
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  // The standard kinds without Host (whose probe reads this machine).
  actors::kind_registry kinds_ = actors::standard_kinds({});
  std::unique_ptr<actors::controller> ctl_;
};

}  // namespace

namespace {
std::vector<std::string> event_reasons(specs::object_store& store) {
  std::vector<std::string> out;
  auto events = store.list("Event");
  if (events.ok())
    for (const auto& e : events->items) out.push_back(string_at(e, "spec.reason"));
  return out;
}
std::string config_of(test_support::scripted_incus& incus, const std::string& name,
                      const std::string& key) {
  auto inst = incus.get_instance(name);
  if (!inst.ok() || !*inst) return "<no instance>";
  auto it = (*inst)->config.find(key);
  return it == (*inst)->config.end() ? "" : it->second;
}
}  // namespace

TEST_F(actor_runtime, workspace_converges_to_ready_with_instance_route_and_finalizer) {
  boot();
  apply(workspace("demo"));
  run();
  auto ws = get("Workspace", "demo");
  EXPECT_EQ(condition(ws, "InstanceReady"), "True/Running");
  EXPECT_EQ(condition(ws, "RouteReady"), "True/Routed");
  // The fake route answers as an image without code-server does.
  EXPECT_EQ(condition(ws, "IDEReady"), "True/HTTPAnswered");
  EXPECT_EQ(condition(ws, "Ready"), "True/Ready");
  std::vector<std::string> order;
  for (const auto& c : specs::find_path(ws, "status.conditions")->as_array())
    order.push_back(string_at(c, "type"));
  EXPECT_EQ(order,
            (std::vector<std::string>{"HomeReady", "InstanceReady", "RouteReady", "IDEReady",
                                      "ConfigApplied", "Ready"}));
  EXPECT_EQ(string_at(ws, "status.phase"), "Running");
  EXPECT_EQ(specs::int_at(ws, "status.observedGeneration"),
            specs::int_at(ws, "metadata.generation"));
  EXPECT_EQ(specs::find_path(ws, "metadata.finalizers")->as_array()[0].as_string(),
            "rockpool.dev/cleanup");
  EXPECT_TRUE(routes_.contains("rockpool-ws-demo"));
  auto inst = incus_.get_instance("demo");
  ASSERT_TRUE(inst.ok() && *inst);
  EXPECT_EQ((*inst)->status, "Running");
  EXPECT_EQ((*inst)->config.at("user.rockpool.uid"), string_at(ws, "metadata.uid"));
  EXPECT_EQ(ctl_->stats().live_reconcilers, 1u);
}

// After a restore from a backup (issue 26): instances that carry Rockpool's
// keys but whose object is not in the store, or is another object of that
// name, are reported on Host/local (status.orphans, NoOrphans False), and
// nothing deletes them.
TEST_F(actor_runtime, the_host_reports_instances_no_object_owns_as_orphans) {
  boot();
  apply(workspace("demo"));
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  runtime::instance_spec ghost;
  ghost.name = "ghost";
  ghost.image = string_at(get("Workspace", "demo"), "spec.image");
  ghost.config = {{runtime::owner_kind_key, "Workspace"},
                  {runtime::owner_name_key, "ghost"},
                  {runtime::owner_uid_key, "uid-from-before-the-restore"}};
  ASSERT_TRUE(incus_.create_instance(ghost).ok());
  test_support::temp_dir root;  // an empty machine for the probe's other checks
  actors::kind_dependencies::host_probe settings;
  settings.sources.root = root.path().string() + "/";
  actors::host::reconciler host(settings);
  ASSERT_TRUE(store_->create(host.bootstrap()[0], {false, "test"}).ok());
  actors::reconcile_context ctx{*store_, incus_, routes_, *ports_, *events_, clock_,
                                bridge_.get(), &inner_, &activity_};
  auto probe = [&] {
    (void)host.reconcile(ctx, get("Host", "local"));
    return get("Host", "local");
  };
  auto h = probe();
  // Every field the probe writes is declared in the Host CRD.
  auto typed = crds::host::status_of(h);
  ASSERT_TRUE(typed.ok()) << typed.err().message;
  EXPECT_TRUE(typed->unknown.empty()) << boost::json::serialize(h);
  const auto* orphans = specs::find_path(h, "status.orphans");
  ASSERT_NE(orphans, nullptr);
  ASSERT_EQ(orphans->as_array().size(), 1u) << boost::json::serialize(h);
  EXPECT_EQ(string_at(orphans->as_array()[0], "instance"), "ghost");
  EXPECT_EQ(string_at(orphans->as_array()[0], "uid"), "uid-from-before-the-restore");
  EXPECT_EQ(condition(h, "NoOrphans").substr(0, 5), "False");
  EXPECT_TRUE(incus_.get_instance("ghost")->has_value()) << "reported, never deleted";
  // A Workspace of that name applied again replaces the left-behind instance
  // (an earlier incarnation's), and then nothing is orphaned.
  apply(workspace("ghost"));
  run();
  EXPECT_TRUE(specs::find_path(probe(), "status.orphans")->as_array().empty());
  EXPECT_EQ(condition(get("Host", "local"), "NoOrphans").substr(0, 4), "True");
  EXPECT_EQ((*incus_.get_instance("ghost"))->config.at(runtime::owner_uid_key),
            string_at(get("Workspace", "ghost"), "metadata.uid"));
}

// --delete-orphans (issue 26, item 3): what `rockpoold restore` deletes when
// asked. An orphan's instance goes with the home volume made for it; a volume
// another object owns (or retained) stays; the owned workspace is untouched.
TEST_F(actor_runtime, deleting_orphans_removes_their_instances_and_their_own_homes_only) {
  boot();
  apply(workspace("demo"));
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  auto orphan_with_home = [&](const std::string& name, const std::string& uid,
                              const std::string& volume_uid) {
    ASSERT_TRUE(incus_.create_volume(name + "-home", "", {{runtime::volume_owner_uid_key, volume_uid}}).ok());
    runtime::instance_spec spec;
    spec.name = name;
    spec.image = "rockpool-tiny";
    spec.config = {{runtime::owner_kind_key, "Workspace"},
                   {runtime::owner_name_key, name},
                   {runtime::owner_uid_key, uid}};
    spec.home = runtime::disk_device{"home", name + "-home", "/home/dev"};
    ASSERT_TRUE(incus_.create_instance(spec).ok());
  };
  orphan_with_home("ghost", "ghost-uid", "ghost-uid");
  orphan_with_home("stray", "stray-uid", "");  // its home was retained: not its own any more
  auto lookup = [&](const std::string& kind, const std::string& name) -> std::optional<std::string> {
    auto obj = store_->get(kind, name);
    return obj.ok() ? string_at(*obj, "metadata.uid") : std::string();
  };
  auto found = actors::find_orphans(incus_, lookup);
  ASSERT_TRUE(found.ok()) << found.err().message;
  std::set<std::string> names;
  for (const auto& o : *found) names.insert(o.instance);
  EXPECT_EQ(names, (std::set<std::string>{"ghost", "stray"}));
  auto volumes = incus_.volume_count();
  for (const auto& o : *found) ASSERT_TRUE(actors::delete_orphan(incus_, o).ok());
  EXPECT_FALSE(incus_.get_instance("ghost")->has_value());
  EXPECT_FALSE(incus_.get_instance("stray")->has_value());
  EXPECT_FALSE(incus_.get_volume("ghost-home")->has_value()) << "its own home goes with it";
  EXPECT_TRUE(incus_.get_volume("stray-home")->has_value()) << "a retained home stays";
  EXPECT_EQ(incus_.volume_count(), volumes - 1);
  EXPECT_TRUE(incus_.get_instance("demo")->has_value());
  for (const auto& o : *found) EXPECT_TRUE(actors::delete_orphan(incus_, o).ok()) << "again: a no-op";
  EXPECT_TRUE(actors::find_orphans(incus_, lookup)->empty());
}

// --adopt for orphans (issue 26, item 3): a Workspace annotated
// rockpool.dev/adopt-instance takes over the instance and, named in
// spec.home.fromVolume, the home volume that an earlier object of its name
// left, as they are: the instance is not replaced (its files stay).
TEST_F(actor_runtime, an_annotated_workspace_adopts_an_orphan_instance_and_home_as_they_are) {
  boot();
  std::map<std::string, std::string> old_owner{{runtime::volume_owner_uid_key, "old-uid"},
                                               {runtime::volume_owner_name_key, "ghost"}};
  ASSERT_TRUE(incus_.create_volume("home-ghost-old", "10Gi", old_owner).ok());
  runtime::instance_spec ghost;
  ghost.name = "ghost";
  ghost.image = "rockpool-tiny";
  ghost.config = {{runtime::owner_kind_key, "Workspace"},
                  {runtime::owner_name_key, "ghost"},
                  {runtime::owner_uid_key, "old-uid"}};
  ghost.home = runtime::disk_device{"home", "home-ghost-old", "/home/dev"};
  ASSERT_TRUE(incus_.create_instance(ghost).ok());
  ASSERT_TRUE(incus_.start_instance("ghost").ok());
  incus_.put_file("ghost", "/etc/made-before-the-restore", "kept");
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"ghost",)"
        R"("annotations":{"rockpool.dev/adopt-instance":"true"}},"spec":{"image":"rockpool-tiny",)"
        R"("home":{"fromVolume":"home-ghost-old"}}})");
  run();
  auto ws = get("Workspace", "ghost");
  EXPECT_TRUE(ready("Workspace", "ghost")) << boost::json::serialize(ws);
  auto file = incus_.read_file("ghost", "/etc/made-before-the-restore", 1024);
  ASSERT_TRUE(file.ok()) << "the instance was replaced: " << file.err().message;
  EXPECT_EQ(*file, "kept");
  auto uid = string_at(ws, "metadata.uid");
  EXPECT_EQ((*incus_.get_instance("ghost"))->config.at(runtime::owner_uid_key), uid);
  EXPECT_EQ((*incus_.get_volume("home-ghost-old"))->config.at(runtime::volume_owner_uid_key), uid);
  auto reasons = event_reasons(*store_);
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "InstanceAdopted"), reasons.end());
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "HomeAdopted"), reasons.end());
  // Without the annotation, the same volume would be refused as another's.
  std::map<std::string, std::string> other_owner{{runtime::volume_owner_uid_key, "x"},
                                                 {runtime::volume_owner_name_key, "someone"}};
  ASSERT_TRUE(incus_.create_volume("home-someone", "10Gi", other_owner).ok());
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"grab",)"
        R"("annotations":{"rockpool.dev/adopt-instance":"true"}},"spec":{"image":"rockpool-tiny",)"
        R"("home":{"fromVolume":"home-someone"}}})");
  run();
  EXPECT_EQ(condition(get("Workspace", "grab"), "HomeReady").substr(0, 21),
            "False/HomeVolumeInUse")
      << "a volume left by another name is never taken";
}

// As rockpoold runs it: admission adds the cleanup finalizer on create, so a
// workspace's pass writes its status and nothing else to the workspace.
TEST_F(actor_runtime, with_the_finalizer_added_on_create_a_pass_only_writes_status) {
  store_->add_finalizers_on_create(kinds_.creation_finalizers());
  boot();
  auto created = apply(workspace("demo"));
  EXPECT_EQ(specs::find_path(created, "metadata.finalizers")->as_array().size(), 1u);
  auto after_create = store_->revision();
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  auto events = store_->events_after(after_create, 1000);
  ASSERT_TRUE(events.ok());
  int writes = 0;
  for (const auto& e : *events) {
    if (string_at(e.object, "kind") != "Workspace") continue;
    ++writes;
    auto without_status = e.object;
    without_status.as_object().erase("status");
    without_status.as_object()["metadata"].as_object().erase("resourceVersion");
    auto created_meta = created;
    created_meta.as_object().erase("status");
    created_meta.as_object()["metadata"].as_object().erase("resourceVersion");
    EXPECT_EQ(without_status, created_meta) << "a pass changed more than the status";
  }
  EXPECT_EQ(writes, 1);  // one status write, no finalizer patch
  EXPECT_TRUE(kinds_.creation_finalizers().count("Workspace"));
  EXPECT_FALSE(kinds_.creation_finalizers().count("Host"));  // Host/local has nothing to clean
}

TEST_F(actor_runtime, hundred_updates_during_a_pass_coalesce_into_at_most_two_passes) {
  boot();
  apply(workspace("demo"));
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  auto before = ctl_->stats().passes_for("Workspace/demo");
  bool fired = false;
  incus_.on_operation([&](const std::string& op) {
    if (op != "get" || fired) return;
    fired = true;  // mid-pass: 100 spec changes land while this pass is in flight
    for (int i = 1; i <= 100; ++i)
      apply(
          workspace("demo", R"(,"resources":{"memory":")" + std::to_string(1000 + i) + R"(Mi"})"));
  });
  apply(workspace("demo", R"(,"resources":{"memory":"999Mi"})"));
  run();
  incus_.on_operation(nullptr);
  EXPECT_TRUE(fired);
  EXPECT_LE(ctl_->stats().passes_for("Workspace/demo") - before, 2u);
  auto ws = get("Workspace", "demo");
  EXPECT_EQ(string_at(ws, "spec.resources.memory"), "1100Mi");
  EXPECT_EQ(specs::int_at(ws, "status.observedGeneration"),
            specs::int_at(ws, "metadata.generation"));
}

TEST(backoff, delay_doubles_per_attempt_and_is_capped) {
  using actors::backoff_delay;
  EXPECT_EQ(backoff_delay(1, 50ms, 60000ms, 0.5), 50ms);
  EXPECT_EQ(backoff_delay(2, 50ms, 60000ms, 0.5), 100ms);
  EXPECT_EQ(backoff_delay(5, 50ms, 60000ms, 0.5), 800ms);
  EXPECT_EQ(backoff_delay(30, 50ms, 60000ms, 0.5), 60000ms);
  EXPECT_EQ(backoff_delay(1, 50ms, 60000ms, 0.0), 40ms);   // jitter -20%
  EXPECT_EQ(backoff_delay(1, 50ms, 60000ms, 0.99), 59ms);  // jitter +20%
}

TEST_F(actor_runtime, failures_retry_with_growing_capped_backoff_and_success_resets_it) {
  options_.backoff_cap = 400ms;
  boot();
  incus_.fail_next("create", 6);
  apply(workspace("demo"));
  run();
  // Record when each pass happens while time moves 1 ms at a time.
  std::vector<long> pass_times;
  auto passes = ctl_->stats().passes_for("Workspace/demo");
  for (long t = 1; t <= 3000 && !ready("Workspace", "demo"); ++t) {
    advance(1ms);
    if (ctl_->stats().passes_for("Workspace/demo") != passes) {
      passes = ctl_->stats().passes_for("Workspace/demo");
      pass_times.push_back(t);
    }
  }
  ASSERT_TRUE(ready("Workspace", "demo"));
  ASSERT_GE(pass_times.size(), 6u);
  std::vector<long> gaps = {pass_times[0]};
  for (std::size_t i = 1; i < pass_times.size(); ++i)
    gaps.push_back(pass_times[i] - pass_times[i - 1]);
  // 50, 100, 200, 400, 400, 400 ms, each within the ±20% jitter.
  const long expected[] = {50, 100, 200, 400, 400, 400};
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_GE(gaps[i], expected[i] * 8 / 10) << "retry " << i + 1;
    EXPECT_LE(gaps[i], expected[i] * 12 / 10 + 1) << "retry " << i + 1;
  }
  // Success reset the schedule: the next failure retries after ~50 ms again.
  incus_.fail_next("start", 1);
  incus_.crash("demo");
  ctl_->poke_all();
  run();
  auto after_failure = ctl_->stats().passes_for("Workspace/demo");
  advance(39ms);
  EXPECT_EQ(ctl_->stats().passes_for("Workspace/demo"), after_failure);
  advance(21ms);
  EXPECT_EQ(ctl_->stats().passes_for("Workspace/demo"), after_failure + 1);
  EXPECT_TRUE(ready("Workspace", "demo"));
  // The metrics an operator alerts on (issue 26, item 5), by kind and result;
  // the failures by the reason of the error that failed them (Incus
  // unavailable: issue 21, errors as values).
  std::string metrics;
  ctl_->stats().render(metrics);
  EXPECT_NE(metrics.find("rockpool_reconcile_errors_total{kind=\"Workspace\",reason=\""
                         "ServiceUnavailable\"} 7\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("rockpool_reconcile_total{kind=\"Workspace\",result=\"failed\"} 7\n"),
            std::string::npos);
  EXPECT_NE(metrics.find("rockpool_reconcile_total{kind=\"Workspace\",result=\"converged\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("rockpool_reconcile_time_seconds_count{kind=\"Workspace\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("rockpool_workqueue_depth 0\n"), std::string::npos)
      << "nothing waits once converged";
  EXPECT_NE(metrics.find("rockpool_workqueue_queue_duration_seconds_count "), std::string::npos);
}

TEST_F(actor_runtime, terminal_error_stops_retries_until_the_spec_changes) {
  boot();
  apply(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"demo"},"spec":{"image":"no-such-image"}})");
  run();
  auto ws = get("Workspace", "demo");
  EXPECT_EQ(condition(ws, "Ready"), "False/ImageNotFound");
  EXPECT_EQ(string_at(ws, "status.phase"), "Failed");
  auto passes = ctl_->stats().passes.load();
  advance(std::chrono::hours(1));
  EXPECT_EQ(ctl_->stats().passes, passes) << "a terminal error was retried";
  apply(workspace("demo"));  // new spec, new generation
  run();
  EXPECT_TRUE(ready("Workspace", "demo"));
  EXPECT_EQ(incus_.creates(), 1u);
}

TEST_F(actor_runtime, a_reconcile_that_throws_is_retried_and_converges) {
  boot();
  incus_.throw_next("create");
  apply(workspace("demo"));
  run();
  EXPECT_FALSE(ready("Workspace", "demo"));
  EXPECT_GE(ctl_->stats().failed_passes, 1u);
  advance(100ms);
  EXPECT_TRUE(ready("Workspace", "demo"));
}

TEST_F(actor_runtime, a_crashed_reconciler_is_restarted_by_the_manager_and_converges) {
  boot();
  incus_.fail_next("create", 1);
  apply(workspace("demo"));
  run();
  EXPECT_FALSE(ready("Workspace", "demo"));
  ctl_->kill_reconciler("Workspace/demo");  // its pending retry dies with it
  run();
  EXPECT_EQ(ctl_->stats().reconciler_restarts, 1u);
  EXPECT_EQ(ctl_->stats().live_reconcilers, 1u);
  EXPECT_TRUE(ready("Workspace", "demo")) << "the replacement did not re-reconcile at once";
}

TEST_F(actor_runtime,
       deletion_tears_down_routes_then_instance_then_finalizer_and_collects_port_routes) {
  std::vector<std::string> journal;
  routes_.set_journal([&](const std::string& e) { journal.push_back(e); });
  incus_.on_operation([&](const std::string& op) {
    if (op == "delete" || op == "proxy-remove") journal.push_back("incus-" + op);
  });
  boot();
  apply(workspace("demo"));
  apply(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"PortRoute","metadata":{"name":"demo-9000"},"spec":{"workspace":"demo","port":9000}})");
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  ASSERT_TRUE(ready("PortRoute", "demo-9000"));
  EXPECT_EQ(ports_->allocated(), 2u);
  journal.clear();
  ASSERT_TRUE(store_->remove("Workspace", "demo", std::nullopt, {false, "test"}).ok());
  run();
  for (int i = 0; i < 20 && store_->get("Workspace", "demo").ok(); ++i) advance(200ms);
  EXPECT_FALSE(store_->get("Workspace", "demo").ok()) << "workspace not deleted";
  EXPECT_FALSE(store_->get("PortRoute", "demo-9000").ok()) << "owned port route not collected";
  auto at = [&](const std::string& e) {
    return std::find(journal.begin(), journal.end(), e) - journal.begin();
  };
  ASSERT_LT(at("route-remove rockpool-pr-demo-9000"), static_cast<long>(journal.size()));
  EXPECT_LT(at("route-remove rockpool-pr-demo-9000"), at("incus-delete"));
  EXPECT_LT(at("route-remove rockpool-ws-demo"), at("incus-delete"));
  EXPECT_EQ(incus_.instance_count(), 0u);
  EXPECT_EQ(routes_.size(), 0u);
  EXPECT_EQ(ports_->allocated(), 0u);
  run();
  EXPECT_EQ(ctl_->stats().live_reconcilers, 0u);
}

TEST_F(actor_runtime, converged_objects_cause_no_reconciles_for_a_simulated_hour) {
  boot();
  for (int i = 0; i < 5; ++i) apply(workspace("w" + std::to_string(i)));
  apply(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"PortRoute","metadata":{"name":"w0-9000"},"spec":{"workspace":"w0","port":9000}})");
  run();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ready("Workspace", "w" + std::to_string(i)));
  ASSERT_TRUE(ready("PortRoute", "w0-9000"));
  auto passes = ctl_->stats().passes.load();
  auto revision = store_->revision();
  for (int minute = 0; minute < 60; ++minute) advance(std::chrono::minutes(1));
  EXPECT_EQ(ctl_->stats().passes, passes);
  EXPECT_EQ(store_->revision(), revision) << "something kept writing";
}

TEST_F(actor_runtime, drift_sweep_restarts_a_crashed_instance_and_counts_the_restart) {
  options_.sweep_interval = 30000ms;
  boot();
  apply(workspace("demo"));
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  incus_.crash("demo");
  advance(30000ms);
  auto ws = get("Workspace", "demo");
  EXPECT_TRUE(ready("Workspace", "demo"));
  EXPECT_EQ(specs::int_at(ws, "status.restarts"), 1);
  incus_.vanish("demo");
  advance(30000ms);
  EXPECT_TRUE(ready("Workspace", "demo"));
  EXPECT_EQ(specs::int_at(get("Workspace", "demo"), "status.restarts"), 2);
  EXPECT_EQ(incus_.creates(), 2u);
}

TEST_F(actor_runtime, a_restart_is_in_status_before_the_instance_is_started_again) {
  boot();
  apply(workspace("demo"));
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  std::string seen_at_start;
  incus_.on_operation([&](const std::string& op) {
    if (op != "start") return;
    auto ws = get("Workspace", "demo");
    seen_at_start = condition(ws, "Ready") +
                    " restarts=" + std::to_string(specs::int_at(ws, "status.restarts").value_or(0));
  });
  incus_.crash("demo");
  ctl_->poke_all();
  run();
  EXPECT_EQ(seen_at_start, "False/InstanceCrashed restarts=1");
  EXPECT_TRUE(ready("Workspace", "demo"));
  EXPECT_EQ(specs::int_at(get("Workspace", "demo"), "status.restarts"), 1);
}

// Found against real Incus: while an instance is stopping, Incus answers its
// state with an error; that failed pass must not hide the crash from the next.
TEST_F(actor_runtime, a_crash_is_counted_even_when_incus_errs_in_between) {
  boot();
  apply(workspace("demo"));
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  incus_.crash("demo");
  incus_.fail_next("get", 1, "Incus: Invalid PID");
  ctl_->poke_all();
  run();
  EXPECT_EQ(condition(get("Workspace", "demo"), "Ready"), "False/IncusUnavailable");
  advance(100ms);  // the retry
  EXPECT_TRUE(ready("Workspace", "demo"));
  EXPECT_EQ(specs::int_at(get("Workspace", "demo"), "status.restarts"), 1);
  EXPECT_EQ(string_at(get("Workspace", "demo"), "status.instanceState"), "Running");
  auto reasons = event_reasons(*store_);
  EXPECT_EQ(std::count(reasons.begin(), reasons.end(), "InstanceCrashed"), 1);
}

TEST_F(actor_runtime, a_failed_restart_is_counted_once) {
  boot();
  apply(workspace("demo"));
  run();
  incus_.crash("demo");
  incus_.fail_next("start", 1, "Incus: Instance is busy running a \"stop\" operation");
  ctl_->poke_all();
  run();
  EXPECT_EQ(condition(get("Workspace", "demo"), "Ready"), "False/StartFailed");
  advance(100ms);
  EXPECT_TRUE(ready("Workspace", "demo"));
  EXPECT_EQ(specs::int_at(get("Workspace", "demo"), "status.restarts"), 1);
}

TEST_F(actor_runtime, a_crash_loop_backs_off_instead_of_spinning) {
  boot();
  apply(workspace("demo"));
  run();
  int restarts_seen = 0;
  for (int i = 0; i < 5; ++i) {
    incus_.crash("demo");
    ctl_->poke_all();
    run();
    restarts_seen =
        static_cast<int>(specs::int_at(get("Workspace", "demo"), "status.restarts").value_or(0));
  }
  // The first crash restarts at once; the next ones wait 1 s, 2 s, ...
  EXPECT_EQ(restarts_seen, 1);
  EXPECT_EQ(condition(get("Workspace", "demo"), "Ready"), "False/CrashLoopBackOff");
  advance(1100ms);
  EXPECT_TRUE(ready("Workspace", "demo"));
  EXPECT_EQ(specs::int_at(get("Workspace", "demo"), "status.restarts"), 2);
}

TEST_F(actor_runtime, a_restarted_actor_system_converges_without_duplicate_creates) {
  boot();
  for (int i = 0; i < 10; ++i) apply(workspace("w" + std::to_string(i)));
  run();
  EXPECT_EQ(incus_.creates(), 10u);
  shutdown();
  // While the controller is down: one more object, and one instance vanishes.
  apply(workspace("late"));
  incus_.vanish("w3");
  boot();
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(ready("Workspace", "w" + std::to_string(i))) << i;
  EXPECT_TRUE(ready("Workspace", "late"));
  EXPECT_EQ(incus_.creates(), 12u);  // 10 + late + the recreated w3, nothing twice
  EXPECT_EQ(incus_.instance_count(), 11u);
}

TEST_F(actor_runtime, port_route_follows_its_workspace) {
  boot();
  apply(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"PortRoute","metadata":{"name":"p"},"spec":{"workspace":"later","port":9000}})");
  run();
  EXPECT_EQ(condition(get("PortRoute", "p"), "Ready"), "False/WorkspaceNotFound");
  apply(workspace("later"));
  run();
  EXPECT_TRUE(ready("PortRoute", "p"));
  apply(workspace("later", R"(,"state":"Stopped")"));
  run();
  EXPECT_EQ(string_at(get("Workspace", "later"), "status.phase"), "Stopped");
  EXPECT_EQ(condition(get("PortRoute", "p"), "Ready"), "False/WorkspaceNotRunning");
  EXPECT_FALSE(routes_.contains("rockpool-pr-later-9000"));
}

TEST_F(actor_runtime, name_collision_with_a_foreign_instance_is_terminal_and_untouched) {
  incus_.add_foreign_instance("mine");
  boot();
  apply(workspace("mine"));
  run();
  EXPECT_EQ(condition(get("Workspace", "mine"), "Ready"), "False/NameConflict");
  auto journal = incus_.journal();
  for (const auto& op : journal)
    EXPECT_TRUE(op.rfind("get", 0) == 0 || op.rfind("image", 0) == 0) << op;
}

TEST_F(actor_runtime, events_are_recorded_and_deduplicated) {
  boot();
  apply(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"demo"},"spec":{"image":"nope"}})");
  run();
  auto events = store_->list("Event");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->items.size(), 1u);
  EXPECT_EQ(string_at(events->items[0], "spec.reason"), "ImageNotFound");
  EXPECT_EQ(string_at(events->items[0], "spec.involvedObject.name"), "demo");
  apply(workspace("demo"));
  run();
  events = store_->list("Event");
  bool created = false;
  for (const auto& e : events->items)
    created = created || string_at(e, "spec.reason") == "InstanceCreated";
  EXPECT_TRUE(created);
}

TEST_F(actor_runtime, resource_changes_are_applied_live_without_a_restart) {
  boot();
  apply(workspace("demo"));
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  EXPECT_EQ(config_of(incus_, "demo", "limits.cpu"), "2");
  auto starts = incus_.starts();
  apply(workspace("demo", R"(,"resources":{"cpu":4,"memory":"4Gi","disk":"20Gi"})"));
  run();
  EXPECT_EQ(config_of(incus_, "demo", "limits.cpu"), "4");
  EXPECT_EQ(config_of(incus_, "demo", "limits.memory"), "4GiB");
  EXPECT_EQ((*incus_.get_instance("demo"))->root_size, "20GiB");
  EXPECT_EQ(incus_.starts(), starts) << "a live change must not restart the instance";
  EXPECT_EQ(incus_.creates(), 1u);
  EXPECT_EQ(condition(get("Workspace", "demo"), "ConfigApplied"), "True/Applied");
  EXPECT_TRUE(ready("Workspace", "demo"));
  auto reasons = event_reasons(*store_);
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "ConfigUpdated"), reasons.end());
}

TEST_F(actor_runtime, a_change_that_needs_a_restart_is_reported_and_applied_at_the_next_start) {
  boot();
  apply(workspace("demo"));
  run();
  apply(workspace("demo", R"(,"nesting":true)"));
  run();
  EXPECT_EQ(condition(get("Workspace", "demo"), "ConfigApplied"), "False/RestartRequired");
  EXPECT_EQ(config_of(incus_, "demo", "security.nesting"), "false") << "not while it runs";
  EXPECT_TRUE(ready("Workspace", "demo")) << "the workspace keeps serving meanwhile";
  apply(workspace("demo", R"(,"nesting":true,"state":"Stopped")"));
  run();
  EXPECT_EQ(config_of(incus_, "demo", "security.nesting"), "true");
  EXPECT_EQ(condition(get("Workspace", "demo"), "ConfigApplied"), "True/Applied");
  apply(workspace("demo", R"(,"nesting":true)"));
  run();
  EXPECT_TRUE(ready("Workspace", "demo"));
  EXPECT_EQ(condition(get("Workspace", "demo"), "ConfigApplied"), "True/Applied");
}

TEST_F(actor_runtime, a_crash_restart_applies_pending_restart_changes) {
  boot();
  apply(workspace("demo"));
  run();
  apply(workspace("demo", R"(,"nesting":true)"));
  run();
  ASSERT_EQ(condition(get("Workspace", "demo"), "ConfigApplied"), "False/RestartRequired");
  incus_.crash("demo");
  ctl_->poke_all();
  run();
  EXPECT_TRUE(ready("Workspace", "demo"));
  EXPECT_EQ(config_of(incus_, "demo", "security.nesting"), "true");
  EXPECT_EQ(condition(get("Workspace", "demo"), "ConfigApplied"), "True/Applied");
}

TEST_F(actor_runtime, an_image_change_recreates_the_instance_and_keeps_the_home) {
  incus_.add_image("other");
  boot();
  apply(workspace("demo"));
  run();
  auto volume = string_at(get("Workspace", "demo"), "status.home.volume");
  ASSERT_FALSE(volume.empty());
  incus_.put_file("demo", "/home/dev/proof", "kept");
  incus_.put_file("demo", "/etc/scratch", "lost with the instance");
  apply(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"demo"},"spec":{"image":"other"}})");
  run();
  auto ws = get("Workspace", "demo");
  EXPECT_EQ(condition(ws, "ConfigApplied"), "True/Applied");
  EXPECT_TRUE(ready("Workspace", "demo"));
  EXPECT_EQ(incus_.creates(), 2u);
  EXPECT_EQ(config_of(incus_, "demo", "user.rockpool.image"), "other");
  EXPECT_EQ(string_at(ws, "status.home.volume"), volume);
  auto proof = incus_.read_file("demo", "/home/dev/proof", 100);
  ASSERT_TRUE(proof.ok());
  EXPECT_EQ(*proof, "kept");
  EXPECT_FALSE(incus_.read_file("demo", "/etc/scratch", 100).ok());
  auto reasons = event_reasons(*store_);
  EXPECT_EQ(std::count(reasons.begin(), reasons.end(), "Recreated"), 1);
  EXPECT_EQ(std::count(reasons.begin(), reasons.end(), "InstanceVanished"), 0);
  EXPECT_EQ(specs::int_at(ws, "status.restarts").value_or(0), 0) << "a re-creation is no crash";
}

TEST_F(actor_runtime, deleting_a_workspace_deletes_its_home_unless_retained_then_it_is_adopted) {
  boot();
  apply(workspace("gone"));
  apply(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"kept"},"spec":{"image":"rockpool-tiny","home":{"retain":true}}})");
  run();
  EXPECT_EQ(incus_.volume_count(), 2u);
  auto kept_volume = string_at(get("Workspace", "kept"), "status.home.volume");
  incus_.put_file("kept", "/home/dev/notes", "mine");
  ASSERT_TRUE(store_->remove("Workspace", "gone", std::nullopt, {false, "test"}).ok());
  ASSERT_TRUE(store_->remove("Workspace", "kept", std::nullopt, {false, "test"}).ok());
  run();
  EXPECT_EQ(incus_.volume_count(), 1u) << "gone's home is deleted, kept's retained";
  auto left = incus_.get_volume(kept_volume);
  ASSERT_TRUE(left.ok() && *left);
  EXPECT_EQ((*left)->config["user.rockpool.retained"], "true");
  EXPECT_EQ((*left)->config["user.rockpool.uid"], "");
  auto reasons = event_reasons(*store_);
  EXPECT_EQ(std::count(reasons.begin(), reasons.end(), "HomeRetained"), 1);
  // A workspace of the same name does not take it by itself...
  apply(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"other"},"spec":{"image":"rockpool-tiny","home":{"fromVolume":"nope"}}})");
  run();
  EXPECT_EQ(condition(get("Workspace", "other"), "HomeReady"), "False/HomeVolumeNotFound");
  // ...but one that names it adopts it, with its files.
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"next"},"spec":{"image":"rockpool-tiny","home":{"fromVolume":")" +
        kept_volume + R"("}}})");
  run();
  EXPECT_TRUE(ready("Workspace", "next"));
  auto notes = incus_.read_file("next", "/home/dev/notes", 100);
  ASSERT_TRUE(notes.ok());
  EXPECT_EQ(*notes, "mine");
  // A second adopter is refused: the volume is next's now.
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"thief"},"spec":{"image":"rockpool-tiny","home":{"fromVolume":")" +
        kept_volume + R"("}}})");
  run();
  EXPECT_EQ(condition(get("Workspace", "thief"), "HomeReady"), "False/HomeVolumeInUse");
}

TEST_F(actor_runtime, a_host_port_another_process_listens_on_is_skipped) {
  busy_ports_ = {41000, 41001};
  boot();
  apply(workspace("demo"));
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  EXPECT_EQ(specs::int_at(get("Workspace", "demo"), "status.hostPort"), 41002);
}

TEST_F(actor_runtime, no_free_host_port_is_a_clear_condition) {
  ports_ = std::make_unique<actors::host_port_allocator>(
      *backend_, 41000, 41001, [](unsigned short p) { return p == 41001; });
  boot();
  apply(workspace("a"));
  apply(workspace("b"));
  run();
  EXPECT_TRUE(ready("Workspace", "a"));
  auto b = get("Workspace", "b");
  EXPECT_EQ(condition(b, "Ready"), "False/NoHostPort");
  std::string message;
  for (const auto& c : specs::find_path(b, "status.conditions")->as_array())
    if (string_at(c, "type") == "Ready") message = string_at(c, "message");
  EXPECT_EQ(message,
            "no free host port in 41000-41001 (1 held by Rockpool, 1 in use by other "
            "processes)");
}

TEST_F(actor_runtime, a_start_refused_because_a_host_port_was_taken_moves_to_another_port) {
  boot();
  apply(workspace("demo"));
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  auto port = specs::int_at(get("Workspace", "demo"), "status.hostPort").value_or(0);
  ASSERT_EQ(port, 41000);
  // Another process listens on the port while the instance is down.
  busy_ports_.insert(41000);
  incus_.crash("demo");
  incus_.fail_next("start", 1,
                   "Incus: Error occurred when starting proxy device: Error: Failed to listen on "
                   "127.0.0.1:41000: listen tcp 127.0.0.1:41000: bind: address already in use");
  ctl_->poke_all();
  run();
  EXPECT_EQ(condition(get("Workspace", "demo"), "Ready"), "False/HostPortInUse");
  advance(1ms);  // the requeue
  auto ws = get("Workspace", "demo");
  EXPECT_TRUE(ready("Workspace", "demo")) << condition(ws, "Ready");
  EXPECT_EQ(specs::int_at(ws, "status.hostPort"), 41001);
  auto inst = *incus_.get_instance("demo");
  ASSERT_EQ(inst->proxies.size(), 1u);
  EXPECT_EQ(inst->proxies[0].listen, "tcp:127.0.0.1:41001");
  EXPECT_EQ(ports_->owner_of(41000), std::nullopt);
  auto reasons = event_reasons(*store_);
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "HostPortInUse"), reasons.end());
}

namespace {
struct sink_state {
  std::vector<std::uint64_t> cutoffs;
  std::size_t batches = 0;
};
}  // namespace

TEST_F(actor_runtime, a_slow_hub_subscriber_is_cut_off_with_a_resumable_position) {
  options_.subscriber_max_in_flight = 8;
  boot();
  auto seen = std::make_shared<sink_state>();
  // Receives batches and never acknowledges them.
  auto slow = sys_->spawn([seen](caf::event_based_actor*) -> caf::behavior {
    return {
        [seen](actors::events_atom, const actors::event_batch&) { ++seen->batches; },
        [seen](actors::cutoff_atom, std::uint64_t position) { seen->cutoffs.push_back(position); }};
  });
  // Breaks the subscriber's contract on purpose (no ack), hence the cast.
  caf::anon_send(ctl_->hub(), actors::subscribe_atom::value,
                 caf::actor_cast<actors::hub_subscriber>(slow), store_->revision());
  run();
  for (int i = 0; i < 50; ++i) {
    apply(
        R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"WorkspaceTemplate","metadata":{"name":"t)" +
        std::to_string(i) + R"("},"spec":{"image":"x"}})");
    run();
  }
  // Writers were never held up: every write landed.
  EXPECT_EQ(store_->list("WorkspaceTemplate")->items.size(), 50u);
  EXPECT_EQ(seen->batches, 8u);
  ASSERT_EQ(seen->cutoffs.size(), 1u);
  EXPECT_EQ(ctl_->stats().subscribers_cut_off, 1u);
  // The position is the last revision it was sent: resuming from it misses nothing.
  auto resumed = store_->events_after(seen->cutoffs[0], 1000);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->front().revision, seen->cutoffs[0] + 1);
  caf::anon_send_exit(slow, caf::exit_reason::user_shutdown);
}

// ---- triggers declared by the kinds (owns, watches, follows instances) ----

TEST_F(actor_runtime, an_incus_event_about_an_instance_pokes_the_workspace_of_that_name) {
  boot();
  apply(workspace("demo"));
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  incus_.crash("demo");  // no drift sweep here: only the event can bring a pass
  run();
  EXPECT_EQ((*incus_.get_instance("demo"))->status, "Stopped");
  caf::anon_send(ctl_->manager(), actors::instance_atom::value, std::string("elsewhere"));
  run();
  EXPECT_EQ((*incus_.get_instance("demo"))->status, "Stopped");
  caf::anon_send(ctl_->manager(), actors::instance_atom::value, std::string("demo"));
  run();
  EXPECT_EQ((*incus_.get_instance("demo"))->status, "Running");
  EXPECT_EQ(specs::int_at(get("Workspace", "demo"), "status.restarts"), 1);
}

TEST(incus_events, instance_events_name_their_instance_and_others_name_none) {
  EXPECT_EQ(
      actors::instance_of_event(R"({"type":"lifecycle","metadata":{"action":"instance-stopped",)"
                                R"("source":"/1.0/instances/demo?project=rockpool"}})"),
      "demo");
  EXPECT_EQ(actors::instance_of_event(
                R"({"metadata":{"action":"instance-deleted","source":"/1.0/instances/w-2"}})"),
            "w-2");
  EXPECT_EQ(actors::instance_of_event(
                R"({"metadata":{"action":"image-created","source":"/1.0/images/abc"}})"),
            "");
  EXPECT_EQ(actors::instance_of_event("not json"), "");
}

TEST_F(actor_runtime, a_template_change_reaches_the_workspaces_made_from_it_at_once) {
  boot();
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"WorkspaceTemplate",)"
        R"("metadata":{"name":"small"},"spec":{"image":"rockpool-tiny","resources":{"cpu":2}}})");
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"demo"},)"
        R"("spec":{"template":"small"}})");
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  EXPECT_EQ(config_of(incus_, "demo", "limits.cpu"), "2");
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"WorkspaceTemplate",)"
        R"("metadata":{"name":"small"},"spec":{"image":"rockpool-tiny","resources":{"cpu":4}}})");
  run();  // no sweep: only the watch on the template can bring the pass
  EXPECT_EQ(config_of(incus_, "demo", "limits.cpu"), "4");
}

TEST_F(actor_runtime, a_workspace_takes_its_templates_fields_unless_it_sets_them_even_to_empty) {
  boot();
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"WorkspaceTemplate",)"
        R"("metadata":{"name":"small"},"spec":{"image":"rockpool-tiny","profiles":["default","gpu"],)"
        R"("resources":{"cpu":3,"memory":"1Gi"}}})");
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"a"},)"
        R"("spec":{"template":"small","resources":{"memory":"3Gi"}}})");
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"b"},)"
        R"("spec":{"template":"small","profiles":[]}})");
  run();
  ASSERT_TRUE(ready("Workspace", "a"));
  ASSERT_TRUE(ready("Workspace", "b"));
  auto profiles = [&](const char* name) {
    auto inst = incus_.get_instance(name);
    return inst.ok() && *inst ? (*inst)->profiles : std::vector<std::string>{"<no instance>"};
  };
  // Unset: the template's; set, even to [], the workspace's own.
  EXPECT_EQ(profiles("a"), (std::vector<std::string>{"default", "gpu"}));
  EXPECT_EQ(profiles("b"), std::vector<std::string>{});
  EXPECT_EQ(config_of(incus_, "a", "limits.cpu"), "3");
  EXPECT_EQ(config_of(incus_, "a", "limits.memory"), "3GiB");
  EXPECT_EQ(config_of(incus_, "b", "limits.memory"), "1GiB");
}

TEST_F(actor_runtime, every_status_field_the_controller_writes_is_declared_in_its_crd) {
  options_.sweep_interval = 30000ms;
  boot();
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"demo"},)"
        R"("spec":{"image":"rockpool-tiny","lifecycle":{"idleAfter":"1h",)"
        R"("schedule":[{"start":"0 9 * * 1-5","stop":"0 18 * * 1-5"}],)"
        R"("snapshots":{"schedule":"0 3 * * *"}}}})");
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  // Crash it once: the restart fields.
  incus_.crash("demo");
  advance(30000ms);
  auto ws = get("Workspace", "demo");
  auto status = crds::workspace::status_of(ws);
  ASSERT_TRUE(status.ok()) << status.err().message;
  EXPECT_EQ(status->restarts, 1) << boost::json::serialize(ws);
  EXPECT_TRUE(status->schedule && status->schedule->next_start);
  EXPECT_TRUE(status->snapshots && status->snapshots->next);
  EXPECT_TRUE(status->unknown.empty()) << boost::json::serialize(ws.at("status"));
}

namespace {
// A kind of the test's own: counts its passes.
class counting_reconciler final : public actors::reconciler {
 public:
  explicit counting_reconciler(int* passes) : passes_(passes) {}
  std::string_view kind() const override { return "WorkspaceTemplate"; }
  actors::pass_result reconcile(actors::reconcile_context&, boost::json::value) const override {
    ++*passes_;
    return {};
  }

 private:
  int* passes_;
};
}  // namespace

namespace {
// Records the latest generation each object's passes read.
class last_seen_reconciler final : public actors::reconciler {
 public:
  last_seen_reconciler(std::map<std::string, std::int64_t>* seen, std::mutex* mu)
      : seen_(seen), mu_(mu) {}
  std::string_view kind() const override { return "WorkspaceTemplate"; }
  actors::pass_result reconcile(actors::reconcile_context&, boost::json::value obj) const override {
    std::lock_guard lk(*mu_);
    auto& g = (*seen_)[string_at(obj, "metadata.name")];
    g = std::max(g, specs::int_at(obj, "metadata.generation").value_or(0));
    return {};
  }

 private:
  std::map<std::string, std::int64_t>* seen_;
  std::mutex* mu_;
};
}  // namespace

// Decision 79, the two watch paths under one load: 200 spec changes to 20
// objects. The API's path (the durable event log a watch pages through)
// has every event, in revision order; the reconcilers' path (coalesced
// commit notices) has every object's latest state.
TEST_F(actor_runtime, api_watchers_see_every_event_in_order_and_reconcilers_every_latest_state) {
  std::map<std::string, std::int64_t> seen;
  std::mutex mu;
  kinds_ = actors::kind_registry{};
  kinds_.add(std::make_unique<last_seen_reconciler>(&seen, &mu));
  boot();
  auto start = store_->revision();
  for (int round = 1; round <= 10; ++round) {
    for (int i = 0; i < 20; ++i)
      apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"WorkspaceTemplate","metadata":{"name":"t)" +
            std::to_string(i) + R"("},"spec":{"image":"img-)" + std::to_string(round) + R"("}})");
    if (round % 3 == 0) run();  // reconcilers run between some rounds, not others
  }
  run();
  auto events = store_->events_after(start, 1000);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 200u);
  for (std::size_t i = 1; i < events->size(); ++i)
    ASSERT_LT((*events)[i - 1].revision, (*events)[i].revision) << i;
  std::lock_guard lk(mu);
  ASSERT_EQ(seen.size(), 20u);
  for (const auto& [name, generation] : seen)
    EXPECT_EQ(generation, specs::int_at(get("WorkspaceTemplate", name), "metadata.generation"))
        << name;
}

TEST_F(actor_runtime, a_registered_kind_gets_a_reconciler_per_object_and_nothing_else_is_needed) {
  int passes = 0;
  kinds_ = actors::kind_registry{};
  kinds_.add(std::make_unique<counting_reconciler>(&passes));
  boot();
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"WorkspaceTemplate",)"
        R"("metadata":{"name":"t1"},"spec":{"image":"a"}})");
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"WorkspaceTemplate",)"
        R"("metadata":{"name":"t2"},"spec":{"image":"b"}})");
  apply(workspace("not-registered"));
  run();
  EXPECT_EQ(passes, 2);
  EXPECT_EQ(ctl_->stats().live_reconcilers, 2u);
  EXPECT_EQ(incus_.instance_count(), 0u);
}

namespace {
// A kind with something outside the store: its teardown needs two tries.
class finalizing_reconciler final : public actors::reconciler {
 public:
  struct calls {
    int reconciles = 0, finalizes = 0;
    bool reconciled_without_finalizer = false, finalized_with_deletion = true;
  };
  explicit finalizing_reconciler(calls* c) : c_(c) {}
  std::string_view kind() const override { return "WorkspaceTemplate"; }
  bool cleans_up() const override { return true; }
  actors::pass_result reconcile(actors::reconcile_context&, boost::json::value obj) const override {
    ++c_->reconciles;
    if (!actors::has_cleanup_finalizer(obj)) c_->reconciled_without_finalizer = true;
    return {};
  }
  actors::pass_result finalize(actors::reconcile_context&,
                               const boost::json::value& obj) const override {
    c_->finalized_with_deletion = c_->finalized_with_deletion && actors::being_deleted(obj);
    if (++c_->finalizes == 1)
      return {actors::pass_result::outcome::requeue, "one more try", 1000ms};
    return {};
  }

 private:
  calls* c_;
};
}  // namespace

// Issue 21: the framework owns the finalizer. A kind that cleans up sees its
// objects in reconcile() only while they carry it, and in finalize() only
// once they are being deleted; the finalizer goes when finalize() converges.
TEST_F(actor_runtime, the_framework_adds_the_finalizer_and_removes_it_once_finalize_converges) {
  finalizing_reconciler::calls c;
  kinds_ = actors::kind_registry{};
  kinds_.add(std::make_unique<finalizing_reconciler>(&c));
  boot();
  // This store's admission adds no finalizer to templates: the first pass does.
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"WorkspaceTemplate",)"
        R"("metadata":{"name":"t"},"spec":{"image":"a"}})");
  run();
  EXPECT_TRUE(actors::has_cleanup_finalizer(get("WorkspaceTemplate", "t")));
  EXPECT_GE(c.reconciles, 1);
  EXPECT_FALSE(c.reconciled_without_finalizer);
  EXPECT_EQ(c.finalizes, 0);
  auto reconciles = c.reconciles;
  ASSERT_TRUE(store_->remove("WorkspaceTemplate", "t", std::nullopt, {false, "test"}).ok());
  run();
  // The first teardown asked for another try: the object is still there.
  EXPECT_EQ(c.finalizes, 1);
  EXPECT_TRUE(actors::being_deleted(get("WorkspaceTemplate", "t")));
  EXPECT_TRUE(actors::has_cleanup_finalizer(get("WorkspaceTemplate", "t")));
  advance(1000ms);
  EXPECT_EQ(c.finalizes, 2);
  EXPECT_FALSE(store_->get("WorkspaceTemplate", "t").ok()) << "the finalizer went, and the object";
  EXPECT_EQ(c.reconciles, reconciles) << "no reconcile() of an object being deleted";
  EXPECT_TRUE(c.finalized_with_deletion);
}

TEST(kind_registry, indexes_follow_the_declarations_of_the_standard_kinds) {
  auto kinds = actors::standard_kinds({});
  EXPECT_EQ(kinds.kinds(),
            (std::vector<std::string>{"GitSync", "NestedHost", "PortRoute", "Workspace",
                                      "WorkspaceSnapshot"}));
  EXPECT_TRUE(kinds.tracks("WorkspaceTemplate"));  // watched by Workspace
  EXPECT_FALSE(kinds.tracks("Event"));
  EXPECT_FALSE(kinds.tracks("Host"));  // not registered without a probe
  EXPECT_TRUE(kinds.owner_follows("NestedHost", "Workspace"));
  EXPECT_TRUE(kinds.owner_follows("Workspace", "PortRoute"));
  EXPECT_FALSE(kinds.owner_follows("PortRoute", "Workspace"));
  EXPECT_EQ(kinds.instance_followers(), (std::vector<std::string>{"Workspace"}));
  kinds.add(std::make_unique<counting_reconciler>(nullptr));
  EXPECT_THROW(kinds.add(std::make_unique<counting_reconciler>(nullptr)), std::logic_error);
}

// Issue 9, item 14: garbage collection is level-triggered. An owner deleted
// while the daemon was down leaves dependents that no delete event will ever
// name; the resync at start (and every drift sweep) collects them.
TEST_F(actor_runtime, orphans_of_owners_deleted_while_down_are_collected_at_start) {
  apply(workspace("demo"));
  auto owner_uid = string_at(get("Workspace", "demo"), "metadata.uid");
  auto route = [](const std::string& name, const std::string& uid) {
    return R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"PortRoute","metadata":{"name":")" +
           name + R"(","ownerReferences":[{"apiVersion":"rockpool.dev/v1alpha1",)" +
           R"("kind":"Workspace","name":"demo","uid":")" + uid +
           R"("}]},"spec":{"workspace":"demo","port":9000}})";
  };
  apply(route("orphan", "uid-of-a-workspace-long-gone"));
  auto kept = route("kept", owner_uid);
  kept.replace(kept.find("9000"), 4, "9001");
  apply(kept);
  boot();  // the controller was down while the orphan's owner went away
  run();
  EXPECT_EQ(store_->get("PortRoute", "orphan").err().why, specs::reason::not_found);
  EXPECT_TRUE(store_->get("PortRoute", "kept").ok()) << "its owner exists";
  EXPECT_TRUE(store_->get("Workspace", "demo").ok());
}

// ---- issue 10: bridge networking ----

TEST_F(actor_runtime, a_bridged_workspace_gets_an_address_a_nic_and_a_direct_route) {
  boot();
  apply(workspace("demo", R"(,"network":"bridge")"));
  apply(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"PortRoute","metadata":{"name":"demo-9000"},)"
      R"("spec":{"workspace":"demo","port":9000}})");
  run();
  ASSERT_TRUE(ready("Workspace", "demo")) << condition(get("Workspace", "demo"), "Ready");
  ASSERT_TRUE(ready("PortRoute", "demo-9000"));
  auto ws = get("Workspace", "demo");
  EXPECT_EQ(string_at(ws, "status.network"), "bridge");
  EXPECT_EQ(string_at(ws, "status.address"), "10.77.0.2");
  EXPECT_EQ(string_at(ws, "status.upstream"), "10.77.0.2:8080");
  EXPECT_EQ(string_at(get("PortRoute", "demo-9000"), "status.upstream"), "10.77.0.2:9000");
  // The controller made the bridge, and the instance sits on it with port isolation.
  auto net = incus_.get_network("rpbr-test");
  ASSERT_TRUE(net.ok() && *net);
  EXPECT_EQ((*net)->config.at("ipv4.address"), "10.77.0.1/24");
  EXPECT_EQ((*net)->config.at(actors::bridge_owner_key), actors::bridge_owner_value);
  auto inst = incus_.get_instance("demo");
  ASSERT_TRUE(inst.ok() && *inst && (*inst)->nic);
  EXPECT_EQ(*(*inst)->nic, (runtime::nic_device{"eth0", "rpbr-test", "10.77.0.2", true}));
  // No proxy devices and no host ports on this path.
  EXPECT_TRUE((*inst)->proxies.empty());
  EXPECT_EQ(ports_->allocated(), 0u);
}

TEST_F(actor_runtime, workspaces_default_to_the_bridge_once_it_is_ready_and_keep_their_mode) {
  boot();
  apply(workspace("before"));
  run();
  EXPECT_EQ(string_at(get("Workspace", "before"), "status.network"), "proxy");
  ASSERT_TRUE(bridge_->ensure(incus_).ready);
  apply(workspace("after"));
  run();
  EXPECT_EQ(string_at(get("Workspace", "after"), "status.network"), "bridge");
  ctl_->poke_all();
  run();
  EXPECT_EQ(string_at(get("Workspace", "before"), "status.network"), "proxy") << "mode flipped";
}

TEST_F(actor_runtime, a_workspace_from_before_bridges_stays_on_its_proxy_device) {
  boot();
  apply(workspace("old"));
  run();
  ASSERT_TRUE(ready("Workspace", "old"));
  // What an earlier version left: a host port and no recorded mode.
  auto obj = get("Workspace", "old");
  obj.as_object()["status"].as_object().erase("network");
  obj.as_object()["metadata"].as_object().erase("resourceVersion");
  ASSERT_TRUE(store_->replace_status(obj, {false, "test"}).ok());
  ASSERT_TRUE(bridge_->ensure(incus_).ready);
  ctl_->poke_all();
  run();
  EXPECT_EQ(string_at(get("Workspace", "old"), "status.network"), "proxy");
  EXPECT_FALSE((*incus_.get_instance("old"))->nic.has_value());
}

TEST_F(actor_runtime, bridge_addresses_are_unique_freed_on_delete_and_survive_a_restart) {
  boot();
  for (int i = 0; i < 20; ++i) apply(workspace("w" + std::to_string(i), R"(,"network":"bridge")"));
  run();
  std::set<std::string> addresses;
  for (int i = 0; i < 20; ++i) {
    auto ws = get("Workspace", "w" + std::to_string(i));
    ASSERT_TRUE(ready("Workspace", "w" + std::to_string(i)));
    addresses.insert(string_at(ws, "status.address"));
  }
  EXPECT_EQ(addresses.size(), 20u);
  ASSERT_TRUE(store_->remove("Workspace", "w3", std::nullopt, {false, "test"}).ok());
  run();
  EXPECT_EQ(bridge_->allocated(), 19u);
  // A controller restarted on the same store hands out none of the held addresses.
  shutdown();
  bridge_ = std::make_unique<actors::bridge_network>(*backend_, "rpbr-test", "10.77.0.0/24");
  for (int i = 0; i < 20; ++i) {
    if (i == 3) continue;
    auto again = bridge_->acquire("Workspace/w" + std::to_string(i));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, string_at(get("Workspace", "w" + std::to_string(i)), "status.address"));
  }
  // The freed address may be reused; a held one never is.
  auto fresh = bridge_->acquire("Workspace/new");
  ASSERT_TRUE(fresh.ok());
  for (int i = 0; i < 20; ++i) {
    if (i == 3) continue;
    EXPECT_NE(*fresh, string_at(get("Workspace", "w" + std::to_string(i)), "status.address"));
  }
}

TEST_F(actor_runtime, a_nic_changed_or_removed_behind_the_controllers_back_is_put_back) {
  boot();
  apply(workspace("demo", R"(,"network":"bridge")"));
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  auto want = *(*incus_.get_instance("demo"))->nic;
  incus_.set_nic_behind("demo", runtime::nic_device{"eth0", "rpbr-test", "10.77.0.99", false});
  ctl_->poke_all();
  run();
  EXPECT_EQ(*(*incus_.get_instance("demo"))->nic, want);
  incus_.set_nic_behind("demo", std::nullopt);
  ctl_->poke_all();
  run();
  EXPECT_EQ(*(*incus_.get_instance("demo"))->nic, want);
  EXPECT_TRUE(ready("Workspace", "demo"));
}

TEST_F(actor_runtime, a_deleted_bridge_is_recreated_and_a_foreign_one_is_refused) {
  boot();
  apply(workspace("demo", R"(,"network":"bridge")"));
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  incus_.drop_network("rpbr-test");
  incus_.vanish("demo");
  ctl_->poke_all();
  run();

  // The create failed on the missing bridge, which was then recreated; the retry succeeds.
  EXPECT_EQ(condition(get("Workspace", "demo"), "Ready"), "False/BridgeUnavailable");
  advance(1000ms);
  EXPECT_TRUE(ready("Workspace", "demo")) << condition(get("Workspace", "demo"), "Ready");
  EXPECT_TRUE(*incus_.get_network("rpbr-test"));
  // A network of that name that is not ours is never adopted or changed.
  incus_.put_network({"rpbr-test", "bridge", true, "Created", "someone else's", {}});
  auto state = bridge_->ensure(incus_);
  EXPECT_FALSE(state.ready);
  EXPECT_EQ(state.reason, "NotOurs");
  EXPECT_EQ((*incus_.get_network("rpbr-test"))->description, "someone else's");
}

namespace {
const std::string nested_dev =
    R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"NestedHost","metadata":{"name":"dev"},)"
    R"("spec":{"innerNetwork":"10.124.0.0/24"}})";
}

TEST_F(actor_runtime,
       a_nested_host_gets_its_template_workspace_and_routes_and_is_ready_when_inside_answers) {
  incus_.add_image("rockpool-nested-host");
  boot();
  apply(nested_dev);
  run();
  for (int i = 0; i < 20; ++i) advance(100ms);
  // The built-in template was created for it.
  auto tmpl = get("WorkspaceTemplate", "rockpool-nested-host");
  EXPECT_EQ(string_at(tmpl, "spec.image"), "rockpool-nested-host");
  EXPECT_EQ(string_at(tmpl, "spec.resources.memory"), "8Gi");
  // Its workspace: nesting on, a container (no Host says VMs run here), the
  // inner settings in the init's environment.
  auto ws = get("Workspace", "dev");
  EXPECT_EQ(string_at(ws, "spec.template"), "rockpool-nested-host");
  EXPECT_EQ(string_at(ws, "spec.type"), "container");
  EXPECT_TRUE(specs::find_path(ws, "spec.nesting")->as_bool());
  auto inst = incus_.get_instance("dev");
  ASSERT_TRUE(inst.ok() && *inst);
  EXPECT_EQ((*inst)->config["environment.ROCKPOOL_INNER_NETWORK"], "10.124.0.0/24");
  EXPECT_EQ((*inst)->config["environment.ROCKPOOL_NESTED_HOST"], "dev");
  EXPECT_EQ((*inst)->config["security.nesting"], "true");
  // No spec.ide: no IDE in the init, and /workspace/dev/ leads to port 8080.
  EXPECT_FALSE((*inst)->config.contains("environment.ROCKPOOL_IDE_PORT"));
  EXPECT_FALSE(specs::find_path(ws, "spec.ide.port") &&
               specs::int_at(ws, "spec.ide.port") != 8080);
  EXPECT_TRUE(ready("PortRoute", "dev-8080"))
      << boost::json::serialize(get("PortRoute", "dev-8080"));
  EXPECT_TRUE(ready("PortRoute", "dev-8081"));
  // The inner control plane does not answer yet: not Ready, and it says why.
  auto nh = get("NestedHost", "dev");
  EXPECT_EQ(condition(nh, "PreflightPassed"), "True/Passed");
  EXPECT_EQ(condition(nh, "InstanceRunning"), "True/Running");
  EXPECT_EQ(condition(nh, "RoutesReady"), "True/Ready");
  EXPECT_EQ(condition(nh, "InnerControlPlaneReady"), "False/NotAnswering");
  EXPECT_EQ(condition(nh, "Ready").substr(0, 5), "False");
  EXPECT_EQ(inner_.looked_at, "/workspace/dev/port/8080/api");
  // Now it answers, and its token is readable inside the instance.
  incus_.put_file("dev", "/var/lib/rockpool/token", "tok-123\n");
  {
    std::lock_guard lk(inner_.mu);
    inner_.health = {true, "answers", "v0.1.0", "inner", 3, 2, 1};
  }
  advance(1100ms);
  nh = get("NestedHost", "dev");
  EXPECT_TRUE(ready("NestedHost", "dev")) << boost::json::serialize(nh);
  EXPECT_EQ(inner_.seen_token, "tok-123");
  EXPECT_EQ(specs::int_at(nh, "status.inner.workspaces"), 3);
  EXPECT_EQ(specs::int_at(nh, "status.inner.readyWorkspaces"), 2);
  EXPECT_EQ(string_at(nh, "status.inner.version"), "v0.1.0");
  EXPECT_EQ(string_at(nh, "status.url"), "/workspace/dev/port/8080/app/");
  // An inner outage shows in the outer status at the next look (10 s).
  {
    std::lock_guard lk(inner_.mu);
    inner_.health = runtime::inner_health::down("connection refused");
  }
  advance(10100ms);
  EXPECT_EQ(condition(get("NestedHost", "dev"), "InnerControlPlaneReady"), "False/NotAnswering");
  // Delete: routes, workspace and instance go.
  ASSERT_TRUE(store_->remove("NestedHost", "dev", std::nullopt, {false, "test"}).ok());
  for (int i = 0; i < 30; ++i) advance(250ms);
  EXPECT_FALSE(store_->get("NestedHost", "dev").ok());
  EXPECT_FALSE(store_->get("Workspace", "dev").ok());
  EXPECT_FALSE(store_->get("PortRoute", "dev-8080").ok());
  EXPECT_EQ(incus_.instance_count(), 0u);
  // The template stays: others may use it.
  EXPECT_TRUE(store_->get("WorkspaceTemplate", "rockpool-nested-host").ok());
}

// The developer image serves an IDE: spec.ide.port becomes the owned
// workspace's IDE port (routed at /workspace/NAME/) and the init's
// ROCKPOOL_IDE_PORT; the exposed ports keep their own routes.
TEST_F(actor_runtime, a_nested_hosts_ide_port_is_its_workspaces_ide_and_its_inits_environment) {
  incus_.add_image("rockpool-nested-host");
  boot();
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"NestedHost","metadata":{"name":"dev"},)"
        R"("spec":{"innerNetwork":"10.124.0.0/24","ide":{"port":13337},)"
        R"("exposedPorts":[8080,8081,9080]}})");
  run();
  for (int i = 0; i < 20; ++i) advance(100ms);
  EXPECT_EQ(specs::int_at(get("Workspace", "dev"), "spec.ide.port"), 13337);
  auto inst = incus_.get_instance("dev");
  ASSERT_TRUE(inst.ok() && *inst);
  EXPECT_EQ((*inst)->config["environment.ROCKPOOL_IDE_PORT"], "13337");
  for (auto route : {"dev-8080", "dev-8081", "dev-9080"})
    EXPECT_TRUE(ready("PortRoute", route)) << boost::json::serialize(get("PortRoute", route));
}

TEST_F(actor_runtime,
       a_vm_nested_host_where_kvm_is_missing_gets_a_terminal_condition_naming_each_gap) {
  boot();
  auto host = R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Host","metadata":{"name":"local"}})";
  apply(host);
  auto obj = get("Host", "local");
  obj.as_object()["status"] = boost::json::parse(R"({"conditions":[
    {"type":"VirtualMachinesOperational","status":"False","message":"no qemu driver; remedy: install qemu"},
    {"type":"KVMPresent","status":"False","message":"/dev/kvm is missing; remedy: enable KVM"},
    {"type":"NestedKVM","status":"False","message":"nested KVM is off; remedy: modprobe kvm_intel nested=1"},
    {"type":"VhostVsock","status":"False","message":"/dev/vhost-vsock is missing; remedy: modprobe vhost_vsock"}]})");
  obj.as_object()["metadata"].as_object().erase("resourceVersion");
  ASSERT_TRUE(store_->replace_status(obj, {false, "test"}).ok());
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"NestedHost","metadata":{"name":"vm"},)"
        R"("spec":{"type":"virtual-machine","innerNetwork":"10.125.0.0/24"}})");
  for (int i = 0; i < 10; ++i) advance(100ms);
  auto nh = get("NestedHost", "vm");
  EXPECT_EQ(condition(nh, "PreflightPassed"), "False/HostCannotRunType");
  EXPECT_EQ(string_at(nh, "status.phase"), "Failed");
  std::string message;
  for (const auto& c : specs::find_path(nh, "status.conditions")->as_array())
    if (string_at(c, "type") == "PreflightPassed") message = string_at(c, "message");
  for (const char* gap : {"KVMPresent", "NestedKVM", "VhostVsock", "modprobe vhost_vsock"})
    EXPECT_NE(message.find(gap), std::string::npos) << gap << " in: " << message;
  EXPECT_FALSE(store_->get("Workspace", "vm").ok()) << "nothing is created for it";
  // With the type unset, the same host gives a container.
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"NestedHost","metadata":{"name":"ct"},)"
        R"("spec":{"image":"rockpool-tiny","innerNetwork":"10.126.0.0/24"}})");
  for (int i = 0; i < 10; ++i) advance(100ms);
  EXPECT_EQ(string_at(get("Workspace", "ct"), "spec.type"), "container");
  EXPECT_EQ(condition(get("NestedHost", "ct"), "PreflightPassed"), "True/Passed");
}

TEST_F(actor_runtime, a_users_edits_to_the_nested_host_template_win) {
  incus_.add_image("rockpool-nested-host");
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"WorkspaceTemplate",)"
        R"("metadata":{"name":"rockpool-nested-host"},)"
        R"("spec":{"image":"rockpool-nested-host","resources":{"cpu":2,"memory":"3Gi"}}})");
  boot();
  apply(nested_dev);
  for (int i = 0; i < 10; ++i) advance(100ms);
  auto tmpl = get("WorkspaceTemplate", "rockpool-nested-host");
  EXPECT_EQ(string_at(tmpl, "spec.resources.memory"), "3Gi");
  auto inst = incus_.get_instance("dev");
  ASSERT_TRUE(inst.ok() && *inst);
  EXPECT_EQ((*inst)->config["limits.memory"], "3GiB");
}

// ---- issue 23: sleeping when idle, waking on a request ----

namespace {
std::string instance_status(runtime::fake_incus& incus, const std::string& name) {
  auto i = incus.get_instance(name);
  return i.ok() && *i ? (*i)->status : std::string();
}
}  // namespace

TEST_F(actor_runtime, an_idle_workspace_sleeps_after_idle_after_and_a_request_wakes_it) {
  boot();
  apply(workspace("lazy", R"(,"lifecycle":{"idleAfter":"20s"})"));
  for (int i = 0; i < 10; ++i) advance(100ms);
  ASSERT_TRUE(ready("Workspace", "lazy")) << boost::json::serialize(get("Workspace", "lazy"));
  EXPECT_FALSE(string_at(get("Workspace", "lazy"), "status.lastActivityTime").empty());
  // A request at 10 s moves the deadline: awake at 25 s.
  advance(9000ms);
  activity_.touch("lazy");
  advance(15000ms);
  EXPECT_EQ(string_at(get("Workspace", "lazy"), "status.phase"), "Running");
  // 20 s after that request, it sleeps: instance stopped, route kept, spec untouched.
  advance(6000ms);
  auto ws = get("Workspace", "lazy");
  EXPECT_EQ(string_at(ws, "status.phase"), "Sleeping") << boost::json::serialize(ws);
  EXPECT_EQ(condition(ws, "Ready").substr(0, 14), "False/Sleeping");
  EXPECT_EQ(string_at(ws, "spec.state"), "Running") << "the user's spec is never rewritten";
  EXPECT_EQ(instance_status(incus_, "lazy"), "Stopped");
  EXPECT_TRUE(routes_.contains("rockpool-ws-lazy")) << "a request must still reach the gateway";
  // It stays asleep while nothing happens.
  advance(60000ms);
  EXPECT_EQ(string_at(get("Workspace", "lazy"), "status.phase"), "Sleeping");
  // A request through the gateway wakes it (here without waiting for it).
  ASSERT_TRUE(actors::wake_workspace(*store_, activity_, "lazy", 0ms).ok());
  for (int i = 0; i < 10; ++i) advance(100ms);
  ws = get("Workspace", "lazy");
  EXPECT_EQ(string_at(ws, "status.phase"), "Running") << boost::json::serialize(ws);
  EXPECT_EQ(instance_status(incus_, "lazy"), "Running");
  EXPECT_EQ(specs::int_at(ws, "status.restarts").value_or(0), 0) << "a wake is not a crash";
  // Awake again for another idleAfter from the wake.
  advance(15000ms);
  EXPECT_EQ(string_at(get("Workspace", "lazy"), "status.phase"), "Running");
}

// The wake annotation alone wakes a sleeping workspace (another rockpoold
// replica's gateway, or a client, may set it; this one saw no request).
TEST_F(actor_runtime, the_wake_annotation_alone_wakes_a_sleeping_workspace) {
  boot();
  apply(workspace("nap", R"(,"lifecycle":{"idleAfter":"10s"})"));
  run();
  advance(std::chrono::seconds(11));
  ASSERT_EQ(string_at(get("Workspace", "nap"), "status.phase"), "Sleeping");
  advance(std::chrono::seconds(5));
  auto patch = specs::parse_json(std::string(R"({"metadata":{"annotations":{")") +
                                 actors::wake_annotation + R"(":")" +
                                 specs::format_rfc3339(clock_.now()) + R"("}}})");
  ASSERT_TRUE(store_->merge_patch("Workspace", "nap", *patch, {false, "test"}).ok());
  run();
  EXPECT_EQ(string_at(get("Workspace", "nap"), "status.phase"), "Running");
  EXPECT_EQ(instance_status(incus_, "nap"), "Running");
}

// Crash safety of a sleep: the store says Sleeping before the instance is
// stopped, so a controller killed between the two finds it asleep (and
// stops it), not crashed, after its restart.
TEST_F(actor_runtime, a_workspace_is_marked_sleeping_before_its_instance_stops) {
  std::string phase_at_stop;
  incus_.on_operation([&](const std::string& op) {
    if (op == "stop") phase_at_stop = string_at(get("Workspace", "nap"), "status.phase");
  });
  boot();
  apply(workspace("nap", R"(,"lifecycle":{"idleAfter":"10s"})"));
  run();
  advance(std::chrono::seconds(11));
  EXPECT_EQ(phase_at_stop, "Sleeping");
  incus_.on_operation(nullptr);
  // As if killed right after that write: the instance still runs.
  ASSERT_TRUE(incus_.start_instance("nap").ok());
  shutdown();
  boot();
  run();
  auto ws = get("Workspace", "nap");
  EXPECT_EQ(string_at(ws, "status.phase"), "Sleeping") << boost::json::serialize(ws);
  EXPECT_EQ(instance_status(incus_, "nap"), "Stopped");
  EXPECT_EQ(specs::int_at(ws, "status.restarts").value_or(0), 0);
}

TEST_F(actor_runtime, open_websockets_and_exec_sessions_keep_a_workspace_awake) {
  boot();
  apply(workspace("busy", R"(,"lifecycle":{"idleAfter":"10s"})"));
  for (int i = 0; i < 10; ++i) advance(100ms);
  auto upstream = string_at(get("Workspace", "busy"), "status.upstream");
  ASSERT_FALSE(upstream.empty());
  routes_.set_in_flight({{upstream, 1}});  // a WebSocket through the IDE route
  advance(30000ms);
  EXPECT_EQ(string_at(get("Workspace", "busy"), "status.phase"), "Running");
  routes_.set_in_flight({});
  activity_.session_opened("busy");  // rpctl shell
  advance(30000ms);
  EXPECT_EQ(string_at(get("Workspace", "busy"), "status.phase"), "Running");
  activity_.session_closed("busy");
  advance(11000ms);
  EXPECT_EQ(string_at(get("Workspace", "busy"), "status.phase"), "Sleeping");
}

TEST_F(actor_runtime, last_activity_is_written_at_most_once_a_minute_and_stopped_is_off) {
  boot();
  apply(workspace("steady", R"(,"lifecycle":{"idleAfter":"1h"})"));
  for (int i = 0; i < 10; ++i) advance(100ms);
  auto first = string_at(get("Workspace", "steady"), "status.lastActivityTime");
  auto rv = string_at(get("Workspace", "steady"), "metadata.resourceVersion");
  for (int i = 0; i < 5; ++i) {  // busy for 50 s: no status write for it
    activity_.touch("steady");
    advance(10000ms);
  }
  EXPECT_EQ(string_at(get("Workspace", "steady"), "status.lastActivityTime"), first);
  activity_.touch("steady");
  advance(15000ms);  // a minute on: written
  EXPECT_NE(string_at(get("Workspace", "steady"), "status.lastActivityTime"), first);
  (void)rv;
  // spec.state Stopped is off, not asleep: nothing wakes it.
  apply(workspace("off", R"(,"state":"Stopped","lifecycle":{"idleAfter":"10s"})"));
  for (int i = 0; i < 10; ++i) advance(100ms);
  ASSERT_TRUE(actors::wake_workspace(*store_, activity_, "off", 0ms).ok());
  for (int i = 0; i < 10; ++i) advance(100ms);
  EXPECT_EQ(string_at(get("Workspace", "off"), "status.phase"), "Stopped");
}

TEST(workspace_lifecycle, durations_parse_as_idle_after_spells_them) {
  using std::chrono::seconds;
  EXPECT_EQ(actors::parse_duration("0"), seconds(0));
  EXPECT_EQ(actors::parse_duration(""), seconds(0));
  EXPECT_EQ(actors::parse_duration("20s"), seconds(20));
  EXPECT_EQ(actors::parse_duration("1h30m"), seconds(5400));
  EXPECT_EQ(actors::parse_duration("2m5s"), seconds(125));
  EXPECT_FALSE(actors::parse_duration("20"));
  EXPECT_FALSE(actors::parse_duration("5d"));
  EXPECT_FALSE(actors::parse_duration("m"));
}

namespace {
std::string snapshot_of(const std::string& name, const std::string& workspace) {
  return R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"WorkspaceSnapshot","metadata":{"name":")" +
         name + R"("},"spec":{"workspace":")" + workspace + R"("}})";
}
std::string restore_of(const std::string& workspace, const std::string& snapshot,
                       const std::string& id) {
  return R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":")" +
         workspace + R"("},"spec":{"image":"rockpool-tiny","restore":{"snapshot":")" + snapshot +
         R"(","id":")" + id + R"("}}})";
}
std::string file_in(runtime::fake_incus& incus, const std::string& instance,
                    const std::string& path) {
  auto f = incus.read_file(instance, path, 100);
  return f.ok() ? *f : "(none)";
}
}  // namespace

// Issue 23, snapshots: taken once with the container frozen and thawed; a
// restore brings the home and the root disk back, once per id, and is not
// counted as a crash; deleting the snapshot deletes its Incus snapshots.
TEST_F(actor_runtime, a_snapshot_is_taken_frozen_and_a_restore_brings_it_back_once_per_id) {
  boot();
  apply(workspace("demo"));
  run();
  ASSERT_TRUE(ready("Workspace", "demo"));
  incus_.put_file("demo", "/home/dev/proof", "home-1");
  incus_.put_file("demo", "/etc/proof", "root-1");
  apply(snapshot_of("s1", "demo"));
  run();
  auto snap = get("WorkspaceSnapshot", "s1");
  ASSERT_EQ(string_at(snap, "status.phase"), "Ready") << boost::json::serialize(snap);
  auto volume = string_at(get("Workspace", "demo"), "status.home.volume");
  EXPECT_EQ(string_at(snap, "status.homeVolume"), volume);
  EXPECT_EQ(string_at(snap, "status.instanceSnapshot"), "rockpool-s1");
  EXPECT_EQ(specs::int_at(snap, "status.instanceSnapshotBytes"), 6) << "root-1: the fake's size";
  auto journal = incus_.journal();
  auto at = [&](const std::string& op) {
    return std::find(journal.begin(), journal.end(), op) - journal.begin();
  };
  EXPECT_LT(at("freeze demo"), at("snapshot-create demo/rockpool-s1"));
  EXPECT_LT(at("snapshot-create demo/rockpool-s1"), at("snapshot-create " + volume + "/rockpool-s1"));
  EXPECT_LT(at("snapshot-create " + volume + "/rockpool-s1"), at("unfreeze demo"));
  EXPECT_EQ(instance_status(incus_, "demo"), "Running");
  EXPECT_EQ(specs::find_path(get("WorkspaceSnapshot", "s1"), "metadata.ownerReferences")
                ->as_array()
                .size(),
            1u);

  incus_.put_file("demo", "/home/dev/proof", "home-2");
  incus_.put_file("demo", "/etc/proof", "root-2");
  apply(restore_of("demo", "s1", "first"));
  run();
  auto ws = get("Workspace", "demo");
  EXPECT_EQ(string_at(ws, "status.restored.result"), "Restored") << boost::json::serialize(ws);
  EXPECT_EQ(file_in(incus_, "demo", "/home/dev/proof"), "home-1");
  EXPECT_EQ(file_in(incus_, "demo", "/etc/proof"), "root-1");
  EXPECT_TRUE(ready("Workspace", "demo"));
  EXPECT_EQ(specs::int_at(ws, "status.restarts").value_or(0), 0) << "a restore is not a crash";
  // The same id again (a re-apply, a drift sweep): nothing happens.
  incus_.put_file("demo", "/home/dev/proof", "home-3");
  apply(restore_of("demo", "s1", "first"));
  advance(1000ms);
  EXPECT_EQ(file_in(incus_, "demo", "/home/dev/proof"), "home-3");
  // A snapshot of another workspace is refused, once, and the workspace runs on.
  apply(workspace("other"));
  apply(snapshot_of("s-other", "other"));
  run();
  apply(restore_of("demo", "s-other", "second"));
  run();
  ws = get("Workspace", "demo");
  EXPECT_EQ(string_at(ws, "status.restored.result"), "Failed");
  EXPECT_NE(string_at(ws, "status.restored.message").find("of workspace \"other\""),
            std::string::npos);
  EXPECT_EQ(file_in(incus_, "demo", "/home/dev/proof"), "home-3");
  EXPECT_TRUE(ready("Workspace", "demo"));

  ASSERT_TRUE(store_->remove("WorkspaceSnapshot", "s1", std::nullopt, {false, "test"}).ok());
  run();
  EXPECT_FALSE(store_->get("WorkspaceSnapshot", "s1").ok());
  EXPECT_EQ(*incus_.list_snapshots(runtime::snapshot_of::instance, "demo"),
            std::vector<std::string>{});
  EXPECT_EQ(*incus_.list_snapshots(runtime::snapshot_of::volume, volume),
            std::vector<std::string>{});
}

// A clone: a new workspace with spec.source.snapshot starts with the
// snapshot's root disk and home, in a home of its own; the original is untouched.
TEST_F(actor_runtime, a_clone_starts_from_the_snapshots_instance_and_home) {
  boot();
  apply(workspace("demo"));
  run();
  incus_.put_file("demo", "/home/dev/proof", "home-1");
  incus_.put_file("demo", "/etc/proof", "root-1");
  apply(snapshot_of("s1", "demo"));
  run();
  incus_.put_file("demo", "/home/dev/proof", "home-2");
  apply(workspace("copy", R"(,"source":{"snapshot":"s1"})"));
  run();
  auto copy = get("Workspace", "copy");
  ASSERT_TRUE(ready("Workspace", "copy")) << boost::json::serialize(copy);
  EXPECT_EQ(file_in(incus_, "copy", "/home/dev/proof"), "home-1");
  EXPECT_EQ(file_in(incus_, "copy", "/etc/proof"), "root-1");
  EXPECT_NE(string_at(copy, "status.home.volume"),
            string_at(get("Workspace", "demo"), "status.home.volume"));
  incus_.put_file("copy", "/home/dev/proof", "the copy's own");
  EXPECT_EQ(file_in(incus_, "demo", "/home/dev/proof"), "home-2");
  auto reasons = event_reasons(*store_);
  EXPECT_EQ(std::count(reasons.begin(), reasons.end(), "HomeCloned"), 1);
  // A clone of a snapshot that does not exist says so and makes nothing.
  apply(workspace("nocopy", R"(,"source":{"snapshot":"nope"})"));
  run();
  EXPECT_EQ(condition(get("Workspace", "nocopy"), "Ready"), "False/SourceNotFound");
  EXPECT_FALSE(*incus_.get_instance("nocopy"));
}

// Scheduled snapshots: one each hour here, the newest two of them kept; one
// taken by hand is never pruned.
TEST_F(actor_runtime, scheduled_snapshots_are_taken_and_the_oldest_beyond_keep_pruned) {
  boot();
  apply(workspace("demo", R"(,"lifecycle":{"snapshots":{"schedule":"0 * * * *","keep":2}})"));
  apply(snapshot_of("by-hand", "demo"));
  run();
  auto names = [&] {
    std::vector<std::string> out;
    auto all = store_->list("WorkspaceSnapshot");
    for (const auto& s : all->items) out.push_back(string_at(s, "metadata.name"));
    return out;
  };
  EXPECT_EQ(names(), std::vector<std::string>{"by-hand"});
  // The clock starts at 14:13:20Z: firings at 15:00, 16:00, 17:00.
  for (int i = 0; i < 3 * 60; ++i) advance(std::chrono::minutes(1));
  EXPECT_EQ(names(), (std::vector<std::string>{"by-hand", "demo-auto-20260921-1600",
                                               "demo-auto-20260921-1700"}));
  for (const auto& n : names())
    EXPECT_EQ(string_at(get("WorkspaceSnapshot", n), "status.phase"), "Ready") << n;
  EXPECT_EQ(string_at(get("Workspace", "demo"), "status.snapshots.next"), "2026-09-21T18:00:00Z");
  auto volume = string_at(get("Workspace", "demo"), "status.home.volume");
  EXPECT_EQ(incus_.list_snapshots(runtime::snapshot_of::volume, volume)->size(), 3u);
}

// spec.retain: the snapshot outlives its workspace, copied out into an
// instance and volume of its own; a new workspace starts from it; deleting
// it deletes them. One without retain goes with the workspace.
TEST_F(actor_runtime, a_retained_snapshot_outlives_its_workspace_and_can_be_cloned) {
  boot();
  apply(workspace("demo"));
  run();
  incus_.put_file("demo", "/home/dev/proof", "home-1");
  incus_.put_file("demo", "/etc/proof", "root-1");
  apply(R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"WorkspaceSnapshot","metadata":{"name":"keep"},)"
        R"("spec":{"workspace":"demo","retain":true}})");
  apply(snapshot_of("drop", "demo"));
  run();
  ASSERT_EQ(string_at(get("WorkspaceSnapshot", "keep"), "status.phase"), "Ready");
  EXPECT_EQ(specs::find_path(get("WorkspaceSnapshot", "keep"), "metadata.ownerReferences"), nullptr);
  ASSERT_TRUE(store_->remove("Workspace", "demo", std::nullopt, {false, "test"}).ok());
  for (int i = 0; i < 20; ++i) advance(std::chrono::milliseconds(200));
  EXPECT_FALSE(store_->get("Workspace", "demo").ok());
  EXPECT_FALSE(store_->get("WorkspaceSnapshot", "drop").ok());
  auto keep = get("WorkspaceSnapshot", "keep");
  ASSERT_EQ(string_at(keep, "status.phase"), "Ready") << boost::json::serialize(keep);
  auto holder = string_at(keep, "status.instance");
  ASSERT_FALSE(holder.empty()) << boost::json::serialize(keep);
  EXPECT_EQ(instance_status(incus_, holder), "Stopped");
  EXPECT_FALSE(*incus_.get_instance("demo"));
  apply(workspace("again", R"(,"source":{"snapshot":"keep"})"));
  run();
  ASSERT_TRUE(ready("Workspace", "again")) << boost::json::serialize(get("Workspace", "again"));
  EXPECT_EQ(file_in(incus_, "again", "/home/dev/proof"), "home-1");
  EXPECT_EQ(file_in(incus_, "again", "/etc/proof"), "root-1");
  auto copy = string_at(keep, "status.homeVolume");
  ASSERT_TRUE(store_->remove("WorkspaceSnapshot", "keep", std::nullopt, {false, "test"}).ok());
  run();
  EXPECT_FALSE(store_->get("WorkspaceSnapshot", "keep").ok());
  EXPECT_FALSE(*incus_.get_instance(holder));
  EXPECT_FALSE(*incus_.get_volume(copy));
}

// A snapshot that fails after the freeze thaws the workspace and is retried;
// deleting the workspace takes its snapshots along.
TEST_F(actor_runtime, a_failed_snapshot_thaws_the_workspace_and_snapshots_go_with_it) {
  boot();
  apply(workspace("demo"));
  run();
  auto volume = string_at(get("Workspace", "demo"), "status.home.volume");
  incus_.fail_next("snapshot-create", 2);
  apply(snapshot_of("s1", "demo"));
  run();
  EXPECT_EQ(string_at(get("WorkspaceSnapshot", "s1"), "status.phase"), "Failed");
  EXPECT_EQ(instance_status(incus_, "demo"), "Running") << "never left frozen";
  for (int i = 0; i < 20 && string_at(get("WorkspaceSnapshot", "s1"), "status.phase") != "Ready";
       ++i)
    advance(1000ms);
  EXPECT_EQ(string_at(get("WorkspaceSnapshot", "s1"), "status.phase"), "Ready");
  ASSERT_TRUE(store_->remove("Workspace", "demo", std::nullopt, {false, "test"}).ok());
  for (int i = 0; i < 10; ++i) advance(100ms);
  EXPECT_FALSE(store_->get("Workspace", "demo").ok());
  EXPECT_FALSE(store_->get("WorkspaceSnapshot", "s1").ok()) << "collected with its owner";
  EXPECT_FALSE(incus_.list_snapshots(runtime::snapshot_of::volume, volume).ok()) << "no volume";
}

namespace {
// Moves the fake clock to an RFC 3339 time (forward only), running what falls due.
void advance_to(std::function<void(std::chrono::milliseconds)> advance,
                const test_support::fake_clock& clock, const std::string& when) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(specs::parse_rfc3339(when) -
                                                                 clock.now());
  ASSERT_GE(d.count(), 0) << when;
  advance(d);
}
}  // namespace

// Issue 23, schedules: a scheduled stop puts the workspace to sleep and a
// scheduled start wakes it, at local time in Europe/Berlin across the
// October 2026 change back to winter time; a stop waits while the workspace
// is in use, at most stopGrace.
TEST_F(actor_runtime, a_schedule_stops_and_starts_a_workspace_at_local_time_across_dst) {
  boot();
  apply(workspace("office", R"(,"lifecycle":{"schedule":[{"start":"0 8 * * *","stop":"0 19 * * *",)"
                            R"("timezone":"Europe/Berlin"}]})"));
  run();
  ASSERT_TRUE(ready("Workspace", "office"));
  auto spec = boost::json::serialize(*specs::find_path(get("Workspace", "office"), "spec"));
  auto step = [this](std::chrono::milliseconds d) { advance(d); };
  // (The controller was "down" for a month: only the latest firing counts.)
  advance_to(step, clock_, "2026-10-24T16:59:00Z");
  auto ws = get("Workspace", "office");
  EXPECT_EQ(string_at(ws, "status.phase"), "Running") << boost::json::serialize(ws);
  EXPECT_EQ(string_at(ws, "status.schedule.nextStop"), "2026-10-24T17:00:00Z");  // 19:00 CEST
  advance_to(step, clock_, "2026-10-24T17:00:30Z");
  ws = get("Workspace", "office");
  EXPECT_EQ(string_at(ws, "status.phase"), "Sleeping") << boost::json::serialize(ws);
  EXPECT_EQ(string_at(ws, "status.sleepReason"), "Schedule");
  EXPECT_EQ(instance_status(incus_, "office"), "Stopped");
  EXPECT_EQ(boost::json::serialize(*specs::find_path(ws, "spec")), spec) << "spec untouched";
  // 08:00 on the 25th is CET (UTC+1) again: 07:00Z, not 06:00Z.
  advance_to(step, clock_, "2026-10-25T06:30:00Z");
  EXPECT_EQ(string_at(get("Workspace", "office"), "status.phase"), "Sleeping");
  advance_to(step, clock_, "2026-10-25T07:00:30Z");
  ws = get("Workspace", "office");
  EXPECT_EQ(string_at(ws, "status.phase"), "Running") << boost::json::serialize(ws);
  EXPECT_EQ(instance_status(incus_, "office"), "Running");
  EXPECT_EQ(specs::int_at(ws, "status.restarts").value_or(0), 0);
  auto reasons = event_reasons(*store_);
  EXPECT_EQ(std::count(reasons.begin(), reasons.end(), "ScheduledStop"), 1);
  EXPECT_EQ(std::count(reasons.begin(), reasons.end(), "ScheduledStart"), 1);

  // In use at 19:00 (CET now: 18:00Z): the stop waits; once quiet, it happens.
  activity_.session_opened("office");
  advance_to(step, clock_, "2026-10-25T18:00:30Z");
  EXPECT_EQ(string_at(get("Workspace", "office"), "status.phase"), "Running");
  reasons = event_reasons(*store_);
  EXPECT_EQ(std::count(reasons.begin(), reasons.end(), "StopDeferred"), 1);
  advance(std::chrono::minutes(5));
  EXPECT_EQ(string_at(get("Workspace", "office"), "status.phase"), "Running");
  activity_.session_closed("office");
  advance(std::chrono::seconds(15));
  EXPECT_EQ(string_at(get("Workspace", "office"), "status.phase"), "Sleeping");
  // Still in use when stopGrace (default 15 min) runs out: it stops anyway.
  advance_to(step, clock_, "2026-10-26T07:00:30Z");
  ASSERT_EQ(string_at(get("Workspace", "office"), "status.phase"), "Running");
  activity_.session_opened("office");
  advance_to(step, clock_, "2026-10-26T18:10:00Z");
  EXPECT_EQ(string_at(get("Workspace", "office"), "status.phase"), "Running");
  advance_to(step, clock_, "2026-10-26T18:15:30Z");
  EXPECT_EQ(string_at(get("Workspace", "office"), "status.phase"), "Sleeping");
  activity_.session_closed("office");
}

TEST(workspace_rules, a_schedule_that_does_not_parse_is_refused_with_its_field) {
  specs::validation_context ctx;
  ctx.rules = &actors::kind_rules();
  auto doc = specs::parse_json(
      R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"w"},)"
      R"("spec":{"image":"rockpool-tiny","lifecycle":{"schedule":[{"start":"0 8 * * *"},)"
      R"({"stop":"0 25 * * *"},{"start":"0 8 * * *","timezone":"Nowhere/Land"},{}]}}})");
  ASSERT_TRUE(doc.ok());
  auto errors = specs::validate_object(*doc, ctx);
  std::string all;
  for (const auto& e : errors) all += e.field + ": " + e.message + "\n";
  EXPECT_NE(all.find("spec.lifecycle.schedule[1].stop: the hour field"), std::string::npos) << all;
  EXPECT_NE(all.find("spec.lifecycle.schedule[2].start: unknown time zone"), std::string::npos)
      << all;
  EXPECT_NE(all.find("spec.lifecycle.schedule[3]: needs start, stop or both"), std::string::npos)
      << all;
  EXPECT_EQ(all.find("schedule[0]"), std::string::npos) << all;
}
