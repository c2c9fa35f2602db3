// rpctl get, rpctl events and rpctl describe.
#include "rockpool/cli/cli.hpp"

#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/json.hpp"
#include "rockpool/specs/object_model.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <sstream>

namespace rockpool::cli {

namespace json = boost::json;
using specs::string_at;

namespace {

struct get_flags {
  std::string kind, name, output, selector, timeout;
  bool watch = false;
  bool event_view = false;  // `rpctl events`
};

// GETs a collection (or one object): its items and the revision to watch
// from. Prints the error and returns nothing on failure.
std::optional<std::pair<std::vector<json::value>, std::uint64_t>> fetch_items(
    context& c, const std::string& path) {
  auto body = get_ok(c, path);
  if (!body) return std::nullopt;
  auto v = specs::parse_json(*body);
  if (!v.ok()) {
    c.err << "error: malformed response\n";
    return std::nullopt;
  }
  std::vector<json::value> items;
  std::uint64_t rv = 0;
  if (const auto* arr = specs::find_path(*v, "items"); arr && arr->is_array()) {
    items.assign(arr->get_array().begin(), arr->get_array().end());
    rv = revision_of(string_at(*v, "metadata.resourceVersion"));
  } else {
    items.push_back(std::move(*v));
  }
  return std::make_pair(std::move(items), rv);
}

int cmd_get(context& c, const get_flags& f) {
  const auto* k = require_kind(c, f.kind);
  if (!k) return 1;
  auto fmt = parse_output(f.output);
  if (!fmt) {
    c.err << "error: unknown output format \"" << f.output << "\" (yaml, json, wide, name)\n";
    return 2;
  }
  std::string q;
  if (!f.selector.empty()) q += "&labelSelector=" + url_encode(f.selector);
  if (!f.name.empty()) q += "&fieldSelector=" + url_encode("metadata.name=" + f.name);
  // Prints one object as a watch line in the chosen format.
  auto print_event = [&](const std::string& type, const json::value& obj) {
    if (*fmt == output::json) {
      c.out << json::serialize(json::object{{"type", type}, {"object", obj}}) << "\n";
    } else if (*fmt == output::yaml) {
      c.out << "---\n" << specs::to_yaml(obj);
    } else {
      print_objects(c.out, *k, {obj}, *fmt, true, false, f.event_view);
    }
    c.out.flush();
    return true;
  };
  // Lists (or gets) and returns the revision to watch from. The first listing
  // prints like a plain get; a relist after 410 Gone prints the current state
  // as watch lines, so changes made while the watch was away are not lost.
  auto list = [&](bool initial) -> std::optional<std::uint64_t> {
    std::string path = f.name.empty() || f.watch
                           ? resource_path(*k) + (q.empty() ? "" : "?" + q.substr(1))
                           : resource_path(*k, f.name);
    auto fetched = fetch_items(c, path);
    if (!fetched) return std::nullopt;
    auto& [items, rv] = *fetched;
    if (!initial) {
      for (const auto& o : items) print_event("ADDED", o);
    } else if (items.empty() && !f.watch && (*fmt == output::table || *fmt == output::wide)) {
      c.err << "No resources found\n";
    } else if (!f.name.empty() && f.watch && items.empty()) {
      c.err << "Error from server (NotFound): " << k->plural << "." << specs::api_group << " \""
            << f.name << "\" not found\n";
      return std::nullopt;
    } else {
      print_objects(c.out, *k, items, *fmt, !f.name.empty(), true, f.event_view);
      c.out.flush();
    }
    return rv;
  };
  auto rv = list(true);
  if (!rv) return 1;
  if (!f.watch) return 0;
  auto deadline = std::chrono::steady_clock::time_point::max();
  if (auto d = parse_duration(f.timeout); d.count() > 0)
    deadline = std::chrono::steady_clock::now() + d;
  bool ok = watch_loop(c, *k, q, *rv, deadline, print_event, [&] { return list(false); });
  return ok ? 0 : 1;
}

}  // namespace

command define_get(CLI::App& app) {
  auto f = std::make_shared<get_flags>();
  auto* sub = app.add_subcommand("get", "List objects, or show one");
  sub->add_option(
         "kind", f->kind,
         "workspace, portroute, nestedhost, workspacetemplate, host (or plural, or ws/pr/nh/wst)")
      ->required();
  sub->add_option("name", f->name, "Object name");
  sub->add_option("-o,--output", f->output, "yaml, json, wide or name");
  sub->add_option("-l,--selector", f->selector, "Label selector, e.g. app=web,tier!=db");
  sub->add_flag("-w,--watch", f->watch, "After listing, watch for changes");
  sub->add_option("--timeout", f->timeout, "With -w: stop watching after this long (e.g. 30s)")
      ->check(duration_check());
  return {sub, [f](context& c) { return cmd_get(c, *f); }};
}

command define_events(CLI::App& app) {
  auto f = std::make_shared<get_flags>();
  f->kind = "events";
  f->event_view = true;
  auto* sub = app.add_subcommand("events", "List events, oldest first (-w to follow)");
  sub->add_flag("-w,--watch", f->watch, "After listing, print new events as they happen");
  sub->add_option("-o,--output", f->output, "yaml, json, wide or name");
  sub->add_option("--timeout", f->timeout, "With -w: stop after this long")
      ->check(duration_check());
  return {sub, [f](context& c) { return cmd_get(c, *f); }};
}

namespace {

// Name, kind, metadata and ownership, one "Label:  value" line each.
void describe_metadata(std::ostream& out, const specs::kind_info& k, const json::value& o) {
  auto field = [&](const std::string& label, const std::string& value) {
    out << label << ":" << std::string(label.size() < 20 ? 20 - label.size() : 1, ' ')
        << (value.empty() ? "<none>" : value) << "\n";
  };
  auto map_text = [&](const char* path, bool skip_ours) {
    std::string s;
    if (const auto* m = specs::find_path(o, path); m && m->is_object())
      for (const auto& kv : m->get_object()) {
        if (skip_ours && std::string_view(kv.key()).rfind("rockpool.dev/", 0) == 0) continue;
        if (!s.empty()) s += "\n" + std::string(21, ' ');
        s += std::string(kv.key()) + "=" +
             (kv.value().is_string() ? std::string(kv.value().get_string())
                                     : json::serialize(kv.value()));
      }
    return s;
  };
  field("Name", string_at(o, "metadata.name"));
  field("Kind", k.kind);
  field("API Version", specs::api_version);
  field("UID", string_at(o, "metadata.uid"));
  field("Labels", map_text("metadata.labels", false));
  field("Annotations", map_text("metadata.annotations", true));
  field("Managed By", specs::annotation(o, specs::managed_by_annotation));
  field("Created", string_at(o, "metadata.creationTimestamp"));
  auto gen = specs::int_at(o, "metadata.generation");
  field("Generation", gen ? std::to_string(*gen) : "");
  field("Resource Version", string_at(o, "metadata.resourceVersion"));
  std::string fins;
  if (const auto* f = specs::find_path(o, "metadata.finalizers"); f && f->is_array())
    for (const auto& e : f->get_array())
      fins += (fins.empty() ? "" : ", ") + std::string(e.is_string() ? e.get_string() : "");
  field("Finalizers", fins);
  if (auto dt = string_at(o, "metadata.deletionTimestamp"); !dt.empty())
    field("Deletion Requested", dt);
}

// The spec as YAML and the status with its conditions.
void describe_state(std::ostream& out, const json::value& o) {
  if (const auto* spec = specs::find_path(o, "spec")) {
    out << "Spec:\n";
    std::istringstream lines(specs::to_yaml(*spec));
    for (std::string line; std::getline(lines, line);) out << "  " << line << "\n";
  }
  out << "Status:\n";
  auto og = specs::int_at(o, "status.observedGeneration");
  out << "  Phase:                " << or_dash(string_at(o, "status.phase")) << "\n";
  out << "  Observed Generation:  " << (og ? std::to_string(*og) : "-") << "\n";
  out << "Conditions:\n";
  const auto* conds = specs::find_path(o, "status.conditions");
  if (!conds || !conds->is_array() || conds->get_array().empty()) {
    out << "  <none>\n";
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"  TYPE", "STATUS", "REASON", "LAST TRANSITION", "MESSAGE"}};
    for (const auto& cnd : conds->get_array())
      rows.push_back({"  " + string_at(cnd, "type"), string_at(cnd, "status"),
                      or_dash(string_at(cnd, "reason")),
                      or_dash(string_at(cnd, "lastTransitionTime")), string_at(cnd, "message")});
    print_table(out, rows);
  }
}

// The object's events, oldest first.
void describe_events(context& c, const json::value& o) {
  auto& out = c.out;
  out << "Events:\n";
  auto ev = c.client.request("GET", std::string("/apis/") + specs::api_version + "/events");
  std::vector<json::value> mine;
  if (ev.ok() && ev->status == 200)
    if (auto list = specs::parse_json(ev->body); list.ok())
      if (const auto* items = specs::find_path(*list, "items"); items && items->is_array())
        for (const auto& e : items->get_array())
          if (string_at(e, "spec.involvedObject.uid") == string_at(o, "metadata.uid"))
            mine.push_back(e);
  if (mine.empty()) {
    out << "  <none>\n";
  } else {
    std::sort(mine.begin(), mine.end(), [](const json::value& a, const json::value& b) {
      return string_at(a, "spec.lastTimestamp") < string_at(b, "spec.lastTimestamp");
    });
    std::vector<std::vector<std::string>> rows = {{"  TYPE", "REASON", "AGE", "COUNT", "MESSAGE"}};
    for (const auto& e : mine)
      rows.push_back({"  " + string_at(e, "spec.type"), string_at(e, "spec.reason"),
                      age_since(string_at(e, "spec.lastTimestamp")),
                      std::to_string(specs::int_at(e, "spec.count").value_or(1)),
                      string_at(e, "spec.message")});
    print_table(out, rows);
  }
}

int cmd_describe(context& c, const std::string& kind, const std::string& name) {
  const auto* k = require_kind(c, kind);
  if (!k) return 1;
  auto obj = fetch(c, *k, name);
  if (!obj.ok()) {
    c.err << obj.err().message << "\n";
    return 1;
  }
  describe_metadata(c.out, *k, *obj);
  describe_state(c.out, *obj);
  describe_events(c, *obj);
  return 0;
}

}  // namespace

command define_describe(CLI::App& app) {
  auto f = std::make_shared<std::pair<std::string, std::string>>();
  auto* sub = app.add_subcommand("describe", "Show an object's details and conditions");
  sub->add_option("kind", f->first)->required();
  sub->add_option("name", f->second)->required();
  return {sub, [f](context& c) { return cmd_describe(c, f->first, f->second); }};
}

}  // namespace rockpool::cli
