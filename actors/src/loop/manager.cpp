// The manager: one reconciler actor per object of a reconciled kind. What
// pokes whom comes from the registry's declarations (owns, watches, follows
// instances); nothing here knows a kind by name.
#include "loop/loop.hpp"

#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/schema.hpp"
#include "rockpool/specs/validation.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <set>

namespace rockpool::actors::loop {

namespace json = boost::json;
using specs::string_at;

namespace {

struct tracked {
  reconciler_handle reconciler;
  std::size_t fingerprint = 0;
  std::size_t annotations = 0;  // of metadata.annotations alone
  std::size_t content = 0;      // of spec, labels and annotations; kept while others watch it
  std::string uid;
  std::string phase;
  std::vector<std::string> owner_uids;
  // Keys of objects whose changes poke this one, and whether their status-only changes do.
  std::vector<std::pair<std::string, bool>> references;
};

struct manager_state {
  std::map<std::string, tracked> objects;  // kind/name
  std::map<caf::actor_addr, std::string> by_reconciler;
  std::map<std::string, std::string> key_by_uid;
  // Referenced key -> the keys it pokes, each with whether status-only changes poke it.
  std::map<std::string, std::map<std::string, bool>> dependents;
  std::uint64_t position = 0;
};

using manager_self = manager_actor::stateful_pointer<manager_state>;

std::string kind_of(const std::string& key) {
  return key.substr(0, key.find('/'));
}

// Deletes key's object if none of its ownerReferences names an object that
// exists with that uid (Kubernetes' garbage collector checks the same).
void delete_if_orphaned(specs::object_store& store, const std::string& key) {
  auto slash = key.find('/');
  auto obj = store.get(key.substr(0, slash), key.substr(slash + 1));
  if (!obj.ok()) return;
  const auto* refs = specs::find_path(*obj, "metadata.ownerReferences");
  if (refs == nullptr || !refs->is_array() || refs->get_array().empty()) return;
  for (const auto& ref : refs->get_array()) {
    auto owner = store.get(string_at(ref, "kind"), string_at(ref, "name"));
    if (!owner.ok() && owner.err().why != specs::reason::not_found) return;  // cannot tell
    if (owner.ok() && string_at(*owner, "metadata.uid") == string_at(ref, "uid")) return;
  }
  (void)store.remove(key.substr(0, slash), key.substr(slash + 1), std::nullopt,
                     {false, "rockpoold"});  // a failure is retried by the next sweep
}

std::size_t fingerprint(const json::value& obj) {
  json::value copy = obj;
  auto& o = copy.as_object();
  o.erase("status");
  if (auto* m = o.if_contains("metadata"); m && m->is_object())
    m->get_object().erase("resourceVersion");
  return std::hash<std::string>{}(json::serialize(copy));
}

// Of metadata.annotations, without those the store writes on every apply
// (they change with the spec, which has its own generation).
std::size_t user_annotations_fingerprint(const json::value& obj) {
  const auto* ann = specs::find_path(obj, "metadata.annotations");
  if (ann == nullptr || !ann->is_object()) return 0;
  json::object mine = ann->get_object();
  mine.erase(specs::managed_by_annotation);
  mine.erase(specs::last_applied_annotation);
  return mine.empty() ? 0 : std::hash<std::string>{}(json::serialize(mine));
}

// Of what users write (spec, labels, annotations): a change to it is drift for
// a watcher that does not follow status (a controller's finalizers and
// ownerReferences are not).
std::size_t content_fingerprint(const json::value& obj) {
  json::object c;
  for (const char* f : {"spec", "metadata.labels", "metadata.annotations"})
    if (const auto* v = specs::find_path(obj, f)) c[f] = *v;
  return std::hash<std::string>{}(json::serialize(c));
}

// Everything the manager's handlers share.
struct manager_env {
  manager_self self;
  specs::object_store* store;
  const kind_registry* kinds;
  hub_actor hub;
  work_actor queue;
  controller_options options;
  std::shared_ptr<controller_stats> stats;

  manager_state& st() const { return self->state; }

  reconciler_handle spawn_reconciler(const std::string& key) const {
    auto slash = key.find('/');
    auto r =
        loop::spawn_reconciler(self, key.substr(0, slash), key.substr(slash + 1), queue, options);
    st().by_reconciler[r.address()] = key;
    ++stats->live_reconcilers;
    return r;
  }

  void poke(const std::string& key, std::int64_t generation, bool sweep) const {
    auto it = st().objects.find(key);
    if (it != st().objects.end() && it->second.reconciler)
      self->send(it->second.reconciler, poke_atom::value, generation, sweep);
  }

  void poke_all() const {
    for (const auto& [key, t] : st().objects) poke(key, -1, true);
  }

  void set_references(const std::string& key, tracked& t,
                      std::vector<std::pair<std::string, bool>> refs) const {
    for (const auto& r : t.references) {
      auto d = st().dependents.find(r.first);
      if (d == st().dependents.end()) continue;
      d->second.erase(key);
      if (d->second.empty()) st().dependents.erase(d);
    }
    t.references = std::move(refs);
    for (const auto& [r, follows_status] : t.references) {
      auto& flag = st().dependents[r][key];
      flag = flag || follows_status;
    }
  }

  void forget(const std::string& key) const {
    auto it = st().objects.find(key);
    if (it == st().objects.end()) return;
    if (it->second.reconciler) {
      st().by_reconciler.erase(it->second.reconciler.address());
      self->demonitor(it->second.reconciler.address());
      self->send_exit(it->second.reconciler, caf::exit_reason::user_shutdown);
      --stats->live_reconcilers;
    }
    st().key_by_uid.erase(it->second.uid);
    set_references(key, it->second, {});
    st().objects.erase(it);
  }

  // Owners that declare they own this kind look again.
  void poke_owners(const std::string& kind, const std::vector<std::string>& owner_uids) const {
    for (const auto& owner : owner_uids)
      if (auto o = st().key_by_uid.find(owner); o != st().key_by_uid.end())
        if (kinds->owner_follows(kind_of(o->second), kind)) poke(o->second, -1, false);
  }

  // Background garbage collection of anything the deleted object owned.
  void collect_owned_by(const std::string& uid) const {
    std::vector<std::pair<std::string, std::string>> orphans;
    for (const auto& [k, t] : st().objects)
      if (std::find(t.owner_uids.begin(), t.owner_uids.end(), uid) != t.owner_uids.end())
        orphans.emplace_back(kind_of(k), k.substr(k.find('/') + 1));
    if (orphans.empty()) return;
    self->send(queue, exec_atom::value, blocking_job([store = store, orphans] {
                 // A failure is retried by collect_orphans on the next sweep.
                 for (const auto& [k, n] : orphans)
                   (void)store->remove(k, n, std::nullopt, {false, "rockpoold"});
               }));
  }

  // Level-triggered garbage collection: objects none of whose owners the
  // manager knows (owners deleted while the daemon was down, or a delete that
  // failed) are checked against the store and deleted if every owner is
  // really gone. Runs after each resync and on each drift sweep.
  void collect_orphans() const {
    std::vector<std::string> candidates;
    for (const auto& [key, t] : st().objects) {
      if (t.owner_uids.empty()) continue;
      bool known = std::any_of(t.owner_uids.begin(), t.owner_uids.end(),
                               [&](const std::string& uid) { return st().key_by_uid.count(uid); });
      if (!known) candidates.push_back(key);
    }
    if (candidates.empty()) return;
    self->send(queue, exec_atom::value, blocking_job([store = store, candidates] {
                 for (const auto& key : candidates) delete_if_orphaned(*store, key);
               }));
  }

  std::vector<std::pair<std::string, bool>> references_of(const std::string& kind,
                                                          const json::value& obj) const {
    std::vector<std::pair<std::string, bool>> refs;
    for (const auto& [watcher, rule] : kinds->watch_rules())
      if (watcher == kind)
        for (auto& name : rule->references(obj))
          if (!name.empty())
            refs.emplace_back(rule->source_kind + "/" + name, rule->follows_status);
    return refs;
  }

  void observe_deleted(const std::string& key) const {
    auto it = st().objects.find(key);
    if (it == st().objects.end()) return;
    auto uid = it->second.uid;
    auto owners = it->second.owner_uids;
    forget(key);
    collect_owned_by(uid);
    poke_owners(kind_of(key), owners);
  }

  // Returns whether obj's spec, labels or annotations changed.
  bool observe_live(const std::string& key, const json::value& obj) const {
    auto kind = kind_of(key);
    auto& t = st().objects[key];
    auto fp = fingerprint(obj);
    auto phase = string_at(obj, "status.phase");
    bool spec_or_meta_changed = fp != t.fingerprint;
    bool phase_changed = phase != t.phase;
    auto ann_fp = user_annotations_fingerprint(obj);
    bool annotations_changed = ann_fp != t.annotations;
    t.annotations = ann_fp;
    // Only watchers of this object need it (one more serialization per event).
    bool content_changed = true;
    if (st().dependents.count(key)) {
      auto content = content_fingerprint(obj);
      content_changed = content != t.content;
      t.content = content;
    }
    t.fingerprint = fp;
    t.phase = phase;
    t.uid = string_at(obj, "metadata.uid");
    st().key_by_uid[t.uid] = key;
    t.owner_uids.clear();
    if (const auto* refs = specs::find_path(obj, "metadata.ownerReferences");
        refs && refs->is_array())
      for (const auto& r : refs->get_array()) t.owner_uids.push_back(string_at(r, "uid"));
    set_references(key, t, references_of(kind, obj));
    if (kinds->find(kind) != nullptr && !t.reconciler) {
      t.reconciler = spawn_reconciler(key);
      spec_or_meta_changed = true;
    }
    // Status-only writes do not re-trigger the writer (no hot loops). Other
    // metadata changes do when the spec's generation is new to the reconciler,
    // and always when annotations change (a user asking for a pass now, as
    // rpctl sync does: no reconciler writes annotations).
    if (spec_or_meta_changed)
      poke(key, annotations_changed ? -1 : specs::int_at(obj, "metadata.generation").value_or(-1),
           false);
    if (phase_changed) poke_owners(kind, t.owner_uids);
    return content_changed;
  }

  // Updates what we know of an object and pokes whoever must look again.
  void observe(const std::string& key, const json::value& obj, bool deleted) const {
    bool changed = true;
    if (deleted)
      observe_deleted(key);
    else
      changed = observe_live(key, obj);
    // Objects that watch this one follow it (its status too, if their rule says so).
    if (auto d = st().dependents.find(key); d != st().dependents.end())
      for (const auto& [dep, follows_status] : std::map<std::string, bool>(d->second))
        if (changed || follows_status) poke(dep, -1, false);
  }

  // Reads the whole store and reconciles every object: convergence never
  // depends on in-memory state.
  void resync() const {
    std::set<std::string> seen, unlisted_kinds;
    std::uint64_t revision = 0;
    for (const auto& k : specs::kinds()) {
      if (!kinds->tracks(k.kind)) continue;
      auto l = store->list(k.kind);
      if (!l.ok()) {
        // Keep what we know of this kind and look again soon.
        unlisted_kinds.insert(k.kind);
        continue;
      }
      revision = revision == 0 ? l->revision : std::min(revision, l->revision);
      for (const auto& obj : l->items) {
        auto key = specs::object_key(obj);
        seen.insert(key);
        st().objects[key].fingerprint = 0;  // force a poke
        observe(key, obj, false);
      }
    }
    std::vector<std::string> stale;
    for (const auto& [key, t] : st().objects)
      if (!seen.count(key) && !unlisted_kinds.count(kind_of(key))) stale.push_back(key);
    for (const auto& key : stale) forget(key);
    if (!unlisted_kinds.empty()) {
      self->delayed_send(self, std::chrono::seconds(1), cutoff_atom::value, std::uint64_t{0});
      return;  // subscribe once every kind has been listed
    }
    st().position = revision;
    self->send(hub, subscribe_atom::value, caf::actor_cast<hub_subscriber>(self), revision);
    collect_orphans();
  }

  void on_events(const event_batch& batch) const {
    for (const auto& e : batch) {
      if (e.revision <= st().position) continue;
      st().position = e.revision;
      if (!kinds->tracks(kind_of(e.key))) continue;
      auto obj = specs::parse_json(e.value);
      if (!obj.ok() || !obj->is_object()) continue;
      observe(e.key, *obj, e.kind == specs::kv_event::type::deleted);
    }
  }

  // Supervision: a crashed reconciler is replaced and its object re-reconciled.
  void on_down(const caf::down_msg& dm) const {
    auto it = st().by_reconciler.find(dm.source);
    if (it == st().by_reconciler.end()) return;
    auto key = it->second;
    st().by_reconciler.erase(it);
    --stats->live_reconcilers;
    auto obj = st().objects.find(key);
    if (obj == st().objects.end()) return;
    if (dm.reason == caf::exit_reason::normal) {
      obj->second.reconciler = reconciler_handle{};  // finished: its object is gone
      return;
    }
    ++stats->reconciler_restarts;
    obj->second.reconciler = spawn_reconciler(key);
    poke(key, -1, true);
  }
};

manager_actor::behavior_type object_manager(manager_self self, specs::object_store* store,
                                            const kind_registry* kinds, hub_actor hub,
                                            work_actor queue, controller_options options,
                                            std::shared_ptr<controller_stats> stats) {
  auto env = std::make_shared<manager_env>(
      manager_env{self, store, kinds, std::move(hub), std::move(queue), options, std::move(stats)});
  self->set_down_handler([env](caf::down_msg& dm) { env->on_down(dm); });
  // Reconcilers go when the manager goes.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [key, t] : self->state.objects)
      if (t.reconciler) self->send_exit(t.reconciler, msg.reason);
    self->quit(msg.reason);
  });
  env->resync();
  if (options.sweep_interval.count() > 0)
    self->delayed_send(self, options.sweep_interval, sweep_atom::value);
  return {
      [env](events_atom, const event_batch& batch) -> ack_atom {
        env->on_events(batch);
        return ack_atom::value;
      },
      [env](cutoff_atom, std::uint64_t) { env->resync(); },
      [env](sweep_atom) {
        env->poke_all();
        env->collect_orphans();
        env->self->delayed_send(env->self, env->options.sweep_interval, sweep_atom::value);
      },
      [env](poke_atom) { env->poke_all(); },
      [env](poke_atom, const std::string& key) { env->poke(key, -1, true); },
      // An Incus event about instance NAME: the kinds that follow instances look at NAME.
      [env](instance_atom, const std::string& name) {
        for (const auto& kind : env->kinds->instance_followers())
          env->poke(kind + "/" + name, -1, true);
      },
      [self](kill_atom, const std::string& key) {
        auto it = self->state.objects.find(key);
        if (it != self->state.objects.end() && it->second.reconciler)
          self->send_exit(it->second.reconciler, caf::exit_reason::kill);
      },
  };
}

}  // namespace

manager_actor spawn_manager(caf::actor_system& sys, specs::object_store* store,
                            const kind_registry* kinds, hub_actor hub, work_actor queue,
                            controller_options options, std::shared_ptr<controller_stats> stats) {
  return sys.spawn(object_manager, store, kinds, std::move(hub), std::move(queue),
                   std::move(options), std::move(stats));
}

}  // namespace rockpool::actors::loop
