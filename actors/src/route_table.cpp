#include "rockpool/actors/route_table.hpp"

#include "atoms.hpp"

#include "rockpool/specs/codec.hpp"

#include <caf/all.hpp>

#include <map>
#include <set>
#include <vector>

namespace rockpool::actors {

namespace {

struct route_table_state {
  std::map<std::string, runtime::route> desired;
  std::set<std::string> inherited;  // found in Caddy at start, not claimed since
  std::uint64_t version = 0;        // bumped by every change
  std::uint64_t loaded = 0;         // the version Caddy last accepted
  std::string last_loaded;          // the HTTP app as last loaded
  bool flush_scheduled = false;
  std::vector<std::pair<std::uint64_t, caf::typed_response_promise<std::string>>>
      waiting;  // version, sender
  static inline const char* name = "route_table";
};

using route_table_self = route_table_impl::stateful_pointer<route_table_state>;

void flush(route_table_self self, const std::shared_ptr<runtime::caddy_admin>& admin,
           const runtime::caddy_options& options, route_table_stats& stats) {
  auto& st = self->state;
  st.flush_scheduled = false;
  auto version = st.version;
  auto app = runtime::render_http_app(options, st.desired);
  auto result = admin->load(app);
  ++stats.loads;
  if (!result.ok()) ++stats.load_failures;
  std::string error = result.ok() ? std::string() : result.err().message;
  if (result.ok()) {
    st.loaded = version;
    st.last_loaded = std::move(app);
  }
  decltype(st.waiting) later;
  for (auto& [v, rp] : st.waiting) {
    if (v <= version)
      rp.deliver(error);
    else
      later.emplace_back(v, std::move(rp));
  }
  st.waiting = std::move(later);
}

// A change joins the open batch, or opens one.
caf::typed_response_promise<std::string> enqueue(route_table_self self,
                                                 std::chrono::milliseconds window) {
  auto& st = self->state;
  auto rp = self->make_response_promise<std::string>();
  st.waiting.emplace_back(++st.version, rp);
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->delayed_send(self, window, flush_atom::value);
  }
  return rp;
}

// Long: a CAF behavior, one handler per message; they read best side by side.
route_table_impl::behavior_type route_table(route_table_self self,
                                            std::shared_ptr<runtime::caddy_admin> admin,
                                            runtime::caddy_options options,
                                            std::shared_ptr<route_table_stats> stats,
                                            std::vector<runtime::route> inherited) {
  if (options.drift_check.count() > 0)
    self->delayed_send(self, options.drift_check, drift_atom::value);
  for (auto& r : inherited) {
    self->state.inherited.insert(r.id);
    self->state.desired.emplace(r.id, std::move(r));
  }
  if (!self->state.inherited.empty())
    self->delayed_send(self, options.inherit_grace, prune_atom::value);
  return {
      [self, options](upsert_atom, const std::string& id, const std::string& prefix,
                      const std::string& upstream, bool open) -> caf::result<std::string> {
        auto& st = self->state;
        st.inherited.erase(id);
        runtime::route r{id, prefix, upstream, open};
        auto it = st.desired.find(id);
        if (it != st.desired.end() && it->second == r && st.loaded == st.version)
          return std::string();
        st.desired[id] = std::move(r);
        return enqueue(self, options.batch_window);
      },
      [self, options](remove_atom, const std::string& id) -> caf::result<std::string> {
        auto& st = self->state;
        st.inherited.erase(id);
        if (st.desired.erase(id) == 0 && st.loaded == st.version) return std::string();
        return enqueue(self, options.batch_window);
      },
      [self](applied_atom, const std::string& id, const std::string& prefix,
             const std::string& upstream, bool open) -> bool {
        auto& st = self->state;
        auto it = st.desired.find(id);
        return it != st.desired.end() && it->second == runtime::route{id, prefix, upstream, open} &&
               st.loaded == st.version && st.version > 0;
      },
      [self](sync_atom) -> caf::result<std::string> {
        return enqueue(self, std::chrono::milliseconds(0));
      },
      [self, admin, options, stats](flush_atom) { flush(self, admin, options, *stats); },
      // Inherited routes that no reconciler claimed within the grace belong
      // to objects deleted while rockpoold was down.
      [self, options](prune_atom) {
        auto& st = self->state;
        if (st.inherited.empty()) return;
        for (const auto& id : st.inherited) st.desired.erase(id);
        st.inherited.clear();
        enqueue(self, options.batch_window);
      },
      [self, admin, options, stats](drift_atom) {
        self->delayed_send(self, options.drift_check, drift_atom::value);
        auto& st = self->state;
        if (st.flush_scheduled) return;  // a load is coming anyway
        if (st.loaded == 0) {            // never loaded (Caddy was down): try again
          ++st.version;
          flush(self, admin, options, *stats);
          return;
        }
        auto live = admin->live_http_app();
        if (!live.ok()) return;  // Caddy down: the next check repairs it once it is back
        auto a = specs::parse_json(*live);
        auto b = specs::parse_json(st.last_loaded);
        if (a.ok() && b.ok() && *a == *b) return;
        ++stats->repairs;
        ++st.version;
        flush(self, admin, options, *stats);
      },
  };
}

}  // namespace

route_table_actor spawn_route_table(caf::actor_system& sys,
                                    std::shared_ptr<runtime::caddy_admin> admin,
                                    runtime::caddy_options options,
                                    std::shared_ptr<route_table_stats> stats, bool detached,
                                    std::vector<runtime::route> inherited) {
  if (detached)
    return sys.spawn<caf::detached>(route_table, std::move(admin), std::move(options),
                                    std::move(stats), std::move(inherited));
  return sys.spawn(route_table, std::move(admin), std::move(options), std::move(stats),
                   std::move(inherited));
}

struct actor_route_table::impl {
  caf::actor_system& sys;
  std::shared_ptr<runtime::caddy_admin> admin;
  route_table_actor actor;

  // A request to the actor, waited for on this thread; T is the answer's type.
  template <class T, class... Ts>
  specs::result<T> ask(Ts&&... xs) {
    caf::scoped_actor self{sys};
    specs::result<T> out = T();
    self->request(actor, std::chrono::seconds(60), std::forward<Ts>(xs)...)
        .receive([&](const T& answer) { out = answer; },
                 [&](caf::error& e) {
                   out = specs::make_error(specs::reason::unavailable,
                                           "route table actor: " + sys.render(e));
                 });
    return out;
  }
  specs::status change(specs::result<std::string> r) {
    if (!r.ok()) return r.err();
    if (!r->empty()) return specs::make_error(specs::reason::unavailable, *r);
    return specs::done{};
  }
};

actor_route_table::actor_route_table(caf::actor_system& sys,
                                     std::shared_ptr<runtime::caddy_admin> admin,
                                     runtime::caddy_options options,
                                     std::vector<runtime::route> inherited)
    : stats_(std::make_shared<route_table_stats>()) {
  auto actor =
      spawn_route_table(sys, admin, std::move(options), stats_, true, std::move(inherited));
  impl_ = std::make_unique<impl>(impl{sys, std::move(admin), std::move(actor)});
}

actor_route_table::~actor_route_table() {
  stop();
}

void actor_route_table::stop() {
  if (impl_->actor) caf::anon_send_exit(impl_->actor, caf::exit_reason::user_shutdown);
}

specs::status actor_route_table::upsert(const runtime::route& r) {
  return impl_->change(
      impl_->ask<std::string>(upsert_atom::value, r.id, r.path_prefix, r.upstream, r.open));
}

specs::status actor_route_table::remove(const std::string& id) {
  return impl_->change(impl_->ask<std::string>(remove_atom::value, id));
}

specs::status actor_route_table::sync() {
  return impl_->change(impl_->ask<std::string>(sync_atom::value));
}

specs::result<bool> actor_route_table::answers(const runtime::route& r) {
  auto loaded = impl_->ask<bool>(applied_atom::value, r.id, r.path_prefix, r.upstream, r.open);
  if (!loaded.ok() || !*loaded) return loaded;
  return impl_->admin->answers(r.path_prefix);
}

specs::result<runtime::probe_answer> actor_route_table::probe(const runtime::route& r,
                                                              const std::string& sub) {
  auto loaded = impl_->ask<bool>(applied_atom::value, r.id, r.path_prefix, r.upstream, r.open);
  if (!loaded.ok()) return loaded.err();
  if (!*loaded)
    return specs::make_error(specs::reason::unavailable, "route " + r.id + " is not loaded yet");
  return impl_->admin->get(r.path_prefix + sub);
}

specs::result<std::map<std::string, int>> actor_route_table::in_flight() {
  return impl_->admin->in_flight();
}

}  // namespace rockpool::actors
