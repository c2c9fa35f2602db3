#include "workspace/workspace.hpp"

#include "rockpool/crds/typed.hpp"
#include "rockpool/crds/types.hpp"

namespace rockpool::actors::workspace {

namespace {

namespace ws_typed = crds::workspace;
namespace tmpl_typed = crds::workspace_template;

// The workspace's value of a field if set, else its template's: `get` reads
// it from either spec (the generated types share field names) as an optional.
template <class Get, class T>
void pick(const ws_typed::spec& ws, const tmpl_typed::spec* tmpl, Get get, T& out) {
  if (auto v = get(ws)) {
    out = static_cast<T>(*v);
  } else if (tmpl != nullptr) {
    if (auto t = get(*tmpl)) out = static_cast<T>(*t);
  }
}

// A string field, unset when empty.
std::optional<std::string> text(const std::optional<std::string>& s) {
  return s && !s->empty() ? s : std::nullopt;
}

// An enum field as its text.
template <class E>
std::optional<std::string> text(const std::optional<E>& e) {
  return e ? std::optional<std::string>(std::string(to_string(*e))) : std::nullopt;
}

// spec.lifecycle.schedule: entries that do not parse are left out
// (admission refuses them).
template <class Items>
void resolve_schedule(const Items& entries, settings& s) {
  for (const auto& entry : entries) {
    auto zone = entry.timezone.value_or("");
    if (auto c = specs::cron_schedule::parse(entry.start.value_or(""), zone); c.ok())
      s.starts.push_back(std::move(*c));
    if (auto c = specs::cron_schedule::parse(entry.stop.value_or(""), zone); c.ok())
      s.stops.push_back(std::move(*c));
  }
}

template <class Snapshots>
void resolve_snapshots(const Snapshots& snaps, settings& s) {
  if (auto c = specs::cron_schedule::parse(snaps.schedule, snaps.timezone.value_or("")); c.ok())
    s.snapshots = std::move(*c);
  if (snaps.keep && *snaps.keep > 0) s.snapshots_keep = static_cast<std::size_t>(*snaps.keep);
}

// spec.lifecycle (or the template's), field by field.
void resolve_lifecycle(const ws_typed::spec& ws, const tmpl_typed::spec* t, settings& s) {
  auto of = [](const auto& x) { return x.lifecycle ? &*x.lifecycle : nullptr; };
  std::string idle, grace;
  pick(
      ws, t, [&](const auto& x) { return of(x) ? text(of(x)->idle_after) : std::nullopt; }, idle);
  s.idle_after = parse_duration(idle).value_or(std::chrono::seconds(0));
  pick(
      ws, t, [&](const auto& x) { return of(x) ? text(of(x)->stop_grace) : std::nullopt; }, grace);
  if (auto g = parse_duration(grace); g && !grace.empty()) s.stop_grace = *g;
  // An explicit schedule, even [], overrides the template's.
  if (of(ws) && of(ws)->schedule)
    resolve_schedule(*of(ws)->schedule, s);
  else if (t && of(*t))
    resolve_schedule(of(*t)->schedule, s);
  if (of(ws) && of(ws)->snapshots)
    resolve_snapshots(*of(ws)->snapshots, s);
  else if (t && of(*t) && of(*t)->snapshots)
    resolve_snapshots(*of(*t)->snapshots, s);
}

// spec.resources and spec.home (or the template's), field by field.
void resolve_resources(const ws_typed::spec& ws, const tmpl_typed::spec* t, settings& s) {
  auto res = [](const auto& x) { return x.resources ? &*x.resources : nullptr; };
  auto home = [](const auto& x) { return x.home ? &*x.home : nullptr; };
  pick(
      ws, t, [&](const auto& x) { return res(x) ? text(res(x)->memory) : std::nullopt; }, s.memory);
  pick(
      ws, t, [&](const auto& x) { return res(x) ? text(res(x)->disk) : std::nullopt; }, s.disk);
  pick(
      ws, t, [&](const auto& x) { return res(x) ? res(x)->cpu : std::nullopt; }, s.cpu);
  pick(
      ws, t, [&](const auto& x) { return home(x) ? text(home(x)->size) : std::nullopt; },
      s.home_size);
  pick(
      ws, t, [&](const auto& x) { return home(x) ? home(x)->retain : std::nullopt; },
      s.home_retain);
}

}  // namespace

specs::result<settings> resolve(specs::object_store& store, const json::value& obj) {
  auto meta = crds::object_meta::of(obj);
  if (!meta.ok()) return meta.err();
  auto spec = ws_typed::spec_of(obj);
  if (!spec.ok()) return spec.err();
  const auto& ws = *spec;
  std::optional<tmpl_typed::spec> tmpl;
  if (auto name = ws.template_.value_or(""); !name.empty()) {
    auto t = store.get("WorkspaceTemplate", name);
    if (!t.ok()) return t.err();
    auto ts = tmpl_typed::spec_of(*t);
    if (!ts.ok()) return ts.err();
    tmpl = std::move(*ts);
  }
  const auto* t = tmpl ? &*tmpl : nullptr;
  settings s;
  s.name = meta->name;
  s.uid = meta->uid;
  pick(
      ws, t, [](const auto& x) { return text(x.image); }, s.image);
  pick(
      ws, t, [](const auto& x) { return text(x.type); }, s.type);
  pick(
      ws, t, [](const auto& x) { return x.nesting; }, s.nesting);
  pick(
      ws, t, [](const auto& x) { return x.profiles; }, s.profiles);  // [] is none
  if (auto state = text(ws.state)) s.state = *state;
  if (auto network = text(ws.network)) s.network = *network;
  resolve_resources(ws, t, s);
  resolve_lifecycle(ws, t, s);
  s.home_from = ws.home ? ws.home->from_volume.value_or("") : std::string();
  s.source_snapshot = ws.source ? ws.source->snapshot.value_or("") : std::string();
  s.ide_port = static_cast<int>(ws.ide ? ws.ide->port.value_or(8080) : 8080);
  s.environment = ws.environment;
  s.restore = ws.restore;
  return s;
}

std::string home_volume(const std::string& workspace, const std::string& uid) {
  return "home-" + workspace + "-" + uid.substr(0, 8);
}

std::string route_id(const std::string& workspace) {
  return "rockpool-ws-" + workspace;
}

std::string ide_port_owner(const std::string& workspace) {
  return "Workspace/" + workspace + "#ide";
}

std::vector<std::string_view> condition_order() {
  return {"HomeReady", "InstanceReady", "RouteReady", "IDEReady", "ConfigApplied", "Ready"};
}

}  // namespace rockpool::actors::workspace
