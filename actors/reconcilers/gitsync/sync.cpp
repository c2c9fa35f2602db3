// The sync: read a source, validate all of it, then apply, take over,
// report conflicts and prune — for real (the pass) or as dry runs (the plan).
#include "gitsync/sync.hpp"

#include "rockpool/runtime/source.hpp"
#include "rockpool/specs/manifests.hpp"
#include "rockpool/specs/schema.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <thread>

namespace rockpool::actors::gitsync {

namespace json = boost::json;
using specs::string_at;

std::string manager_of(const std::string& sync_name) {
  return "gitsync/" + sync_name;
}

specs::result<sync_view> sync_view::of(const json::value& gs) {
  sync_view v;
  auto meta = crds::object_meta::of(gs);
  if (!meta.ok()) return meta.err();
  auto spec = crds::git_sync::spec_of(gs);
  if (!spec.ok()) return spec.err();
  auto status = crds::git_sync::status_of(gs);
  if (!status.ok()) return status.err();
  v.meta = std::move(*meta);
  v.spec = std::move(*spec);
  v.status = std::move(*status);
  return v;
}

std::set<std::string> sync_view::inventory() const {
  if (!status.inventory) return {};
  return {status.inventory->begin(), status.inventory->end()};
}

std::string sync_view::annotation(const std::string& key) const {
  auto it = meta.annotations.find(key);
  return it == meta.annotations.end() ? std::string() : it->second;
}

namespace {

std::string ref_of(const crds::git_sync::spec_git& git) {
  return git.ref.value_or("main");
}

}  // namespace

std::string describe_source(const crds::git_sync::spec& spec) {
  if (!spec.git) return spec.path.value_or("");
  auto path = spec.git->path.value_or("");
  return spec.git->url + "@" + ref_of(*spec.git) +
         (path.empty() || path == "." ? std::string() : ":" + path);
}

namespace {

/// Applies in flight at once within one apply order.
constexpr std::size_t apply_threads = 8;

specs::result<runtime::source_snapshot> snapshot(const settings& s, const sync_view& gs, bool fetch,
                                                 const std::string& pinned) {
  if (!gs.spec.git) return runtime::read_directory(gs.spec.path.value_or(""));
  if (s.clone_root.empty())
    return specs::make_error(specs::reason::unavailable,
                             "this controller has no data directory to clone Git sources into");
  const auto& git = *gs.spec.git;
  runtime::git_source src{git.url, ref_of(git), git.path.value_or(""),
                          s.clone_root + "/" + gs.name()};
  if (!fetch && !pinned.empty())
    if (auto snap = runtime::git_read(src, pinned); snap.ok()) return snap;
  auto commit = runtime::git_fetch(src, s.fetch_timeout);
  if (!commit.ok()) return commit.err();
  return runtime::git_read(src, fetch || pinned.empty() ? *commit : pinned);
}

int apply_order(const std::string& kind) {
  const auto* k = specs::find_kind(kind);
  return k ? k->apply_order : std::numeric_limits<int>::max();
}

std::string kind_of(const std::string& key) {
  return key.substr(0, key.find('/'));
}

std::string name_of(const std::string& key) {
  auto slash = key.find('/');
  return slash == std::string::npos ? std::string() : key.substr(slash + 1);
}

// spec.maxPrune of an inventory of n objects: a count, or a percentage (at least one).
std::size_t prune_limit(const sync_view& gs, std::size_t n) {
  auto text = gs.spec.max_prune.value_or("50%");
  if (text.empty()) text = "50%";
  bool percent = text.back() == '%';
  if (percent) text.pop_back();
  std::size_t v = text.empty() ? 0 : std::stoul(text);  // the schema bounds it to 5 digits
  if (!percent) return v;
  return std::max<std::size_t>(1, n * v / 100);
}

json::value labelled(json::value obj, const std::string& sync_name) {
  auto& meta = obj.as_object()["metadata"].as_object();
  auto& labels = meta["labels"];
  if (!labels.is_object()) labels = json::object();
  labels.as_object()[specs::gitsync_label] = sync_name;
  return obj;
}

// Whether gs may apply over live: its own objects, unowned ones it listed
// before (taken back after someone else's apply: drift), or with force
// anything but what another GitSync that forces too holds (two such syncs
// would take an object from each other on every pass; the holder keeps it).
std::string takeover_refusal(specs::object_store& store, const sync_view& gs,
                             const json::value& live, bool in_inventory) {
  auto owner = specs::annotation(live, specs::managed_by_annotation);
  const auto& name = gs.name();
  if (owner == manager_of(name)) return {};
  constexpr std::string_view sync_prefix = "gitsync/";
  bool other_sync = owner.rfind(sync_prefix, 0) == 0;
  if (other_sync) {
    auto other = owner.substr(sync_prefix.size());
    auto holder = store.get("GitSync", other);
    auto holder_spec = holder.ok() ? crds::git_sync::spec_of(*holder)
                                   : specs::result<crds::git_sync::spec>(holder.err());
    if (holder_spec.ok() && holder_spec->force.value_or(false))
      return "managed by GitSync " + other +
             ", which forces too and keeps it; remove it from that sync's source (or delete that "
             "sync with prune: false) before this one can take it";
  }
  if (gs.forced() || (in_inventory && !other_sync)) return {};
  return "managed by \"" + (owner.empty() ? std::string("nobody (created, not applied)") : owner) +
         "\", not \"" + manager_of(name) + "\": set spec.force: true to take it over";
}

void prune_stale(specs::object_store& store, const sync_view& gs, std::vector<std::string> stale,
                 bool dry_run, sync_outcome& out) {
  std::stable_sort(stale.begin(), stale.end(), [](const std::string& a, const std::string& b) {
    return apply_order(kind_of(a)) > apply_order(kind_of(b));  // PortRoutes before Workspaces
  });
  auto manager = manager_of(gs.name());
  for (const auto& key : stale) {
    auto live = store.get(kind_of(key), name_of(key));
    if (!live.ok()) {
      if (live.err().why != specs::reason::not_found) {
        ++out.failed;
        out.inventory.insert(key);
        out.changes.push_back({key, "error", live.err().message, nullptr, nullptr});
      }
      continue;
    }
    auto owner = specs::annotation(*live, specs::managed_by_annotation);
    if (owner != manager) {
      out.changes.push_back(
          {key, "orphan", "managed by \"" + owner + "\" now: left in place", *live, nullptr});
      continue;
    }
    auto r = store.remove(kind_of(key), name_of(key), std::nullopt, {dry_run, manager});
    if (!r.ok() && r.err().why != specs::reason::not_found) {
      ++out.failed;
      out.inventory.insert(key);
      out.changes.push_back({key, "error", r.err().message, *live, nullptr});
      continue;
    }
    ++out.pruned;
    out.changes.push_back({key, "prune", "no longer in the source", *live, nullptr});
  }
}

}  // namespace

desired_state read_source(const settings& s, specs::object_store& store, const sync_view& gs,
                          bool fetch, const std::string& pinned) {
  desired_state out;
  auto snap = snapshot(s, gs, fetch, pinned);
  if (!snap.ok()) {
    out.source_message = snap.err().message;
    return out;
  }
  out.source_ok = true;
  out.revision = snap->revision;
  specs::manifest_set set;
  for (const auto& f : snap->files) {
    auto d = specs::decode_documents(f.content, f.path);
    for (auto& doc : d.documents) set.documents.push_back(std::move(doc));
    for (auto& p : d.problems) set.problems.push_back(std::move(p));
  }
  specs::validate_and_order(set, store.validation());
  out.documents = std::move(set.documents);
  out.problems = std::move(set.problems);
  return out;
}

namespace {

// Applies one document: its change, and whether it stays in the inventory.
std::pair<change, bool> apply_one(specs::object_store& store, const sync_view& gs,
                                  const specs::document& doc, bool in_inventory, bool dry_run) {
  const auto& name = gs.name();
  auto key = specs::object_key(doc.value);
  auto live = store.get(kind_of(key), name_of(key));
  json::value live_value = live.ok() ? *live : json::value(nullptr);
  if (live.ok())
    if (auto refusal = takeover_refusal(store, gs, *live, in_inventory); !refusal.empty())
      return {{key, "conflict", refusal, live_value, doc.value}, false};
  auto r = store.apply(labelled(doc.value, name), {dry_run, manager_of(name)}, true);
  if (!r.ok()) return {{key, "error", r.err().message, live_value, doc.value}, in_inventory};
  const char* action = r->effect == specs::write_effect::created     ? "create"
                       : r->effect == specs::write_effect::unchanged ? "unchanged"
                                                                     : "update";
  return {{key, action, {}, live_value, r->object}, true};
}

// Runs fn(i) for i in [begin, end) on up to `threads` threads.
void parallel_for(std::size_t begin, std::size_t end, std::size_t threads,
                  const std::function<void(std::size_t)>& fn) {
  std::atomic<std::size_t> next{begin};
  auto work = [&] {
    for (auto i = next++; i < end; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < std::min(threads, end - begin); ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
}

}  // namespace

sync_outcome execute(specs::object_store& store, const sync_view& gs, const desired_state& desired,
                     bool dry_run, bool allow_mass_prune) {
  sync_outcome out;
  const auto& name = gs.name();
  auto before = gs.inventory();
  const auto& docs = desired.documents;
  // Documents of one apply order are independent: applied concurrently, so
  // their writes share the store's group commits; kinds stay in order.
  std::vector<std::pair<change, bool>> results(docs.size());
  for (std::size_t b = 0; b < docs.size();) {
    auto order = apply_order(string_at(docs[b].value, "kind"));
    auto e = b;
    while (e < docs.size() && apply_order(string_at(docs[e].value, "kind")) == order) ++e;
    parallel_for(b, e, apply_threads, [&](std::size_t i) {
      results[i] =
          apply_one(store, gs, docs[i], before.count(specs::object_key(docs[i].value)), dry_run);
    });
    b = e;
  }
  std::set<std::string> wanted;
  for (auto& [c, keep] : results) {
    wanted.insert(c.object);
    if (keep) out.inventory.insert(c.object);
    if (c.action == "conflict")
      ++out.conflicts;
    else if (c.action == "error")
      ++out.failed;
    else if (c.action == "unchanged")
      ++out.unchanged;
    else
      ++out.applied;
    out.changes.push_back(std::move(c));
  }
  std::vector<std::string> stale;
  for (const auto& key : before)
    if (!wanted.count(key)) stale.push_back(key);
  if (stale.empty() || !gs.prune()) return out;
  auto limit = prune_limit(gs, before.size());
  if (stale.size() > limit && !allow_mass_prune) {
    out.prune_blocked = "this revision would prune " + std::to_string(stale.size()) + " of " +
                        std::to_string(before.size()) + " objects, more than spec.maxPrune (" +
                        std::to_string(limit) + "): nothing was pruned; run `rpctl sync " + name +
                        " --allow-mass-prune` to allow it once";
    out.inventory.insert(stale.begin(), stale.end());
    out.held_back = std::move(stale);
    return out;
  }
  prune_stale(store, gs, std::move(stale), dry_run, out);
  return out;
}

std::size_t prune_all(specs::object_store& store, const sync_view& gs) {
  auto inv = gs.inventory();
  sync_outcome out;
  prune_stale(store, gs, std::vector<std::string>(inv.begin(), inv.end()), false, out);
  std::size_t left = 0;
  for (const auto& key : inv)
    if (store.get(kind_of(key), name_of(key)).ok()) ++left;
  return left;
}

json::value plan(const settings& s, specs::object_store& store, const json::value& obj) {
  auto view = sync_view::of(obj);
  if (!view.ok())
    return json::object{{"apiVersion", specs::api_version},
                        {"kind", "GitSyncPlan"},
                        {"sourceReady", false},
                        {"message", view.err().message}};
  const auto& gs = *view;
  auto desired = read_source(s, store, gs, /*fetch=*/true, {});
  json::object out{{"apiVersion", specs::api_version},
                   {"kind", "GitSyncPlan"},
                   {"gitSync", gs.name()},
                   {"source", describe_source(gs.spec)},
                   {"sourceReady", desired.source_ok},
                   {"revision", desired.revision}};
  if (!desired.source_ok) out["message"] = desired.source_message;
  json::array problems;
  for (const auto& p : desired.problems) problems.push_back(json::value(p.to_string()));
  out["problems"] = std::move(problems);
  json::array changes;
  if (desired.source_ok && desired.problems.empty() && !desired.documents.empty()) {
    auto allowed = gs.annotation(specs::allow_mass_prune_annotation);
    auto allow = !allowed.empty() && allowed == gs.annotation(specs::sync_requested_annotation);
    auto result = execute(store, gs, desired, /*dry_run=*/true, allow);
    auto add = [&](const change& c, const std::string& message) {
      changes.push_back({{"object", c.object},
                         {"action", c.action},
                         {"message", message},
                         {"live", c.live},
                         {"desired", c.desired}});
    };
    for (const auto& c : result.changes) add(c, c.message);
    if (!result.prune_blocked.empty()) {
      // Shown anyway: what would be pruned once allowed.
      out["message"] = result.prune_blocked;
      for (const auto& key : result.held_back)
        if (auto live = store.get(kind_of(key), name_of(key)); live.ok())
          add({key, "prune", {}, *live, nullptr}, "blocked by spec.maxPrune");
    }
  } else if (desired.source_ok && desired.problems.empty()) {
    out["message"] = "the source holds no manifests: nothing would be applied or pruned";
  }
  out["changes"] = std::move(changes);
  return out;
}

}  // namespace rockpool::actors::gitsync
