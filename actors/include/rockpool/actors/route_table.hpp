#pragma once

#include "rockpool/actors/interfaces.hpp"
#include "rockpool/runtime/caddy.hpp"
#include "rockpool/runtime/routes.hpp"

#include <caf/fwd.hpp>

#include <atomic>
#include <memory>

namespace rockpool::actors {

struct route_table_stats {
  std::atomic<std::uint64_t> loads{0};          // config loads sent to Caddy (one per batch)
  std::atomic<std::uint64_t> repairs{0};        // drift found and repaired
  std::atomic<std::uint64_t> load_failures{0};  // loads Caddy refused or did not answer
};

/// Spawns the one actor that owns Caddy's HTTP app. It keeps the desired
/// routes; a change starts a batch_window timer, and every change that arrives
/// before it fires goes to Caddy in one load, after which each change's sender
/// gets its answer ("" or Caddy's error). Every drift_check it compares Caddy's
/// live app with what it last loaded and reloads on any difference (Caddy
/// restarted empty, a route edited or removed by hand). Its loads block, so in
/// production it runs detached (a thread of its own); tests with CAF's test
/// coordinator pass detached = false.
///
/// `inherited`: the routes a running Caddy already had at start-up
/// (runtime::routes_of_http_app). They stay desired, so the first load keeps
/// them and a restarted rockpoold never takes a route away even briefly,
/// until an upsert or remove of their id claims them; those still unclaimed
/// after options.inherit_grace (their objects were deleted meanwhile) go.
///
/// Its messages: route_table_actor (interfaces.hpp). Its own timers load a
/// batch, check for drift and drop inherited routes not claimed in time.
route_table_actor spawn_route_table(caf::actor_system& sys,
                                    std::shared_ptr<runtime::caddy_admin> admin,
                                    runtime::caddy_options options,
                                    std::shared_ptr<route_table_stats> stats, bool detached = true,
                                    std::vector<runtime::route> inherited = {});

/// The route table as reconcile passes use it: each call is a request to the
/// actor, waited for on the caller's thread (a worker, never the scheduler).
/// answers() asks the actor whether the route is loaded, then GETs it through
/// Caddy on the caller's thread. Thread safety: thread-safe.
class actor_route_table final : public runtime::route_table {
 public:
  /// Spawns the actor. REQUIRES: sys outlives this object.
  actor_route_table(caf::actor_system& sys, std::shared_ptr<runtime::caddy_admin> admin,
                    runtime::caddy_options options, std::vector<runtime::route> inherited = {});
  ~actor_route_table() override;

  specs::status upsert(const runtime::route& r) override;
  specs::status remove(const std::string& id) override;
  specs::result<bool> answers(const runtime::route& r) override;
  specs::result<runtime::probe_answer> probe(const runtime::route& r,
                                             const std::string& sub) override;
  /// Asks Caddy on the caller's thread.
  specs::result<std::map<std::string, int>> in_flight() override;
  /// Loads the config now (start-up: the control-plane routes).
  specs::status sync();
  /// Stops the actor.
  void stop();
  const route_table_stats& stats() const { return *stats_; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::shared_ptr<route_table_stats> stats_;
};

}  // namespace rockpool::actors
