#include "loop/loop.hpp"

#include <random>

namespace rockpool::actors::loop {

namespace {

struct reconciler_state {
  std::string kind, name;
  bool busy = false;
  bool pending = false;
  int attempt = 0;
  std::uint64_t retry_token = 0;
  std::int64_t observed_generation = -1;  // generation the last pass read
  bool pending_forced = false;            // a pending poke that must run regardless
  std::int64_t pending_generation = -1;   // highest generation among pending pokes
  std::uint64_t rng = 0;                  // splitmix64 state: 8 bytes, not 2.5 KiB of mt19937
};

// A uniform double in [0, 1) from splitmix64.
double next_unit(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

using reconciler_self = reconciler_handle::stateful_pointer<reconciler_state>;

void schedule_retry(reconciler_self self, std::chrono::milliseconds after) {
  auto token = ++self->state.retry_token;
  self->delayed_send(self, after, retry_atom::value, token);
}

// Books a pass's outcome: backoff on failure, a timer on requeue, nothing
// more on convergence or a terminal error, the end on gone.
void on_result(reconciler_self self, const controller_options& options, const pass_result& r) {
  auto& s = self->state;
  if (r.generation >= 0) s.observed_generation = r.generation;
  // Pokes that arrived during the pass for generations it already read are satisfied.
  if (s.pending && !s.pending_forced && s.pending_generation <= s.observed_generation)
    s.pending = false;
  switch (r.what) {
    case pass_result::outcome::converged:
    case pass_result::outcome::terminal:
      s.attempt = 0;
      ++s.retry_token;  // cancels a pending retry
      break;
    case pass_result::outcome::requeue:
      s.attempt = 0;
      schedule_retry(self, r.after);
      break;
    case pass_result::outcome::failed:
      ++s.attempt;
      schedule_retry(self, backoff_delay(s.attempt, options.backoff_base, options.backoff_cap,
                                         next_unit(s.rng)));
      break;
    case pass_result::outcome::gone:
      self->quit();
      break;
  }
}

// Asks the work queue for a pass; when it ends, runs the one pending pass, if any.
void start_pass(reconciler_self self, const work_actor& queue, const controller_options& options) {
  auto& s = self->state;
  s.busy = true;
  s.pending = false;
  s.pending_forced = false;
  s.pending_generation = -1;
  auto done = [self, queue, options](const pass_result& r) {
    self->state.busy = false;
    on_result(self, options, r);
    if (self->state.pending && r.what != pass_result::outcome::gone)
      start_pass(self, queue, options);
  };
  self->request(queue, caf::infinite, run_atom::value, s.kind, s.name)
      .then([done](pass_result r) { done(r); },
            [done](caf::error& e) {
              done(pass_result{pass_result::outcome::failed, caf::to_string(e), {}});
            });
}

// A pass now, or (while one runs) at most one more; generation < 0 means
// "look again regardless" (sweeps, retries, related objects).
void trigger(reconciler_self self, const work_actor& queue, const controller_options& options,
             std::int64_t generation) {
  auto& s = self->state;
  if (!s.busy) {
    start_pass(self, queue, options);
    return;
  }
  s.pending = true;  // coalesces: at most one more pass
  if (generation < 0)
    s.pending_forced = true;
  else
    s.pending_generation = std::max(s.pending_generation, generation);
}

reconciler_handle::behavior_type reconciler_actor(reconciler_self self, std::string kind,
                                                  std::string name, work_actor queue,
                                                  controller_options options) {
  auto& st = self->state;
  st.kind = std::move(kind);
  st.name = std::move(name);
  // One random_device per thread seeds the actors' jitter: opening one per
  // actor cost 1 % of a 10,000-workspace convergence.
  thread_local std::mt19937_64 seeds{std::random_device{}()};
  st.rng = options.jitter_seed ? options.jitter_seed : seeds();
  return {
      [self, queue, options](poke_atom, std::int64_t generation, bool sweep) {
        auto& s = self->state;
        // A change we have already seen (our own finalizer or status write, or a
        // stale notification) needs no pass; a terminal error waits for a new
        // spec. The drift sweep re-checks everything.
        if (!sweep && generation >= 0 && !s.busy && generation <= s.observed_generation) return;
        trigger(self, queue, options, sweep ? -1 : generation);
      },
      [self, queue, options](retry_atom, std::uint64_t token) {
        if (token == self->state.retry_token) trigger(self, queue, options, -1);
      },
  };
}

}  // namespace

reconciler_handle spawn_reconciler(caf::local_actor* parent, std::string kind, std::string name,
                                   work_actor queue, controller_options options) {
  return parent->spawn<caf::monitored>(reconciler_actor, std::move(kind), std::move(name),
                                       std::move(queue), std::move(options));
}

}  // namespace rockpool::actors::loop
