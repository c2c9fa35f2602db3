// The route table actor under CAF's test coordinator, against an in-memory
// Caddy admin: batching, answers to every sender, failures, drift repair.
// Time moves only when the test advances CAF's clock.
#include "rockpool/actors/route_table.hpp"
#include "rockpool/actors/interfaces.hpp"
#include "rockpool/specs/codec.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

using namespace rockpool;
using namespace std::chrono_literals;

namespace {

class memory_caddy final : public runtime::caddy_admin {
 public:
  specs::status load(const std::string& app) override {
    loads.push_back(app);
    if (fail_loads > 0) {
      --fail_loads;
      return specs::make_error(specs::reason::unavailable, "Caddy admin API: connection refused");
    }
    live = app;
    return specs::done{};
  }
  specs::result<std::string> live_http_app() override { return live; }
  specs::result<bool> answers(const std::string&) override { return true; }
  specs::result<runtime::probe_answer> get(const std::string&) override {
    return runtime::probe_answer{200, "alive"};
  }

  std::vector<std::string> loads;
  std::string live = "null";
  int fail_loads = 0;
};

// The @ids of the workspace server's routes, in order.
std::vector<std::string> route_ids(const std::string& app) {
  std::vector<std::string> ids;
  auto v = specs::parse_json(app);
  if (!v.ok()) return ids;
  const auto* routes = specs::find_path(*v, "servers.rockpool-workspaces.routes");
  if (routes && routes->is_array())
    for (const auto& r : routes->get_array()) ids.push_back(specs::string_at(r, "@id"));
  return ids;
}

class route_table_actor : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.set("scheduler.policy", caf::atom("testing"));
    cfg_.set("logger.file-verbosity", caf::atom("quiet"));
    cfg_.set("logger.console-verbosity", caf::atom("quiet"));
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    options_.batch_window = 50ms;
    options_.drift_check = 2000ms;
  }
  void TearDown() override {
    caf::anon_send_exit(table_, caf::exit_reason::user_shutdown);
    run();
  }
  void boot() {
    table_ = actors::spawn_route_table(*sys_, caddy_, options_, stats_, false);
    run();
  }
  caf::scheduler::test_coordinator& sched() {
    return dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
  }
  void run() { sched().run(); }
  void advance(std::chrono::milliseconds d) {
    sched().advance_time(d);
    run();
  }
  // Sends upsert from a client actor; its answer lands in answers_.
  void upsert(const std::string& id, const std::string& prefix, const std::string& upstream) {
    auto answers = answers_;
    auto table = table_;
    sys_->spawn([=](caf::event_based_actor* self) {
      self->request(table, caf::infinite, actors::upsert_atom::value, id, prefix, upstream, false)
          .then([=](const std::string& error) { answers->push_back(error); });
    });
    run();
  }
  void remove(const std::string& id) {
    auto answers = answers_;
    auto table = table_;
    sys_->spawn([=](caf::event_based_actor* self) {
      self->request(table, caf::infinite, actors::remove_atom::value, id)
          .then([=](const std::string& error) { answers->push_back(error); });
    });
    run();
  }
  bool applied(const std::string& id, const std::string& prefix, const std::string& upstream) {
    auto result = std::make_shared<bool>(false);
    auto table = table_;
    sys_->spawn([=](caf::event_based_actor* self) {
      self->request(table, caf::infinite, actors::applied_atom::value, id, prefix, upstream, false)
          .then([=](bool b) { *result = b; });
    });
    run();
    return *result;
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  runtime::caddy_options options_;
  std::shared_ptr<memory_caddy> caddy_ = std::make_shared<memory_caddy>();
  std::shared_ptr<actors::route_table_stats> stats_ = std::make_shared<actors::route_table_stats>();
  std::shared_ptr<std::vector<std::string>> answers_ = std::make_shared<std::vector<std::string>>();
  actors::route_table_actor table_;
};

}  // namespace

TEST_F(route_table_actor, changes_within_the_window_go_to_caddy_in_one_load) {
  boot();
  for (int i = 0; i < 100; ++i)
    upsert("rockpool-ws-w" + std::to_string(i), "/workspace/w" + std::to_string(i) + "/",
           "127.0.0.1:" + std::to_string(20000 + i));
  run();
  EXPECT_TRUE(caddy_->loads.empty()) << "nothing is sent before the window closes";
  EXPECT_TRUE(answers_->empty()) << "nobody is answered before their change is in Caddy";
  advance(50ms);
  ASSERT_EQ(caddy_->loads.size(), 1u);
  EXPECT_EQ(answers_->size(), 100u);
  for (const auto& a : *answers_) EXPECT_EQ(a, "");
  EXPECT_EQ(route_ids(caddy_->live).size(), 102u);  // 100 + the slash redirect + the 404 catch-all
  EXPECT_EQ(stats_->loads, 1u);
}

TEST_F(route_table_actor, port_routes_come_before_the_ide_route) {
  boot();
  upsert("rockpool-ws-demo", "/workspace/demo/", "127.0.0.1:20000");
  upsert("rockpool-pr-demo-9000", "/workspace/demo/port/9000/", "127.0.0.1:20001");
  advance(50ms);
  EXPECT_EQ(route_ids(caddy_->live),
            (std::vector<std::string>{"rockpool-pr-demo-9000", "rockpool-ws-demo",
                                      "rockpool-workspace-slash", "rockpool-not-found"}));
}

TEST_F(route_table_actor, an_unchanged_route_sends_nothing_and_is_answered_at_once) {
  boot();
  upsert("rockpool-ws-demo", "/workspace/demo/", "127.0.0.1:20000");
  advance(50ms);
  upsert("rockpool-ws-demo", "/workspace/demo/", "127.0.0.1:20000");
  remove("rockpool-ws-absent");
  run();
  EXPECT_EQ(caddy_->loads.size(), 1u);
  EXPECT_EQ(answers_->size(), 3u);
}

TEST_F(route_table_actor, applied_only_once_caddy_has_the_route) {
  boot();
  upsert("rockpool-ws-demo", "/workspace/demo/", "127.0.0.1:20000");
  run();
  EXPECT_FALSE(applied("rockpool-ws-demo", "/workspace/demo/", "127.0.0.1:20000"));
  advance(50ms);
  EXPECT_TRUE(applied("rockpool-ws-demo", "/workspace/demo/", "127.0.0.1:20000"));
  EXPECT_FALSE(applied("rockpool-ws-demo", "/workspace/demo/", "127.0.0.1:29999"))
      << "another upstream is not this route";
}

TEST_F(route_table_actor, a_failed_load_answers_every_sender_with_caddys_error) {
  caddy_->fail_loads = 1;
  boot();
  upsert("rockpool-ws-a", "/workspace/a/", "127.0.0.1:20000");
  upsert("rockpool-ws-b", "/workspace/b/", "127.0.0.1:20001");
  advance(50ms);
  ASSERT_EQ(answers_->size(), 2u);
  for (const auto& a : *answers_) EXPECT_EQ(a, "Caddy admin API: connection refused");
  EXPECT_FALSE(applied("rockpool-ws-a", "/workspace/a/", "127.0.0.1:20000"));
  // The callers retry (as reconcilers do): the next batch carries both.
  upsert("rockpool-ws-a", "/workspace/a/", "127.0.0.1:20000");
  advance(50ms);
  EXPECT_EQ(answers_->back(), "");
  EXPECT_EQ(route_ids(caddy_->live).size(), 4u);  // a, b, the slash redirect, the 404
}

TEST_F(route_table_actor, drift_is_repaired_and_no_drift_sends_nothing) {
  boot();
  upsert("rockpool-ws-demo", "/workspace/demo/", "127.0.0.1:20000");
  advance(50ms);
  auto loaded = caddy_->live;
  advance(2000ms);
  advance(2000ms);
  EXPECT_EQ(caddy_->loads.size(), 1u) << "an unchanged Caddy is left alone";
  EXPECT_EQ(stats_->repairs, 0u);
  caddy_->live = "null";  // Caddy restarted with an empty config
  advance(2000ms);
  EXPECT_EQ(stats_->repairs, 1u);
  EXPECT_EQ(caddy_->live, loaded);
  // A route removed by hand (the same app, one route fewer).
  auto v = specs::parse_json(loaded);
  v->as_object()["servers"]
      .as_object()["rockpool-workspaces"]
      .as_object()["routes"]
      .as_array()
      .erase(v->as_object()["servers"]
                 .as_object()["rockpool-workspaces"]
                 .as_object()["routes"]
                 .as_array()
                 .begin());
  caddy_->live = boost::json::serialize(*v);
  advance(2000ms);
  EXPECT_EQ(stats_->repairs, 2u);
  EXPECT_EQ(caddy_->live, loaded);
}

TEST_F(route_table_actor, caddy_down_at_start_gets_its_config_once_it_answers) {
  caddy_->fail_loads = 3;
  boot();
  auto answers = answers_;
  auto table = table_;
  sys_->spawn([=](caf::event_based_actor* self) {
    self->request(table, caf::infinite, actors::sync_atom::value)
        .then([=](const std::string& error) { answers->push_back(error); });
  });
  run();
  advance(0ms);
  ASSERT_EQ(answers_->size(), 1u);
  EXPECT_NE(answers_->front(), "");
  advance(2000ms);  // a drift check: never loaded, try again (fails)
  advance(2000ms);  // fails
  EXPECT_EQ(caddy_->live, "null");
  advance(2000ms);  // Caddy answers
  EXPECT_NE(caddy_->live, "null");
  EXPECT_EQ(route_ids(caddy_->live),
            (std::vector<std::string>{"rockpool-workspace-slash", "rockpool-not-found"}));
}

// A restarted rockpoold (issue 26, upgrades): the routes Caddy already serves
// are read back, kept through the first load, claimed by their reconcilers,
// and those nobody claims within the grace (objects deleted meanwhile) go.
TEST_F(route_table_actor, routes_found_in_caddy_stay_until_claimed_and_unclaimed_ones_go_later) {
  runtime::caddy_options before = options_;
  before.gateway = "127.0.0.1:40000";
  options_.gateway = before.gateway;
  std::map<std::string, runtime::route> served = {
      {"rockpool-ws-a", {"rockpool-ws-a", "/workspace/a/", "127.0.0.1:20000", false}},
      {"rockpool-ws-gone", {"rockpool-ws-gone", "/workspace/gone/", "127.0.0.1:20001", false}},
      {"rockpool-pr-a-9000",
       {"rockpool-pr-a-9000", "/workspace/a/port/9000/", "127.0.0.1:20002", true}}};
  auto live = runtime::render_http_app(before, served);
  auto found = runtime::routes_of_http_app(live);
  ASSERT_EQ(found.size(), 3u);
  for (const auto& r : found) {  // read back exactly
    const auto& want = served.at(r.id);
    EXPECT_EQ(r.path_prefix, want.path_prefix);
    EXPECT_EQ(r.upstream, want.upstream);
    EXPECT_EQ(r.open, want.open) << r.id;
  }

  options_.inherit_grace = 60000ms;
  caddy_->live = live;
  table_ = actors::spawn_route_table(*sys_, caddy_, options_, stats_, false, found);
  run();
  auto table = table_;
  sys_->spawn([=](caf::event_based_actor* self) {
    self->request(table, caf::infinite, actors::sync_atom::value).then([](const std::string&) {});
  });
  run();
  advance(0ms);
  ASSERT_EQ(caddy_->loads.size(), 1u);
  EXPECT_EQ(caddy_->loads[0], live) << "the start-up load changes nothing";
  upsert("rockpool-ws-a", "/workspace/a/", "127.0.0.1:20000");
  EXPECT_EQ(caddy_->loads.size(), 1u) << "claiming an unchanged route sends nothing";
  advance(59000ms);
  EXPECT_EQ(route_ids(caddy_->live).size(), 6u) << "nothing goes before the grace ends";
  advance(1000ms);
  advance(50ms);
  auto ids = route_ids(caddy_->live);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "rockpool-ws-gone"), 0) << "unclaimed: gone";
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "rockpool-ws-a"), 1) << "claimed: kept";
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "rockpool-pr-a-9000"), 0);
}
