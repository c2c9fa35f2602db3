// The controller facade: spawns the loop's actors and is the non-actor
// code's handle on them.
#include "loop/loop.hpp"

#include "rockpool/specs/validation.hpp"

#include <spdlog/spdlog.h>

namespace rockpool::actors {

std::uint64_t controller_stats::passes_for(const std::string& key) const {
  std::lock_guard lk(mu_);
  auto it = by_key_.find(key);
  return it == by_key_.end() ? 0 : it->second;
}

void controller_stats::count_pass(const std::string& key) {
  ++passes;
  std::lock_guard lk(mu_);
  ++by_key_[key];
}

void controller_stats::count_result(const std::string& kind, const std::string& outcome,
                                    double seconds, std::optional<specs::reason> why) {
  std::lock_guard lk(mu_);
  ++results_[{kind, outcome}];
  if (outcome == "failed") ++errors_[{kind, why ? specs::reason_name(*why) : "Unknown"}];
  pass_time_[kind].observe(seconds);
}

void controller_stats::render(std::string& out) const {
  std::lock_guard lk(mu_);
  specs::append_header(out, "rockpool_reconcile_total",
                       "Reconcile passes by kind and result (converged, requeue, failed, "
                       "terminal, gone).",
                       "counter");
  for (const auto& [key, n] : results_)
    out += "rockpool_reconcile_total{kind=\"" + key.first + "\",result=\"" + key.second + "\"} " +
           std::to_string(n) + "\n";
  specs::append_header(out, "rockpool_reconcile_errors_total",
                       "Reconcile passes that failed (retried with backoff), by kind and by the "
                       "reason of the error that failed them (Unknown: the pass gave only words).",
                       "counter");
  for (const auto& [key, n] : errors_)
    out += "rockpool_reconcile_errors_total{kind=\"" + key.first + "\",reason=\"" + key.second +
           "\"} " + std::to_string(n) + "\n";
  specs::append_header(out, "rockpool_reconcile_time_seconds", "Time of one reconcile pass.",
                       "histogram");
  for (const auto& [kind, h] : pass_time_)
    h.render(out, "rockpool_reconcile_time_seconds", "kind=\"" + kind + "\"");
  specs::append_metric(out, "rockpool_workqueue_depth", "Passes waiting for a worker.", "gauge",
                       queue_depth.load());
  specs::append_header(out, "rockpool_workqueue_queue_duration_seconds",
                       "How long a pass waited for a worker.", "histogram");
  queue_wait_.render(out, "rockpool_workqueue_queue_duration_seconds", "");
}

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                        std::chrono::milliseconds cap, double jitter01) {
  double d = static_cast<double>(base.count());
  for (int i = 1; i < attempt && d < static_cast<double>(cap.count()); ++i) d *= 2;
  d = std::min(d, static_cast<double>(cap.count()));
  d *= 0.8 + 0.4 * jitter01;
  return std::chrono::milliseconds(static_cast<long long>(d));
}

struct controller::impl {
  caf::actor_system& sys;
  reconcile_context ctx;
  const kind_registry& kinds;
  controller_options options;
  hub_actor hub;
  work_actor queue;
  manager_actor manager;
};

controller::controller(caf::actor_system& sys, reconcile_context ctx, const kind_registry& kinds,
                       controller_options options)
    : impl_(std::make_unique<impl>(impl{sys, ctx, kinds, options, {}, {}, {}})),
      stats_(std::make_shared<controller_stats>()) {}

controller::~controller() {
  stop();
}

void controller::start() {
  auto& i = *impl_;
  create_bootstrap_objects();
  i.hub = loop::spawn_watch_hub(i.sys, i.ctx.store.revision(), i.options, stats_);
  auto* ctx = &i.ctx;
  const auto* kinds = &i.kinds;
  i.queue = loop::spawn_work_queue(
      i.sys, i.options.workers,
      [&sys = i.sys, ctx, kinds, stats = stats_, detached = i.options.detached_workers] {
        return loop::spawn_worker(sys, detached, ctx, kinds, stats);
      },
      stats_);
  i.manager = loop::spawn_manager(i.sys, &i.ctx.store, kinds, i.hub, i.queue, i.options, stats_);
}

void controller::create_bootstrap_objects() {
  for (auto& obj : impl_->kinds.bootstrap_objects()) {
    auto key = specs::object_key(obj);
    auto r = impl_->ctx.store.create(std::move(obj), {false, "rockpoold"});
    if (!r.ok() && r.err().why != specs::reason::already_exists)
      spdlog::warn("cannot create {}: {}", key, r.err().message);
  }
}

void controller::stop() {
  auto& i = *impl_;
  auto stop = [](auto& a) {
    if (a) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    a = std::remove_reference_t<decltype(a)>{};
  };
  stop(i.manager);
  stop(i.queue);
  stop(i.hub);
}

void controller::publish(std::vector<specs::kv_event> events) {
  if (impl_->hub) caf::anon_send(impl_->hub, publish_atom::value, std::move(events));
}

const hub_actor& controller::hub() const {
  return impl_->hub;
}
instance_listener controller::manager() const {
  return caf::actor_cast<instance_listener>(impl_->manager);
}

void controller::kill_reconciler(const std::string& key) {
  caf::anon_send(impl_->manager, kill_atom::value, key);
}

void controller::poke_all() {
  caf::anon_send(impl_->manager, poke_atom::value);
}

void controller::poke(const std::string& key) {
  caf::anon_send(impl_->manager, poke_atom::value, key);
}

}  // namespace rockpool::actors
