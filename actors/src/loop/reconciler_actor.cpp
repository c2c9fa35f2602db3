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

caf::behavior reconciler_actor(caf::stateful_actor<reconciler_state>* self, std::string kind,
                               std::string name, caf::actor queue, controller_options options) {
  auto& st = self->state;
  st.kind = std::move(kind);
  st.name = std::move(name);
  st.rng = options.jitter_seed ? options.jitter_seed : std::random_device{}();
  auto start = std::make_shared<std::function<void()>>();
  auto schedule = [self](std::chrono::milliseconds after) {
    auto token = ++self->state.retry_token;
    self->delayed_send(self, after, retry_atom::value, token);
  };
  auto on_result = [self, schedule, options](const pass_result& r) {
    auto& s = self->state;
    if (r.generation >= 0) s.observed_generation = r.generation;
    // Pokes that arrived during the pass for generations it already read are satisfied.
    if (s.pending && !s.pending_forced && s.pending_generation <= s.observed_generation)
      s.pending = false;
    switch (r.what) {
      case pass_result::outcome::converged:
        s.attempt = 0;
        ++s.retry_token;  // cancels a pending retry
        break;
      case pass_result::outcome::requeue:
        s.attempt = 0;
        schedule(r.after);
        break;
      case pass_result::outcome::failed: {
        ++s.attempt;
        double jitter = next_unit(s.rng);
        schedule(backoff_delay(s.attempt, options.backoff_base, options.backoff_cap, jitter));
        break;
      }
      case pass_result::outcome::terminal:
        s.attempt = 0;
        ++s.retry_token;
        break;
      case pass_result::outcome::gone:
        self->quit();
        break;
    }
  };
  *start = [self, queue, on_result, start] {
    self->state.busy = true;
    self->state.pending = false;
    self->state.pending_forced = false;
    self->state.pending_generation = -1;
    self->request(queue, caf::infinite, run_atom::value, self->state.kind, self->state.name)
        .then(
            [self, on_result, start](pass_result r) {
              self->state.busy = false;
              on_result(r);
              if (self->state.pending && r.what != pass_result::outcome::gone) (*start)();
            },
            [self, on_result, start](caf::error& e) {
              self->state.busy = false;
              on_result(pass_result{pass_result::outcome::failed, caf::to_string(e), {}});
              if (self->state.pending) (*start)();
            });
  };
  // generation < 0 means "look again regardless" (sweeps, retries, related objects).
  auto trigger = [self, start](std::int64_t generation) {
    auto& s = self->state;
    if (!s.busy) {
      (*start)();
      return;
    }
    s.pending = true;  // coalesces: at most one more pass
    if (generation < 0)
      s.pending_forced = true;
    else
      s.pending_generation = std::max(s.pending_generation, generation);
  };
  return {
      [self, trigger](poke_atom, std::int64_t generation, bool sweep) {
        auto& s = self->state;
        // A change we have already seen (our own finalizer or status write, or a
        // stale notification) needs no pass; a terminal error waits for a new
        // spec. The drift sweep re-checks everything.
        if (!sweep && generation >= 0 && !s.busy && generation <= s.observed_generation) return;
        trigger(sweep ? -1 : generation);
      },
      [self, trigger](retry_atom, std::uint64_t token) {
        if (token == self->state.retry_token) trigger(-1);
      },
  };
}

}  // namespace

caf::actor spawn_reconciler(caf::event_based_actor* parent, std::string kind, std::string name,
                            caf::actor queue, controller_options options) {
  return parent->spawn<caf::monitored>(reconciler_actor, std::move(kind), std::move(name),
                                       std::move(queue), std::move(options));
}

}  // namespace rockpool::actors::loop
