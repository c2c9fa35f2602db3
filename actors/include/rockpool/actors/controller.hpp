#pragma once

#include "rockpool/actors/interfaces.hpp"
#include "rockpool/actors/reconciler.hpp"
#include "rockpool/specs/kv_backend.hpp"
#include "rockpool/specs/prometheus.hpp"

#include <caf/fwd.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>

namespace rockpool::actors {

struct controller_options {
  /// First retry delay after a failed pass; doubles per consecutive failure.
  std::chrono::milliseconds backoff_base{50};
  /// Largest retry delay.
  std::chrono::milliseconds backoff_cap{60000};
  /// Every object is re-observed this often; 0 disables the sweep.
  std::chrono::milliseconds sweep_interval{30000};
  /// Passes running at once (the bound on in-flight Incus operations).
  std::size_t workers = 32;
  /// Workers run on their own threads (blocking I/O off the scheduler).
  /// Tests with the fake runtime and CAF's test coordinator set this false.
  bool detached_workers = true;
  /// Event batches a hub subscriber may have unacknowledged before it is cut off.
  std::size_t subscriber_max_in_flight = 64;
  /// Recent events the hub keeps for subscribers that join from a revision.
  std::size_t hub_replay = 1024;
  /// Seed of the retry jitter; 0 seeds from the system.
  std::uint64_t jitter_seed = 0;
};

/// Counters, readable from any thread.
struct controller_stats {
  std::atomic<std::uint64_t> passes{0};
  std::atomic<std::uint64_t> failed_passes{0};
  std::atomic<std::uint64_t> reconciler_restarts{0};
  std::atomic<std::uint64_t> live_reconcilers{0};
  std::atomic<std::uint64_t> subscribers_cut_off{0};

  std::atomic<std::uint64_t> queue_depth{0};  // passes waiting for a worker

  std::uint64_t passes_for(const std::string& key) const;
  void count_pass(const std::string& key);
  /// A pass of kind ended with outcome after seconds (a failure, with why).
  void count_result(const std::string& kind, const std::string& outcome, double seconds,
                    std::optional<specs::reason> why = std::nullopt);
  void observe_queue_wait(double seconds) { queue_wait_.observe(seconds); }
  /// The control loop's metrics, named after controller-runtime's
  /// (docs/operations.md, "Metrics"), in Prometheus text.
  void render(std::string& out) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> by_key_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> results_;  // kind, outcome
  std::map<std::pair<std::string, std::string>, std::uint64_t> errors_;   // kind, reason
  std::map<std::string, specs::histogram> pass_time_;                     // by kind
  specs::histogram queue_wait_;
};

/// The actor runtime (actors/src/loop): a watch hub fed by committed store
/// events, a manager keeping one reconciler actor per object of a registered
/// kind, and a bounded pool of workers running the (blocking) passes.
class controller {
 public:
  /// REQUIRES: ctx's members and kinds outlive the controller.
  controller(caf::actor_system& sys, reconcile_context ctx, const kind_registry& kinds,
             controller_options options = {});
  ~controller();
  controller(const controller&) = delete;
  controller& operator=(const controller&) = delete;

  /// Creates the kinds' bootstrap objects where absent, then spawns the
  /// actors; the manager lists the store and reconciles everything.
  void start();
  /// Stops every actor.
  void stop();
  /// Hands committed events to the hub. Thread-safe; wire it as the backend's
  /// commit listener.
  void publish(std::vector<specs::kv_event> events);

  const controller_stats& stats() const { return *stats_; }
  /// The watch hub (tests subscribe to it).
  const hub_actor& hub() const;
  /// The manager, as the Incus event follower talks to it.
  instance_listener manager() const;
  /// Kills kind/name's reconciler actor (tests of supervision).
  void kill_reconciler(const std::string& key);
  /// Asks every reconciler to look again (as the drift sweep does).
  void poke_all();
  /// Asks kind/name's reconciler to look again now (e.g. an Incus event about it).
  void poke(const std::string& key);

 private:
  void create_bootstrap_objects();
  struct impl;
  std::unique_ptr<impl> impl_;
  std::shared_ptr<controller_stats> stats_;
};

/// Delay before retry number `attempt` (1-based): base * 2^(attempt-1), capped,
/// then scaled by a jitter factor in [0.8, 1.2) taken from jitter01 in [0, 1).
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                        std::chrono::milliseconds cap, double jitter01);

}  // namespace rockpool::actors
