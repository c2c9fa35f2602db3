#include "rockpool/actors/controller.hpp"

#include "rockpool/actors/atoms.hpp"
#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/schema.hpp"
#include "rockpool/specs/validation.hpp"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>
#include <caf/all.hpp>

#include <deque>
#include <random>
#include <set>

namespace rockpool::actors {

namespace json = boost::json;
using specs::string_at;

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

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                        std::chrono::milliseconds cap, double jitter01) {
  double d = static_cast<double>(base.count());
  for (int i = 1; i < attempt && d < static_cast<double>(cap.count()); ++i) d *= 2;
  d = std::min(d, static_cast<double>(cap.count()));
  d *= 0.8 + 0.4 * jitter01;
  return std::chrono::milliseconds(static_cast<long long>(d));
}

namespace {

// ---- workers and the work queue ----

caf::behavior worker(caf::event_based_actor*, reconcile_context* ctx,
                     std::shared_ptr<controller_stats> stats) {
  return {
      [=](run_atom, const std::string& kind, const std::string& name) {
        stats->count_pass(kind + "/" + name);
        auto started = std::chrono::steady_clock::now();
        pass_result r;
        try {
          r = reconcile(*ctx, kind, name);
        } catch (const std::exception& e) {
          r = pass_result{
              pass_result::outcome::failed, std::string("reconcile threw: ") + e.what(), {}};
        }
        if (r.what == pass_result::outcome::failed) ++stats->failed_passes;
        static constexpr const char* outcomes[] = {"converged", "requeue", "failed", "terminal",
                                                   "gone"};
        spdlog::debug("pass {}/{}: {} in {} ms{}{}", kind, name, outcomes[static_cast<int>(r.what)],
                      std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count(),
                      r.message.empty() ? "" : ": ", r.message);
        return r;
      },
      [=](exec_atom, const blocking_job& job) { job(); },
  };
}

struct queued_job {
  std::string kind, name;
  caf::response_promise promise;
};

struct queue_state {
  std::deque<queued_job> jobs;
  std::deque<blocking_job> chores;
  std::vector<caf::actor> idle;
  std::function<caf::actor()> spawn_worker;
};

// Hands passes to idle workers, so at most `workers` run at once and a slow
// pass never holds up others behind it.
caf::behavior work_queue(caf::stateful_actor<queue_state>* self, std::size_t workers,
                         std::function<caf::actor()> spawn_worker) {
  // Every worker ever spawned, so they all go when the queue goes.
  auto all = std::make_shared<std::vector<caf::actor>>();
  self->state.spawn_worker = [all, spawn = std::move(spawn_worker)] {
    all->push_back(spawn());
    return all->back();
  };
  self->set_exit_handler([self, all](caf::exit_msg& msg) {
    for (auto& w : *all) self->send_exit(w, msg.reason);
    self->quit(msg.reason);
  });
  for (std::size_t i = 0; i < workers; ++i) self->state.idle.push_back(self->state.spawn_worker());
  auto dispatch = std::make_shared<std::function<void()>>();
  *dispatch = [self, dispatch] {
    auto& st = self->state;
    while (!st.idle.empty() && (!st.chores.empty() || !st.jobs.empty())) {
      auto w = st.idle.back();
      st.idle.pop_back();
      if (!st.chores.empty()) {
        auto job = std::move(st.chores.front());
        st.chores.pop_front();
        self->request(w, caf::infinite, exec_atom::value, std::move(job))
            .then(
                [self, w, dispatch] {
                  self->state.idle.push_back(w);
                  (*dispatch)();
                },
                [self, dispatch](caf::error&) {
                  self->state.idle.push_back(self->state.spawn_worker());
                  (*dispatch)();
                });
        continue;
      }
      auto job = std::move(st.jobs.front());
      st.jobs.pop_front();
      self->request(w, caf::infinite, run_atom::value, job.kind, job.name)
          .then(
              [self, w, dispatch, promise = job.promise](pass_result r) mutable {
                promise.deliver(std::move(r));
                self->state.idle.push_back(w);
                (*dispatch)();
              },
              [self, dispatch, promise = job.promise](caf::error& e) mutable {
                // The worker died mid-pass: report a failed pass, replace the worker.
                promise.deliver(pass_result{
                    pass_result::outcome::failed, "worker failed: " + caf::to_string(e), {}});
                self->state.idle.push_back(self->state.spawn_worker());
                (*dispatch)();
              });
    }
  };
  return {
      [self, dispatch](run_atom, const std::string& kind,
                       const std::string& name) -> caf::result<pass_result> {
        auto promise = self->make_response_promise();
        self->state.jobs.push_back({kind, name, promise});
        (*dispatch)();
        return promise;
      },
      [self, dispatch](exec_atom, blocking_job& job) {
        self->state.chores.push_back(std::move(job));
        (*dispatch)();
      },
  };
}

// ---- one reconciler per object ----

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

caf::behavior reconciler(caf::stateful_actor<reconciler_state>* self, std::string kind,
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

// ---- the watch hub ----

struct subscriber {
  caf::actor handle;
  std::size_t in_flight = 0;
  std::uint64_t delivered = 0;  // last revision sent
};

struct hub_state {
  std::uint64_t position = 0;
  std::deque<specs::kv_event> recent;
  std::map<caf::actor_addr, subscriber> subscribers;
};

caf::behavior watch_hub(caf::stateful_actor<hub_state>* self, std::uint64_t start_revision,
                        controller_options options, std::shared_ptr<controller_stats> stats) {
  self->state.position = start_revision;
  self->set_down_handler([self](caf::down_msg& dm) { self->state.subscribers.erase(dm.source); });
  // Sends sub everything after its position, or cuts it off when it lags.
  auto deliver = [self, options, stats](subscriber& sub) -> bool {
    // `recent` is in revision order: start after what the subscriber has.
    const auto& recent = self->state.recent;
    auto first = std::upper_bound(
        recent.begin(), recent.end(), sub.delivered,
        [](std::uint64_t rev, const specs::kv_event& e) { return rev < e.revision; });
    event_batch batch(first, recent.end());
    if (batch.empty()) return true;
    if (sub.in_flight >= options.subscriber_max_in_flight) {
      self->send(sub.handle, cutoff_atom::value, sub.delivered);
      ++stats->subscribers_cut_off;
      return false;
    }
    sub.delivered = batch.back().revision;
    ++sub.in_flight;
    self->send(sub.handle, events_atom::value, std::move(batch));
    return true;
  };
  return {
      [self, deliver, options](publish_atom, event_batch& events) {
        auto& st = self->state;
        for (auto& e : events) {
          if (e.revision <= st.position) continue;
          st.position = e.revision;
          st.recent.push_back(std::move(e));
        }
        while (st.recent.size() > options.hub_replay) st.recent.pop_front();
        for (auto it = st.subscribers.begin(); it != st.subscribers.end();) {
          if (deliver(it->second)) {
            ++it;
          } else {
            self->demonitor(it->second.handle);
            it = st.subscribers.erase(it);
          }
        }
      },
      [self, deliver](subscribe_atom, caf::actor who, std::uint64_t from) {
        auto& st = self->state;
        std::uint64_t oldest = st.recent.empty() ? st.position + 1 : st.recent.front().revision;
        if (from + 1 < oldest && from < st.position) {
          self->send(who, cutoff_atom::value, from);  // too old: relist
          return;
        }
        self->monitor(who);
        auto& sub = st.subscribers[who.address()] = subscriber{who, 0, from};
        if (!deliver(sub)) st.subscribers.erase(who.address());
      },
      [self](ack_atom) {
        auto it =
            self->state.subscribers.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
        if (it != self->state.subscribers.end() && it->second.in_flight > 0) --it->second.in_flight;
      },
  };
}

// ---- the manager ----

struct tracked {
  caf::actor reconciler;
  std::size_t fingerprint = 0;
  std::string uid;
  std::string phase;
  std::vector<std::string> owner_uids;
  std::string workspace;  // PortRoute: spec.workspace
};

struct manager_state {
  std::map<std::string, tracked> objects;  // kind/name
  std::map<caf::actor_addr, std::string> by_reconciler;
  std::map<std::string, std::string> key_by_uid;
  std::map<std::string, std::set<std::string>> routes_by_workspace;  // ws name -> PortRoute keys
  std::uint64_t position = 0;
};

std::size_t fingerprint(const json::value& obj) {
  json::value copy = obj;
  auto& o = copy.as_object();
  o.erase("status");
  if (auto* m = o.if_contains("metadata"); m && m->is_object())
    m->get_object().erase("resourceVersion");
  return std::hash<std::string>{}(json::serialize(copy));
}

caf::behavior object_manager(caf::stateful_actor<manager_state>* self, specs::object_store* store,
                             caf::actor hub_actor, caf::actor queue, controller_options options,
                             std::shared_ptr<controller_stats> stats) {
  auto spawn_reconciler = [self, queue, options, stats](const std::string& key) {
    auto slash = key.find('/');
    auto r = self->spawn<caf::monitored>(reconciler, key.substr(0, slash), key.substr(slash + 1),
                                         queue, options);
    self->state.by_reconciler[r.address()] = key;
    ++stats->live_reconcilers;
    return r;
  };
  auto poke = [self](const std::string& key, std::int64_t generation, bool sweep) {
    auto it = self->state.objects.find(key);
    if (it != self->state.objects.end() && it->second.reconciler)
      self->send(it->second.reconciler, poke_atom::value, generation, sweep);
  };
  auto forget = [self, stats](const std::string& key) {
    auto it = self->state.objects.find(key);
    if (it == self->state.objects.end()) return;
    if (it->second.reconciler) {
      self->state.by_reconciler.erase(it->second.reconciler.address());
      self->demonitor(it->second.reconciler);
      self->send_exit(it->second.reconciler, caf::exit_reason::user_shutdown);
      --stats->live_reconcilers;
    }
    self->state.key_by_uid.erase(it->second.uid);
    if (!it->second.workspace.empty())
      self->state.routes_by_workspace[it->second.workspace].erase(key);
    self->state.objects.erase(it);
  };
  // Updates what we know of an object and pokes whoever must look again.
  auto observe = [self, spawn_reconciler, poke, forget, queue, store](
                     const std::string& key, const json::value& obj, bool deleted) {
    auto& st = self->state;
    auto kind = string_at(obj, "kind");
    auto name = string_at(obj, "metadata.name");
    auto uid = string_at(obj, "metadata.uid");
    if (deleted) {
      forget(key);
      // Background garbage collection of anything this object owned.
      std::vector<std::pair<std::string, std::string>> orphans;
      for (const auto& [k, t] : st.objects)
        if (std::find(t.owner_uids.begin(), t.owner_uids.end(), uid) != t.owner_uids.end())
          orphans.emplace_back(k.substr(0, k.find('/')), k.substr(k.find('/') + 1));
      if (!orphans.empty())
        self->send(queue, exec_atom::value, blocking_job([store, orphans] {
                     for (const auto& [k, n] : orphans)
                       (void)store->remove(k, n, std::nullopt, {false, "rockpoold"});
                   }));
    } else {
      auto& t = st.objects[key];
      auto fp = fingerprint(obj);
      auto phase = string_at(obj, "status.phase");
      bool spec_or_meta_changed = fp != t.fingerprint;
      bool phase_changed = phase != t.phase;
      t.fingerprint = fp;
      t.phase = phase;
      t.uid = uid;
      st.key_by_uid[uid] = key;
      t.owner_uids.clear();
      if (const auto* refs = specs::find_path(obj, "metadata.ownerReferences");
          refs && refs->is_array())
        for (const auto& r : refs->get_array()) t.owner_uids.push_back(string_at(r, "uid"));
      if (kind == "PortRoute") {
        auto ws = string_at(obj, "spec.workspace");
        if (ws != t.workspace) {
          if (!t.workspace.empty()) st.routes_by_workspace[t.workspace].erase(key);
          st.routes_by_workspace[ws].insert(key);
          t.workspace = ws;
        }
      }
      if (is_reconciled_kind(kind) && !t.reconciler) {
        t.reconciler = spawn_reconciler(key);
        spec_or_meta_changed = true;
      }
      // Status-only writes do not re-trigger the writer (no hot loops).
      if (spec_or_meta_changed)
        poke(key, specs::int_at(obj, "metadata.generation").value_or(-1), false);
      if (phase_changed) {
        for (const auto& owner : t.owner_uids)
          if (auto o = st.key_by_uid.find(owner); o != st.key_by_uid.end())
            poke(o->second, -1, false);
      }
    }
    // Port routes follow their workspace's lifecycle.
    if (kind == "Workspace") {
      auto routes = st.routes_by_workspace.find(name);
      if (routes != st.routes_by_workspace.end())
        for (const auto& pr : std::set<std::string>(routes->second)) poke(pr, -1, false);
    }
  };
  // Reads the whole store and reconciles every object: convergence never
  // depends on in-memory state.
  auto resync = [self, store, observe, forget, hub_actor] {
    std::set<std::string> seen;
    std::uint64_t revision = 0;
    for (const auto& k : specs::kinds()) {
      if (k.kind == "Event" || k.kind == "Host") continue;
      auto l = store->list(k.kind);
      if (!l.ok()) continue;
      revision = revision == 0 ? l->revision : std::min(revision, l->revision);
      for (const auto& obj : l->items) {
        auto key = specs::object_key(obj);
        seen.insert(key);
        self->state.objects[key].fingerprint = 0;  // force a poke
        observe(key, obj, false);
      }
    }
    std::vector<std::string> stale;
    for (const auto& [key, t] : self->state.objects)
      if (!seen.count(key)) stale.push_back(key);
    for (const auto& key : stale) forget(key);
    self->state.position = revision;
    self->send(hub_actor, subscribe_atom::value, caf::actor_cast<caf::actor>(self), revision);
  };
  self->set_down_handler([self, spawn_reconciler, poke, stats](caf::down_msg& dm) {
    auto it = self->state.by_reconciler.find(dm.source);
    if (it == self->state.by_reconciler.end()) return;
    auto key = it->second;
    self->state.by_reconciler.erase(it);
    --stats->live_reconcilers;
    auto obj = self->state.objects.find(key);
    if (obj == self->state.objects.end()) return;
    if (dm.reason == caf::exit_reason::normal) {
      obj->second.reconciler = caf::actor{};  // finished: its object is gone
      return;
    }
    // Supervision: a crashed reconciler is replaced and its object re-reconciled.
    ++stats->reconciler_restarts;
    obj->second.reconciler = spawn_reconciler(key);
    poke(key, -1, true);
  });
  // Reconcilers go when the manager goes.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [key, t] : self->state.objects)
      if (t.reconciler) self->send_exit(t.reconciler, msg.reason);
    self->quit(msg.reason);
  });
  resync();
  if (options.sweep_interval.count() > 0)
    self->delayed_send(self, options.sweep_interval, sweep_atom::value);
  return {
      [self, observe](events_atom, const event_batch& batch) {
        for (const auto& e : batch) {
          if (e.revision <= self->state.position) continue;
          self->state.position = e.revision;
          if (e.key.rfind("alloc/", 0) == 0) continue;
          auto obj = specs::parse_json(e.value);
          if (!obj.ok() || !obj->is_object()) continue;
          auto kind = string_at(*obj, "kind");
          if (kind == "Event" || kind == "Host") continue;
          observe(e.key, *obj, e.kind == specs::kv_event::type::deleted);
        }
        return ack_atom::value;
      },
      [resync](cutoff_atom, std::uint64_t) { resync(); },
      [self, poke, options](sweep_atom) {
        for (const auto& [key, t] : self->state.objects) poke(key, -1, true);
        self->delayed_send(self, options.sweep_interval, sweep_atom::value);
      },
      [self, poke](poke_atom) {
        for (const auto& [key, t] : self->state.objects) poke(key, -1, true);
      },
      [poke](poke_atom, const std::string& key) { poke(key, -1, true); },
      [self](kill_atom, const std::string& key) {
        auto it = self->state.objects.find(key);
        if (it != self->state.objects.end() && it->second.reconciler)
          self->send_exit(it->second.reconciler, caf::exit_reason::kill);
      },
  };
}

}  // namespace

struct controller::impl {
  caf::actor_system& sys;
  reconcile_context ctx;
  controller_options options;
  caf::actor hub, queue, manager;
};

controller::controller(caf::actor_system& sys, reconcile_context ctx, controller_options options)
    : impl_(std::make_unique<impl>(impl{sys, ctx, options, {}, {}, {}})),
      stats_(std::make_shared<controller_stats>()) {}

controller::~controller() {
  stop();
}

void controller::start() {
  auto& i = *impl_;
  i.hub = i.sys.spawn(watch_hub, i.ctx.store.revision(), i.options, stats_);
  auto* ctx = &i.ctx;
  auto stats = stats_;
  bool detached = i.options.detached_workers;
  auto& sys = i.sys;
  i.queue = i.sys.spawn(work_queue, i.options.workers,
                        std::function<caf::actor()>([&sys, ctx, stats, detached] {
                          return detached ? sys.spawn<caf::detached>(worker, ctx, stats)
                                          : sys.spawn(worker, ctx, stats);
                        }));
  i.manager = i.sys.spawn(object_manager, &i.ctx.store, i.hub, i.queue, i.options, stats_);
}

void controller::stop() {
  auto& i = *impl_;
  for (auto* a : {&i.manager, &i.queue, &i.hub}) {
    if (*a) caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
    *a = caf::actor{};
  }
}

void controller::publish(std::vector<specs::kv_event> events) {
  if (impl_->hub) caf::anon_send(impl_->hub, publish_atom::value, std::move(events));
}

const caf::actor& controller::hub() const {
  return impl_->hub;
}
const caf::actor& controller::manager() const {
  return impl_->manager;
}

void controller::kill_reconciler(const std::string& key) {
  caf::anon_send(impl_->manager, kill_atom::value, key);
}

void controller::poke_all() {
  caf::anon_send(impl_->manager, poke_atom::value);
}

}  // namespace rockpool::actors

namespace rockpool::actors {

void controller::poke(const std::string& key) {
  caf::anon_send(impl_->manager, poke_atom::value, key);
}

}  // namespace rockpool::actors
