#include "workspace/workspace.hpp"


namespace rockpool::actors::workspace {

using specs::int_at;
using specs::string_at;

namespace {

// The first of the object's and the template's value at path that is set.
const json::value* pick(const json::value& obj, const json::value& tmpl, const char* path) {
  const auto* v = specs::find_path(obj, path);
  if ((v == nullptr || v->is_null()) && !tmpl.is_null()) v = specs::find_path(tmpl, path);
  return v != nullptr && !v->is_null() ? v : nullptr;
}

void pick_string(const json::value& obj, const json::value& tmpl, const char* path,
                 std::string& out) {
  if (const auto* v = pick(obj, tmpl, path); v && v->is_string() && !v->get_string().empty())
    out = std::string(v->get_string());
}

}  // namespace

specs::result<settings> resolve(specs::object_store& store, const json::value& obj) {
  settings s;
  s.name = string_at(obj, "metadata.name");
  s.uid = string_at(obj, "metadata.uid");
  json::value tmpl;
  if (auto name = string_at(obj, "spec.template"); !name.empty()) {
    auto t = store.get("WorkspaceTemplate", name);
    if (!t.ok()) return t.err();
    tmpl = std::move(*t);
  }
  pick_string(obj, tmpl, "spec.image", s.image);
  pick_string(obj, tmpl, "spec.type", s.type);
  pick_string(obj, tmpl, "spec.resources.memory", s.memory);
  pick_string(obj, tmpl, "spec.resources.disk", s.disk);
  pick_string(obj, tmpl, "spec.state", s.state);
  pick_string(obj, tmpl, "spec.network", s.network);
  pick_string(obj, tmpl, "spec.home.size", s.home_size);
  if (const auto* retain = pick(obj, tmpl, "spec.home.retain"); retain && retain->is_bool())
    s.home_retain = retain->get_bool();
  s.home_from = string_at(obj, "spec.home.fromVolume");
  s.source_snapshot = string_at(obj, "spec.source.snapshot");
  std::string idle;
  pick_string(obj, tmpl, "spec.lifecycle.idleAfter", idle);
  s.idle_after = parse_duration(idle).value_or(std::chrono::seconds(0));
  if (const auto* list = pick(obj, tmpl, "spec.lifecycle.schedule"); list && list->is_array())
    for (const auto& entry : list->get_array()) {
      auto zone = string_at(entry, "timezone");
      if (auto c = specs::cron_schedule::parse(string_at(entry, "start"), zone); c.ok())
        s.starts.push_back(std::move(*c));
      if (auto c = specs::cron_schedule::parse(string_at(entry, "stop"), zone); c.ok())
        s.stops.push_back(std::move(*c));
    }
  if (const auto* snaps = pick(obj, tmpl, "spec.lifecycle.snapshots"); snaps && snaps->is_object()) {
    if (auto c = specs::cron_schedule::parse(string_at(*snaps, "schedule"),
                                             string_at(*snaps, "timezone"));
        c.ok())
      s.snapshots = std::move(*c);
    if (auto keep = int_at(*snaps, "keep"); keep && *keep > 0)
      s.snapshots_keep = static_cast<std::size_t>(*keep);
  }
  std::string grace;
  pick_string(obj, tmpl, "spec.lifecycle.stopGrace", grace);
  if (auto g = parse_duration(grace); g && !grace.empty()) s.stop_grace = *g;
  if (const auto* cpu = pick(obj, tmpl, "spec.resources.cpu"); cpu && cpu->is_int64())
    s.cpu = static_cast<int>(cpu->get_int64());
  s.ide_port = static_cast<int>(int_at(obj, "spec.ide.port").value_or(8080));
  if (const auto* nest = pick(obj, tmpl, "spec.nesting"); nest && nest->is_bool())
    s.nesting = nest->get_bool();
  if (const auto* profiles = pick(obj, tmpl, "spec.profiles"); profiles && profiles->is_array()) {
    s.profiles.clear();
    for (const auto& p : profiles->get_array())
      if (p.is_string()) s.profiles.emplace_back(p.get_string());
  }
  if (const auto* env = specs::find_path(obj, "spec.environment"); env && env->is_object())
    for (const auto& kv : env->get_object())
      if (kv.value().is_string())
        s.environment[std::string(kv.key())] = std::string(kv.value().get_string());
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
