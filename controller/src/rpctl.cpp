#include "rockpool/controller/rpctl.hpp"

#include "cli/cli.hpp"

#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/controller/client.hpp"
#include "rockpool/controller/text_diff.hpp"
#include "rockpool/controller/version.hpp"
#include "rockpool/specs/base64.hpp"
#include "rockpool/specs/clock.hpp"
#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/columns.hpp"
#include "rockpool/specs/manifests.hpp"
#include "rockpool/specs/object_model.hpp"
#include "rockpool/specs/object_writer.hpp"
#include "rockpool/specs/schema.hpp"
#include "rockpool/specs/validation.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <set>
#include <sstream>
#include <thread>

namespace rockpool::controller {

namespace json = boost::json;
namespace fs = std::filesystem;
using specs::string_at;

using namespace cli;

namespace {

constexpr const char* default_server = "unix:///run/rockpool/rockpoold.sock";


std::string ref(const json::value& obj) {
  const auto* k = specs::find_kind(string_at(obj, "kind"));
  return (k ? k->singular : string_at(obj, "kind")) + "/" + string_at(obj, "metadata.name");
}


const specs::kind_info* require_kind(context& c, const std::string& name) {
  const auto* k = specs::find_kind(name);
  if (k == nullptr) {
    std::string known;
    for (const auto& kk : specs::kinds()) known += (known.empty() ? "" : ", ") + kk.singular;
    c.err << "error: the server doesn't have a resource type \"" << name << "\" (known: " << known
          << ")\n";
  }
  return k;
}

// What rpctl can check before sending: schemas and the kinds' rules, over
// its own input only (the server checks against what is stored).
specs::validation_context client_validation() {
  specs::validation_context ctx;
  ctx.rules = &actors::kind_rules();
  return ctx;
}

std::string age_since(const std::string& ts) {
  if (ts.empty()) return "<unknown>";
  return specs::format_age(std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now() - specs::parse_rfc3339(ts)));
}

// A field of the condition of this type, or "-" when there is none.
std::string condition_field(const json::value& obj, const std::string& type, const char* field) {
  const auto* conds = specs::find_path(obj, "status.conditions");
  if (conds && conds->is_array())
    for (const auto& c : conds->get_array())
      if (string_at(c, "type") == type) return string_at(c, field);
  return "-";
}

std::string condition_status(const json::value& obj, const std::string& type) {
  return condition_field(obj, type, "status");
}

std::string condition_message(const json::value& obj, const std::string& type) {
  return condition_field(obj, type, "message");
}

std::string or_dash(std::string s) {
  return s.empty() ? "-" : s;
}

// A table row of `get`: NAME, then the kind's CRD columns (priority > 0
// only when wide), as kubectl prints custom resources.
std::vector<std::string> table_row(const specs::kind_info& k, const json::value* o, bool wide) {
  std::vector<std::string> r = {o ? string_at(*o, "metadata.name") : "NAME"};
  auto now = std::chrono::system_clock::now();
  for (const auto& col : k.columns) {
    if (col.priority > 0 && !wide) continue;
    if (!o) {
      std::string title = col.name;
      for (auto& ch : title) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      r.push_back(title);
    } else {
      r.push_back(or_dash(specs::column_cell(col, *o, now)));
    }
  }
  return r;
}

// A row of `rpctl events`, laid out as `kubectl events` does; nullptr: the header.
std::vector<std::string> event_row(const json::value* o) {
  if (!o) return {"LAST SEEN", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"};
  const auto* inv = specs::find_kind(string_at(*o, "spec.involvedObject.kind"));
  return {age_since(string_at(*o, "spec.lastTimestamp")),
          string_at(*o, "spec.type"),
          string_at(*o, "spec.reason"),
          (inv ? inv->singular : string_at(*o, "spec.involvedObject.kind")) + "/" +
              string_at(*o, "spec.involvedObject.name"),
          std::to_string(specs::int_at(*o, "spec.count").value_or(1)),
          string_at(*o, "spec.message")};
}

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 3, ' ');
    }
    out << line << "\n";
  }
}

enum class output { table, wide, yaml, json, name };

std::optional<output> parse_output(const std::string& o) {
  if (o.empty()) return output::table;
  if (o == "wide") return output::wide;
  if (o == "yaml") return output::yaml;
  if (o == "json") return output::json;
  if (o == "name") return output::name;
  return std::nullopt;
}

// event_view: `rpctl events`' own layout, oldest first.
void print_objects(std::ostream& out, const specs::kind_info& k,
                   const std::vector<json::value>& items, output fmt, bool single, bool header,
                   bool event_view = false) {
  switch (fmt) {
    case output::yaml:
    case output::json: {
      json::value v;
      if (single && items.size() == 1) {
        v = items[0];
      } else {
        json::array arr(items.begin(), items.end());
        v = json::object{{"apiVersion", "v1"}, {"kind", "List"}, {"items", std::move(arr)}};
      }
      out << (fmt == output::yaml ? specs::to_yaml(v) : specs::to_pretty_json(v));
      break;
    }
    case output::name:
      for (const auto& o : items) out << ref(o) << "\n";
      break;
    case output::table:
    case output::wide: {
      bool wide = fmt == output::wide;
      auto row = [&](const json::value* o) {
        return event_view ? event_row(o) : table_row(k, o, wide);
      };
      std::vector<std::vector<std::string>> rows;
      if (header) rows.push_back(row(nullptr));
      std::vector<const json::value*> order;
      for (const auto& o : items) order.push_back(&o);
      if (event_view)  // oldest first, as kubectl shows events
        std::stable_sort(
            order.begin(), order.end(), [](const json::value* a, const json::value* b) {
              return string_at(*a, "spec.lastTimestamp") < string_at(*b, "spec.lastTimestamp");
            });
      for (const auto* o : order) rows.push_back(row(o));
      print_table(out, rows);
      break;
    }
  }
}

// "30s", "1.5m", "200ms", "2h" or a number of seconds; nothing for anything else.
std::optional<std::chrono::milliseconds> try_parse_duration(const std::string& s) {
  if (s.empty()) return std::chrono::milliseconds(0);
  std::size_t idx = 0;
  double v = 0;
  try {
    v = std::stod(s, &idx);
  } catch (...) {
    return std::nullopt;
  }
  auto unit = s.substr(idx);
  if (!(unit.empty() || unit == "s" || unit == "ms" || unit == "m" || unit == "h") || v < 0 ||
      v > 1e9)
    return std::nullopt;
  double ms = unit == "ms" ? v : unit == "m" ? v * 60000 : unit == "h" ? v * 3600000 : v * 1000;
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

// For flags already checked by duration_flag.
std::chrono::milliseconds parse_duration(const std::string& s) {
  return try_parse_duration(s).value_or(std::chrono::milliseconds(0));
}

// A resourceVersion from the server; 0 when it is not a number.
std::uint64_t revision_of(const std::string& s) {
  if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos)
    return 0;
  try {
    return std::stoull(s);
  } catch (...) {
    return 0;
  }
}

// Watches a collection from rv, calling on_event(type, object); resumes after
// disconnects and relists (calling on_relist) on Gone. Stops when on_event
// returns false or the deadline passes. Returns false on a hard error.
bool watch_loop(context& c, const specs::kind_info& k, std::string query, std::uint64_t rv,
                std::chrono::steady_clock::time_point deadline,
                const std::function<bool(const std::string&, const json::value&)>& on_event,
                const std::function<std::optional<std::uint64_t>()>& relist) {
  int failures = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto remaining = std::chrono::duration_cast<std::chrono::seconds>(
                         deadline - std::chrono::steady_clock::now())
                         .count();
    std::string path = resource_path(k) + "?watch=true&allowWatchBookmarks=true&resourceVersion=" +
                       std::to_string(rv) + query;
    if (deadline != std::chrono::steady_clock::time_point::max())
      path += "&timeoutSeconds=" + std::to_string(std::max<long long>(1, remaining + 1));
    bool stop = false, gone = false;
    std::string error_body;
    auto st = c.client.stream(
        path,
        [&](std::string_view line) {
          auto ev = specs::parse_json(line);
          if (!ev.ok()) return true;
          auto type = string_at(*ev, "type");
          const auto* obj = specs::find_path(*ev, "object");
          if (obj == nullptr) return true;
          if (type == "ERROR") {
            gone = specs::int_at(*obj, "code") == 410;
            if (!gone) c.err << "error: " << string_at(*obj, "message") << "\n";
            stop = !gone;
            return false;
          }
          auto rvs = string_at(*obj, "metadata.resourceVersion");
          if (!rvs.empty()) rv = revision_of(rvs);
          if (type == "BOOKMARK") return true;
          if (!on_event(type, *obj)) {
            stop = true;
            return false;
          }
          return true;
        },
        &error_body);
    if (stop) return true;
    if (st.ok() && *st == 410) gone = true;
    if (st.ok() && *st != 200 && *st != 410) {
      c.err << server_error(client_response{*st, error_body, {}}) << "\n";
      return false;
    }
    if (gone) {
      auto fresh = relist();
      if (!fresh) return false;
      rv = *fresh;
      continue;
    }
    if (!st.ok()) {
      if (++failures > 30) {
        c.err << "error: " << st.err().message << "\n";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(2000, 100 * failures)));
    } else {
      failures = 0;
    }
  }
  return true;
}

// ---- commands ----

struct apply_flags {
  std::vector<std::string> files;
  bool recursive = false;
  std::string dry_run = "none";
  bool prune = false;
  std::string selector;
  bool force_conflicts = false;
  std::string field_manager = "rpctl";
};

// The object_writer of rpctl: rockpoold's API over HTTP.
class api_writer final : public specs::object_writer {
 public:
  explicit api_writer(api_client& client) : client_(client) {}

  specs::result<specs::write_outcome> apply(const json::value& obj, const std::string& manager,
                                            bool force, bool dry_run) override {
    const auto* k = specs::find_kind(string_at(obj, "kind"));
    std::string path = resource_path(*k, string_at(obj, "metadata.name")) +
                       "?fieldManager=" + url_encode(manager) + (force ? "&force=true" : "") +
                       (dry_run ? "&dryRun=All" : "");
    auto r = client_.request("PATCH", path, json::serialize(obj), "application/apply-patch+yaml");
    if (!r.ok()) return r.err();
    if (r->status >= 300) return refusal(*r);
    auto body = specs::parse_json(r->body);
    if (!body.ok()) return body.err();
    auto effect = r->headers.count("rockpool-effect") ? r->headers.at("rockpool-effect") : "";
    return specs::write_outcome{
        std::move(*body), specs::parse_effect(effect).value_or(specs::write_effect::configured)};
  }

  specs::result<json::value> get(const std::string& kind, const std::string& name) override {
    auto r = client_.request("GET", resource_path(*specs::find_kind(kind), name));
    if (!r.ok()) return r.err();
    if (r->status != 200) return refusal(*r);
    return specs::parse_json(r->body);
  }

  specs::result<std::vector<json::value>> list(const std::string& kind,
                                               const std::string& selector) override {
    auto r = client_.request(
        "GET", resource_path(*specs::find_kind(kind)) + "?labelSelector=" + url_encode(selector));
    if (!r.ok()) return r.err();
    if (r->status != 200) return refusal(*r);
    auto list = specs::parse_json(r->body);
    if (!list.ok()) return list.err();
    const auto* items = specs::find_path(*list, "items");
    if (!items || !items->is_array()) return std::vector<json::value>{};
    return std::vector<json::value>(items->get_array().begin(), items->get_array().end());
  }

  specs::result<specs::write_effect> remove(const std::string& kind, const std::string& name,
                                            bool dry_run) override {
    auto r = client_.request(
        "DELETE", resource_path(*specs::find_kind(kind), name) + (dry_run ? "?dryRun=All" : ""));
    if (!r.ok()) return r.err();
    if (r->status >= 300) return refusal(*r);
    return r->status == 202 ? specs::write_effect::terminating : specs::write_effect::deleted;
  }

 private:
  // The server's Status as an error (a 503 too is reason::unavailable).
  static specs::error refusal(const client_response& r) {
    auto why = r.status == 404   ? specs::reason::not_found
               : r.status == 409 ? specs::reason::conflict
               : r.status == 422 ? specs::reason::invalid
               : r.status == 503 ? specs::reason::unavailable
                                 : specs::reason::bad_request;
    return specs::make_error(why, server_error(r));
  }

  api_client& client_;
};

// Loads and validates input, in apply order; prints the problems and returns
// nothing when there are any.
std::optional<std::vector<specs::document>> checked_input(context& c,
                                                          const std::vector<std::string>& files,
                                                          bool recursive,
                                                          const std::string& refusal) {
  auto set = specs::load_and_validate(files, recursive, std::cin, client_validation());
  if (set.problems.empty()) return std::move(set.documents);
  for (const auto& p : set.problems) c.err << "error: " << p.to_string() << "\n";
  if (!refusal.empty())
    c.err << "error: " << refusal << ": " << set.problems.size() << " problem"
          << (set.problems.size() == 1 ? "" : "s") << " in the input\n";
  return std::nullopt;
}

// Deletes what this manager applied earlier, matches the selector, and is
// no longer in the input. Returns the number of failures.
int prune(context& c, specs::object_writer& writer, const apply_flags& f,
          const std::set<std::string>& applied, bool dry_run, const std::string& suffix) {
  int failed = 0;
  for (const auto& k : specs::kinds()) {
    auto items = writer.list(k.kind, f.selector);
    if (!items.ok()) continue;
    for (const auto& item : *items) {
      if (applied.count(specs::object_key(item))) continue;
      if (specs::annotation(item, specs::managed_by_annotation) != f.field_manager) continue;
      if (dry_run) {
        c.out << ref(item) << " pruned" << suffix << "\n";
        continue;
      }
      if (auto d = writer.remove(k.kind, string_at(item, "metadata.name"), false); d.ok()) {
        c.out << ref(item) << " pruned\n";
      } else {
        c.err << "error: pruning " << ref(item) << ": " << d.err().message << "\n";
        ++failed;
      }
    }
  }
  return failed;
}

// Applies of one batch run this many at a time, each on its own connection,
// so the server's group commit can share one sync among them.
constexpr std::size_t apply_parallelism = 16;

// Applies docs[first, last) concurrently; results in document order.
std::vector<specs::result<specs::write_outcome>> apply_batch(
    const client_options& options, const std::vector<specs::document>& docs, std::size_t first,
    std::size_t last, const apply_flags& f, bool dry_run) {
  std::vector<std::optional<specs::result<specs::write_outcome>>> results(last - first);
  std::atomic<std::size_t> next{first};
  auto work = [&] {
    api_client client(options);
    api_writer writer(client);
    for (auto i = next++; i < last; i = next++)
      results[i - first] = writer.apply(docs[i].value, f.field_manager, f.force_conflicts, dry_run);
  };
  std::vector<std::thread> workers;
  for (std::size_t w = 1; w < std::min(apply_parallelism, last - first); ++w)
    workers.emplace_back(work);
  work();
  for (auto& t : workers) t.join();
  std::vector<specs::result<specs::write_outcome>> out;
  for (auto& r : results) out.push_back(std::move(*r));
  return out;
}

// Prints each document's outcome in input order. Returns false when rockpoold
// could not be reached (nothing more should be tried); counts refusals.
bool report(context& c, const std::vector<specs::document>& docs, std::size_t first,
            std::vector<specs::result<specs::write_outcome>>& results, const std::string& suffix,
            int& failed) {
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& doc = docs[first + i];
    auto& r = results[i];
    if (!r.ok() && r.err().why == specs::reason::unavailable) {
      c.err << "error: " << r.err().message << "\n";
      return false;
    }
    if (!r.ok()) {
      c.err << doc.source << ": document " << doc.index << " (" << doc.label()
            << "): " << r.err().message << "\n";
      ++failed;
      continue;
    }
    c.out << ref(doc.value) << " " << specs::effect_name(r->effect) << suffix << "\n";
  }
  return true;
}

int cmd_apply(context& c, const apply_flags& f) {
  if (f.prune && f.selector.empty()) {
    c.err << "error: --prune needs a label selector (-l) so it cannot delete everything\n";
    return 2;
  }
  auto docs = checked_input(c, f.files, f.recursive, "nothing applied");
  if (!docs) return 1;
  if (docs->empty()) {
    c.err << "error: no objects passed to apply\n";
    return 1;
  }
  bool dry_client = f.dry_run == "client";
  bool dry_server = f.dry_run == "server";
  std::string suffix = dry_client ? " (dry run)" : dry_server ? " (server dry run)" : "";
  std::set<std::string> applied;
  for (const auto& doc : *docs) applied.insert(specs::object_key(doc.value));
  int failed = 0;
  // Kinds go in apply order (templates, workspaces, nested hosts, routes), so
  // what an object refers to exists before it; within a kind, concurrently.
  for (std::size_t first = 0; first < docs->size();) {
    auto last = first;
    auto kind = string_at((*docs)[first].value, "kind");
    while (last < docs->size() && string_at((*docs)[last].value, "kind") == kind) ++last;
    if (dry_client) {
      for (auto i = first; i < last; ++i)
        c.out << ref((*docs)[i].value) << " validated" << suffix << "\n";
    } else {
      auto results = apply_batch(c.client.options(), *docs, first, last, f, dry_server);
      if (!report(c, *docs, first, results, suffix, failed)) return 1;
    }
    first = last;
  }
  api_writer writer(c.client);
  if (f.prune && failed == 0)
    failed += prune(c, writer, f, applied, dry_client || dry_server, suffix);
  return failed ? 1 : 0;
}

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

specs::result<json::value> fetch(context& c, const specs::kind_info& k, const std::string& name) {
  auto r = c.client.request("GET", resource_path(k, name));
  if (!r.ok()) return r.err();
  if (r->status != 200)
    return specs::make_error(r->status == 404 ? specs::reason::not_found : specs::reason::internal,
                             server_error(*r));
  return specs::parse_json(r->body);
}

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

// Prints the host checks from the Host object the daemon's probe writes.
// Exit 1 when a check that container workspaces need fails.
int cmd_preflight(context& c) {
  const auto* k = specs::find_kind("Host");
  auto host = fetch(c, *k, "local");
  if (!host.ok()) {
    c.err << host.err().message << "\n";
    return 1;
  }
  const auto* conds = specs::find_path(*host, "status.conditions");
  if (!conds || !conds->is_array()) {
    c.err << "error: the host has not been probed yet\n";
    return 1;
  }
  bool ready = false;
  for (const auto& cnd : conds->get_array()) {
    auto type = string_at(cnd, "type");
    if (type == "Ready") {
      ready = string_at(cnd, "status") == "True";
      continue;
    }
    bool ok = string_at(cnd, "status") == "True";
    auto msg = string_at(cnd, "message");
    auto remedy = msg.find("; remedy: ");
    c.out << (ok ? "PASS  " : "FAIL  ") << type << ": " << msg.substr(0, remedy) << "\n";
    if (!ok && remedy != std::string::npos)
      c.out << "      remedy: " << msg.substr(remedy + 10) << "\n";
  }
  c.out << (ready ? "Container workspaces can run on this host.\n"
                  : "A check container workspaces need failed.\n");
  return ready ? 0 : 1;
}

struct wait_flags {
  std::string kind, name, condition = "", timeout = "30s";
};

// kubectl-style wait: --for=condition=TYPE[=true|false] or --for=delete.
int cmd_wait(context& c, const wait_flags& f) {
  const auto* k = require_kind(c, f.kind);
  if (!k) return 1;
  bool for_delete = f.condition == "delete";
  std::string type, want = "True";
  if (!for_delete) {
    constexpr std::string_view prefix = "condition=";
    if (f.condition.rfind(prefix, 0) != 0) {
      c.err << "error: --for must be condition=TYPE[=true|false] or delete, got \"" << f.condition
            << "\"\n";
      return 2;
    }
    type = f.condition.substr(prefix.size());
    if (auto eq = type.find('='); eq != std::string::npos) {
      auto v = type.substr(eq + 1);
      type = type.substr(0, eq);
      want = (v == "false" || v == "False") ? "False" : "True";
    }
  }
  auto met = [&](const json::value& obj) {
    return !for_delete && condition_status(obj, type) == want;
  };
  auto done = [&] {
    c.out << k->singular << "." << specs::api_group << "/" << f.name
          << (for_delete ? " deleted" : " condition met") << "\n";
    return 0;
  };
  auto deadline = std::chrono::steady_clock::now() + parse_duration(f.timeout);
  auto current = fetch(c, *k, f.name);
  if (!current.ok()) {
    if (current.err().why == specs::reason::not_found && for_delete) return done();
    c.err << current.err().message << "\n";
    return 1;
  }
  if (met(*current)) return done();
  bool satisfied = false;
  auto rv = string_at(*current, "metadata.resourceVersion");
  watch_loop(
      c, *k, "&fieldSelector=" + url_encode("metadata.name=" + f.name), revision_of(rv), deadline,
      [&](const std::string& type_, const json::value& obj) {
        satisfied = for_delete ? type_ == "DELETED" : (type_ != "DELETED" && met(obj));
        return !satisfied;
      },
      [&]() -> std::optional<std::uint64_t> {
        auto cur = fetch(c, *k, f.name);
        if (!cur.ok()) {
          satisfied = for_delete && cur.err().why == specs::reason::not_found;
          return std::nullopt;
        }
        satisfied = met(*cur);
        return revision_of(string_at(*cur, "metadata.resourceVersion"));
      });
  if (satisfied) return done();
  c.err << "error: timed out waiting for the condition on " << k->plural << "/" << f.name << "\n";
  return 1;
}

struct delete_flags {
  std::vector<std::string> args;
  std::vector<std::string> files;
  bool wait = false;
  std::string timeout = "60s";
};

int cmd_delete(context& c, const delete_flags& f) {
  std::vector<std::pair<const specs::kind_info*, std::string>> targets;
  if (!f.files.empty()) {
    auto input = specs::load_manifests(f.files, false, std::cin);
    if (!input.problems.empty()) {
      for (const auto& p : input.problems) c.err << "error: " << p.to_string() << "\n";
      return 1;
    }
    for (const auto& d : input.documents) {
      const auto* k = require_kind(c, string_at(d.value, "kind"));
      if (!k) return 1;
      targets.emplace_back(k, string_at(d.value, "metadata.name"));
    }
  } else {
    if (f.args.size() < 2) {
      c.err << "error: delete needs KIND NAME... or -f FILE\n";
      return 2;
    }
    const auto* k = require_kind(c, f.args[0]);
    if (!k) return 1;
    for (std::size_t i = 1; i < f.args.size(); ++i) targets.emplace_back(k, f.args[i]);
  }
  int failed = 0;
  auto deadline = std::chrono::steady_clock::now() + parse_duration(f.timeout);
  for (const auto& [k, name] : targets) {
    auto r = c.client.request("DELETE", resource_path(*k, name));
    if (!r.ok()) {
      c.err << "error: " << r.err().message << "\n";
      return 1;
    }
    if (r->status >= 300) {
      c.err << server_error(*r) << "\n";
      ++failed;
      continue;
    }
    auto obj = specs::parse_json(r->body);
    bool pending = r->status == 202;
    c.out << k->singular << "." << specs::api_group << " \"" << name << "\" deleted"
          << (pending ? " (waiting for finalizers)" : "") << "\n";
    if (!f.wait || !pending) continue;
    auto rv = obj.ok() ? string_at(*obj, "metadata.resourceVersion") : std::string("0");
    bool gone = false;
    watch_loop(
        c, *k, "&fieldSelector=" + url_encode("metadata.name=" + name), revision_of(rv), deadline,
        [&](const std::string& type, const json::value&) {
          gone = type == "DELETED";
          return !gone;
        },
        [&]() -> std::optional<std::uint64_t> {
          auto cur = fetch(c, *k, name);
          if (!cur.ok()) {
            gone = cur.err().why == specs::reason::not_found;
            return std::nullopt;
          }
          return revision_of(string_at(*cur, "metadata.resourceVersion"));
        });
    if (!gone) {
      c.err << "error: timed out waiting for " << k->singular << "/" << name << " to be deleted\n";
      ++failed;
    }
  }
  return failed ? 1 : 0;
}

// Removes fields that differ on every apply and only add noise to a diff.
json::value for_diff(json::value v) {
  if (auto* m = v.as_object().if_contains("metadata"); m && m->is_object()) {
    auto& meta = m->get_object();
    for (const char* f : {"resourceVersion", "uid", "creationTimestamp", "managedFields"})
      meta.erase(f);
    if (auto* a = meta.if_contains("annotations"); a && a->is_object()) {
      a->get_object().erase(specs::managed_by_annotation);
      a->get_object().erase(specs::last_applied_annotation);
      if (a->get_object().empty()) meta.erase("annotations");
    }
  }
  return v;
}

int cmd_diff(context& c, const std::vector<std::string>& files, bool recursive,
             const std::string& manager) {
  auto docs = checked_input(c, files, recursive, "");
  if (!docs) return 2;
  api_writer writer(c.client);
  bool differs = false;
  for (const auto& doc : *docs) {
    auto live = writer.get(string_at(doc.value, "kind"), string_at(doc.value, "metadata.name"));
    if (!live.ok() && live.err().why != specs::reason::not_found) {
      c.err << live.err().message << "\n";
      return 2;
    }
    auto merged = writer.apply(doc.value, manager, false, /*dry_run=*/true);
    if (!merged.ok()) {
      c.err << doc.source << ": document " << doc.index << ": " << merged.err().message << "\n";
      return 2;
    }
    std::string before = live.ok() ? specs::to_yaml(for_diff(*live)) : std::string();
    std::string after = specs::to_yaml(for_diff(merged->object));
    auto d = unified_diff(before, after, "live/" + ref(doc.value), "merged/" + ref(doc.value));
    if (!d.empty()) {
      differs = true;
      c.out << d;
    }
  }
  return differs ? 1 : 0;
}

// rpctl diff gitsync/NAME: what the sync's next run would change, computed by
// the server from a fresh read of the source (GET gitsyncs/NAME/plan).
int cmd_diff_gitsync(context& c, const std::string& name) {
  auto body = get_ok(c, resource_path(*specs::find_kind("GitSync"), name) + "/plan");
  if (!body) return 2;
  auto plan = specs::parse_json(*body);
  if (!plan.ok() || !plan->is_object()) {
    c.err << "error: malformed plan from the server\n";
    return 2;
  }
  if (const auto* ready = plan->as_object().if_contains("sourceReady");
      !ready || !ready->is_bool() || !ready->get_bool()) {
    c.err << "error: the source of gitsync/" << name
          << " cannot be read: " << string_at(*plan, "message") << "\n";
    return 2;
  }
  const auto* problems = specs::find_path(*plan, "problems");
  if (problems && problems->is_array() && !problems->get_array().empty()) {
    for (const auto& p : problems->get_array())
      if (p.is_string()) c.err << p.get_string() << "\n";
    c.err << "error: revision " << string_at(*plan, "revision")
          << " would not be applied (the problems above)\n";
    return 2;
  }
  bool differs = false;
  const auto* changes = specs::find_path(*plan, "changes");
  for (const auto& ch : changes && changes->is_array() ? changes->get_array() : json::array()) {
    auto action = string_at(ch, "action");
    auto object = string_at(ch, "object");
    if (action == "unchanged") continue;
    differs = true;
    if (action == "conflict" || action == "error" || action == "orphan") {
      c.out << "# " << object << ": " << action << ": " << string_at(ch, "message") << "\n";
      continue;
    }
    auto yaml_of = [](const json::value* v) {
      if (v == nullptr || !v->is_object()) return std::string();
      auto shown = for_diff(*v);
      shown.as_object().erase("status");  // the sync never writes status
      return specs::to_yaml(shown);
    };
    c.out << unified_diff(yaml_of(ch.as_object().if_contains("live")),
                          yaml_of(ch.as_object().if_contains("desired")), "live/" + object,
                          "gitsync/" + object);
  }
  if (auto m = string_at(*plan, "message"); !m.empty()) c.err << "note: " << m << "\n";
  return differs ? 1 : 0;
}

struct sync_flags {
  std::string name;
  bool wait = false;
  bool allow_mass_prune = false;
  std::string timeout = "2m";
};

// rpctl sync NAME: asks the sync to run now (a new sync-requested-at
// annotation, as Flux's reconcile.fluxcd.io/requestedAt), and with --wait
// waits until the controller has handled that request.
int cmd_sync(context& c, const sync_flags& f) {
  const auto& k = *specs::find_kind("GitSync");
  auto now = std::chrono::system_clock::now();
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()) %
               std::chrono::seconds(1);
  auto token = specs::format_rfc3339(now);
  token.insert(token.size() - 1, "." + std::to_string(1000000000 + nanos.count()).substr(1));
  json::object annotations{{specs::sync_requested_annotation, token}};
  if (f.allow_mass_prune) annotations[specs::allow_mass_prune_annotation] = token;
  json::value patch = {{"metadata", {{"annotations", std::move(annotations)}}}};
  auto r = c.client.request("PATCH", resource_path(k, f.name), json::serialize(patch),
                            "application/merge-patch+json");
  if (!r.ok()) {
    c.err << r.err().message << "\n";
    return 1;
  }
  if (r->status != 200) {
    c.err << server_error(*r) << "\n";
    return 1;
  }
  c.out << "gitsync." << specs::api_group << "/" << f.name << " sync requested\n";
  if (!f.wait) return 0;
  auto handled = [&](const json::value& obj) {
    return string_at(obj, "status.lastHandledSyncRequest") == token;
  };
  std::optional<json::value> result;
  auto deadline = std::chrono::steady_clock::now() + parse_duration(f.timeout);
  auto rv = revision_of(string_at(*specs::parse_json(r->body), "metadata.resourceVersion"));
  watch_loop(
      c, k, "&fieldSelector=" + url_encode("metadata.name=" + f.name), rv, deadline,
      [&](const std::string& type, const json::value& obj) {
        if (type != "DELETED" && handled(obj)) result = obj;
        return !result;
      },
      [&]() -> std::optional<std::uint64_t> {
        auto cur = fetch(c, k, f.name);
        if (!cur.ok()) return std::nullopt;
        if (handled(*cur)) result = *cur;
        return revision_of(string_at(*cur, "metadata.resourceVersion"));
      });
  if (!result) {
    c.err << "error: timed out waiting for gitsync/" << f.name << " to sync\n";
    return 1;
  }
  bool synced = condition_status(*result, "Synced") == "True";
  (synced ? c.out : c.err) << "gitsync/" << f.name << ": " << condition_message(*result, "Synced")
                           << "\n";
  return synced ? 0 : 1;
}

// rpctl config kubeconfig: the server, CA and token rpctl uses, for kubectl.
int cmd_kubeconfig(context& c) {
  const auto& o = c.client.options();
  if (o.server.rfind("https://", 0) != 0) {
    c.err << "error: a kubeconfig needs rockpoold's HTTPS listener (--listen): run with "
             "--server https://127.0.0.1:PORT --certificate-authority DATA_DIR/tls/ca.crt "
             "--token TOKEN (or ROCKPOOL_SERVER, ROCKPOOL_CA_FILE, ROCKPOOL_TOKEN)\n";
    return 1;
  }
  if (o.token.empty()) {
    c.err << "error: a kubeconfig needs the bearer token (--token or ROCKPOOL_TOKEN)\n";
    return 1;
  }
  std::string ca;
  if (!o.ca_file.empty()) {
    std::ifstream in(o.ca_file, std::ios::binary);
    if (!in) {
      c.err << "error: cannot read " << o.ca_file << "\n";
      return 1;
    }
    ca.assign(std::istreambuf_iterator<char>(in), {});
  }
  json::value cluster = {{"server", o.server}};
  if (!ca.empty()) cluster.as_object()["certificate-authority-data"] = specs::base64_encode(ca);
  json::value config = {
      {"apiVersion", "v1"},
      {"kind", "Config"},
      {"clusters", json::array{{{"name", "rockpool"}, {"cluster", cluster}}}},
      {"users", json::array{{{"name", "rockpool"}, {"user", {{"token", o.token}}}}}},
      {"contexts", json::array{{{"name", "rockpool"},
                                {"context", {{"cluster", "rockpool"}, {"user", "rockpool"}}}}}},
      {"current-context", "rockpool"}};
  c.out << specs::to_yaml(config);
  return 0;
}

int cmd_explain(context& c, const std::string& what, bool recursive) {
  auto text = specs::explain(what, recursive);
  if (!text) {
    c.err << "error: \"" << what
          << "\" is not a known kind or field (try rpctl explain workspace)\n";
    return 1;
  }
  c.out << *text;
  return 0;
}

int cmd_version(context& c, bool client_only) {
  c.out << "Client Version: " << version << "\n";
  if (client_only) return 0;
  auto r = c.client.request("GET", "/version");
  if (!r.ok()) {
    c.err << "error: " << r.err().message << "\n";
    return 1;
  }
  if (r->status != 200) {
    c.err << server_error(*r) << "\n";
    return 1;
  }
  auto v = specs::parse_json(r->body);
  c.out << "Server Version: " << (v.ok() ? string_at(*v, "version") : std::string("?"));
  if (v.ok() && string_at(*v, "role") == "inner")
    c.out << " (inner Rockpool of nestedhost/" << string_at(*v, "nestedHost") << ")";
  c.out << "\n";
  return 0;
}

// GET of a NestedHost subresource; the body, or a message on err.
std::optional<std::string> nested_host_get(context& c, const std::string& name,
                                           const std::string& what) {
  return get_ok(c, resource_path(*specs::find_kind("NestedHost"), name) + "/" + what);
}

int cmd_credentials(context& c, const std::string& name, const std::string& output) {
  auto body = nested_host_get(c, name, "credentials");
  if (!body) return 1;
  if (output == "json") {
    c.out << *body << "\n";
    return 0;
  }
  auto v = specs::parse_json(*body);
  if (!v.ok()) {
    c.err << "error: malformed credentials from the server\n";
    return 1;
  }
  c.out << "# The inner Rockpool of nestedhost/" << name << ", through the outer routes.\n"
        << "# Use: eval \"$(rpctl nestedhost credentials " << name << ")\"; rpctl get ws\n"
        << "# Inner UI: " << string_at(*v, "ui") << "\n"
        << "export ROCKPOOL_SERVER=" << string_at(*v, "server") << "\n"
        << "export ROCKPOOL_TOKEN=" << string_at(*v, "token") << "\n";
  return 0;
}

struct logs_flags {
  std::string target, component;
  std::size_t limit_bytes = 0;
  bool follow = false;
};

int cmd_logs(context& c, const logs_flags& f) {
  auto slash = f.target.find('/');
  const auto* k = specs::find_kind(f.target.substr(0, slash));
  if (slash == std::string::npos || k == nullptr || slash + 1 == f.target.size()) {
    c.err << "error: logs takes KIND/NAME (workspace/NAME, nestedhost/NAME), got \"" << f.target
          << "\"\n";
    return 2;
  }
  auto name = f.target.substr(slash + 1);
  auto path = resource_path(*k, name) + "/log";
  std::string query;
  if (!f.component.empty()) query += "component=" + url_encode(f.component);
  if (f.limit_bytes)
    query += (query.empty() ? "" : "&") + std::string("limitBytes=") + std::to_string(f.limit_bytes);
  auto what = query.empty() ? path : path + "?" + query;
  auto fetch = [&] { return get_ok(c, what); };
  auto body = fetch();
  if (!body) return 1;
  c.out << *body << std::flush;
  // -f: look again every second and print what follows what was printed.
  for (std::string last = *body; f.follow;) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto next = fetch();
    if (!next) return 1;
    auto tail = last.substr(last.size() - std::min<std::size_t>(last.size(), 512));
    auto at = tail.empty() ? std::string::npos : next->rfind(tail);
    c.out << (at == std::string::npos ? *next : next->substr(at + tail.size())) << std::flush;
    last = std::move(*next);
  }
  return 0;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v && *v) ? std::string(v) : fallback;
}

}  // namespace

// One subcommand: its flags live in the closure; run() is called when it was given.

CLI::Validator duration_check() {
  return CLI::Validator(
      [](std::string& v) {
        return try_parse_duration(v) ? std::string()
                                     : "\"" + v + "\" is not a duration (e.g. 30s, 500ms, 2m)";
      },
      "DURATION");
}

command define_apply(CLI::App& app) {
  auto f = std::make_shared<apply_flags>();
  auto* sub =
      app.add_subcommand("apply", "Create or update objects from files, a directory or stdin");
  sub->add_option("-f,--filename", f->files, "FILE, DIR or - (repeatable)")->required();
  sub->add_flag("-R,--recursive", f->recursive, "Recurse into directories");
  sub->add_option("--dry-run", f->dry_run,
                  "none, client (validate only) or server (validate and admit, write nothing)")
      ->expected(0, 1)
      ->default_str("none")
      ->check(CLI::IsMember({"none", "client", "server"}));
  sub->add_flag(
      "--prune", f->prune,
      "Delete objects this field manager applied before that match -l but are not in the input");
  sub->add_option("-l,--selector", f->selector, "Label selector for --prune");
  sub->add_flag("--force-conflicts", f->force_conflicts,
                "Take over objects managed by another field manager");
  sub->add_option("--field-manager", f->field_manager,
                  "Name recorded as the owner of applied objects")
      ->capture_default_str();
  return {sub, [f](context& c) { return cmd_apply(c, *f); }};
}

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

command define_describe(CLI::App& app) {
  auto f = std::make_shared<std::pair<std::string, std::string>>();
  auto* sub = app.add_subcommand("describe", "Show an object's details and conditions");
  sub->add_option("kind", f->first)->required();
  sub->add_option("name", f->second)->required();
  return {sub, [f](context& c) { return cmd_describe(c, f->first, f->second); }};
}

command define_delete(CLI::App& app) {
  auto f = std::make_shared<delete_flags>();
  auto* sub = app.add_subcommand("delete", "Delete objects by name or from files");
  sub->add_option("args", f->args, "KIND NAME...");
  sub->add_option("-f,--filename", f->files, "Delete the objects defined in these files");
  sub->add_flag("--wait", f->wait, "Wait until finalizers have run and the object is gone");
  sub->add_option("--timeout", f->timeout, "How long --wait waits")
      ->check(duration_check())
      ->capture_default_str();
  return {sub, [f](context& c) { return cmd_delete(c, *f); }};
}

struct diff_flags {
  std::string target;
  std::vector<std::string> files;
  bool recursive = false;
  std::string manager = "rpctl";
};

command define_diff(CLI::App& app) {
  auto f = std::make_shared<diff_flags>();
  auto* sub =
      app.add_subcommand("diff", "Show what apply would change (exit 0 same, 1 differs, 2 error)");
  sub->add_option("target", f->target, "gitsync/NAME: what that sync's next run would change");
  sub->add_option("-f,--filename", f->files, "FILE, DIR or -");
  sub->add_flag("-R,--recursive", f->recursive, "Recurse into directories");
  sub->add_option("--field-manager", f->manager)->capture_default_str();
  return {sub, [f](context& c) {
            if (f->target.empty() == f->files.empty()) {
              c.err << "error: give either -f FILE... or gitsync/NAME\n";
              return 2;
            }
            if (f->files.empty()) {
              auto slash = f->target.find('/');
              const auto* k = specs::find_kind(f->target.substr(0, slash));
              if (slash == std::string::npos || k == nullptr || k->kind != "GitSync") {
                c.err << "error: diff takes gitsync/NAME, got \"" << f->target << "\"\n";
                return 2;
              }
              return cmd_diff_gitsync(c, f->target.substr(slash + 1));
            }
            return cmd_diff(c, f->files, f->recursive, f->manager);
          }};
}

command define_explain(CLI::App& app) {
  auto f = std::make_shared<std::pair<std::string, bool>>();
  auto* sub = app.add_subcommand("explain", "Document a kind or field from its CRD schema");
  sub->add_option("what", f->first, "KIND or KIND.field.path, e.g. workspace.spec.resources")
      ->required();
  sub->add_flag("--recursive", f->second, "Show every nested field");
  return {sub, [f](context& c) { return cmd_explain(c, f->first, f->second); }};
}

command define_wait(CLI::App& app) {
  auto f = std::make_shared<wait_flags>();
  auto* sub = app.add_subcommand("wait", "Wait until an object has a condition, or is deleted");
  sub->add_option("kind", f->kind)->required();
  sub->add_option("name", f->name)->required();
  sub->add_option("--for", f->condition, "condition=TYPE[=true|false], or delete")->required();
  sub->add_option("--timeout", f->timeout, "Give up after this long (exit 1)")
      ->check(duration_check())
      ->capture_default_str();
  return {sub, [f](context& c) { return cmd_wait(c, *f); }};
}

command define_sync(CLI::App& app) {
  auto f = std::make_shared<sync_flags>();
  auto* sub = app.add_subcommand("sync", "Ask a GitSync to read its source and apply it now");
  sub->add_option("name", f->name, "The GitSync")->required();
  sub->add_flag("--wait", f->wait, "Wait for the result (exit 1 unless Synced)");
  sub->add_flag("--allow-mass-prune", f->allow_mass_prune,
                "Let this run prune more than spec.maxPrune");
  sub->add_option("--timeout", f->timeout, "How long --wait waits")
      ->check(duration_check())
      ->capture_default_str();
  return {sub, [f](context& c) { return cmd_sync(c, *f); }};
}

command define_config(CLI::App& app) {
  auto* sub = app.add_subcommand("config", "Client configuration for other tools");
  sub->require_subcommand(1);
  sub->add_subcommand("kubeconfig",
                      "Print a kubeconfig for kubectl: this rpctl's https:// server, its CA "
                      "(--certificate-authority) and token");
  return {sub, cmd_kubeconfig};
}

command define_version(CLI::App& app) {
  auto client_only = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("version", "Print client and server versions");
  sub->add_flag("--client", *client_only, "Client version only");
  return {sub, [client_only](context& c) { return cmd_version(c, *client_only); }};
}

command define_nested_host(CLI::App& app) {
  auto name = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>("env");
  auto* sub = app.add_subcommand("nestedhost", "Reach a nested host's inner Rockpool");
  sub->require_subcommand(1);
  auto* creds = sub->add_subcommand(
      "credentials", "Print the inner control plane's server and token (read through Incus)");
  creds->add_option("NAME", *name, "The NestedHost")->required();
  creds->add_option("-o,--output", *output, "env (shell exports) or json")
      ->check(CLI::IsMember({"env", "json"}))
      ->capture_default_str();
  return {sub, [name, output](context& c) { return cmd_credentials(c, *name, *output); }};
}

command define_logs(CLI::App& app) {
  auto f = std::make_shared<logs_flags>();
  auto* sub = app.add_subcommand(
      "logs", "Print the logs inside a workspace or nested host (read through Incus)");
  sub->add_option("TARGET", f->target, "workspace/NAME or nestedhost/NAME")->required();
  sub->add_option("--component", f->component,
                  "workspace: ide (default), init, dhcp; nestedhost: rockpoold (default), "
                  "caddy, incusd, init, dhcp");
  sub->add_option("--limit-bytes", f->limit_bytes, "Only the last N bytes (default 64 KiB)");
  sub->add_flag("-f,--follow", f->follow, "Keep printing what is appended");
  return {sub, [f](context& c) { return cmd_logs(c, *f); }};
}

// Parses argv; returns an exit code when rpctl should stop now (help, usage error).
std::optional<int> parse(CLI::App& app, int argc, char** argv, std::ostream& out,
                         std::ostream& err) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    out << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp& e) {
    out << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    // Subcommand help requests surface as CallForHelp from the subcommand.
    if (e.get_exit_code() == 0) {
      for (auto* sub : app.get_subcommands()) out << sub->help();
      return 0;
    }
    err << "error: " << e.what() << "\n";
    return 2;
  }
  return std::nullopt;
}

int run_rpctl(int argc, char** argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"rpctl: command-line client for Rockpool's control plane"};
  app.require_subcommand(1);
  client_options co{env_or("ROCKPOOL_SERVER", default_server), env_or("ROCKPOOL_TOKEN", ""), 0};
  std::string request_timeout = "30s";
  app.add_option("--server", co.server,
                 "unix:///path.sock or https://127.0.0.1:PORT (env ROCKPOOL_SERVER)")
      ->capture_default_str();
  app.add_option("--token", co.token, "Bearer token for TCP servers (env ROCKPOOL_TOKEN)");
  co.ca_file = env_or("ROCKPOOL_CA_FILE", "");
  app.add_option("--certificate-authority", co.ca_file,
                 "PEM CA of an https:// server, e.g. rockpoold's DATA_DIR/tls/ca.crt (env "
                 "ROCKPOOL_CA_FILE)");
  app.add_option("--request-timeout", request_timeout, "Timeout of one request, e.g. 30s")
      ->check(duration_check())
      ->capture_default_str();
  std::vector<command> commands = {
      define_apply(app),
      define_get(app),
      define_describe(app),
      define_delete(app),
      define_diff(app),
      define_explain(app),
      define_wait(app),
      define_events(app),
      {app.add_subcommand("preflight",
                          "Check the host: Incus, containers, VMs, KVM, nested KVM, "
                          "vhost_vsock, Caddy"),
       cmd_preflight},
      define_nested_host(app),
      define_logs(app),
      define_open(app),
      define_exec(app),
      define_shell(app),
      define_sync(app),
      define_config(app),
      define_version(app)};
  if (auto stop = parse(app, argc, argv, out, err)) return *stop;
  co.timeout_ms = static_cast<long>(parse_duration(request_timeout).count());
  context c{out, err, api_client(co)};
  for (auto& cmd : commands)
    if (cmd.app->parsed()) return cmd.run(c);
  return 2;
}

}  // namespace rockpool::controller
