// rpctl apply and rpctl diff: documents from files, directories or stdin,
// checked here first, then applied (server-side apply) or compared.
#include "rockpool/cli/cli.hpp"

#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/cli/text_diff.hpp"
#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/json.hpp"
#include "rockpool/specs/manifests.hpp"
#include "rockpool/specs/object_model.hpp"
#include "rockpool/specs/object_writer.hpp"
#include "rockpool/specs/validation.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <set>
#include <thread>

namespace rockpool::cli {

namespace json = boost::json;
using specs::string_at;

namespace {

// What rpctl can check before sending: schemas and the kinds' rules, over
// its own input only (the server checks against what is stored).
specs::validation_context client_validation() {
  specs::validation_context ctx;
  ctx.rules = &actors::kind_rules();
  return ctx;
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

}  // namespace

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

namespace {

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

struct diff_flags {
  std::string target;
  std::vector<std::string> files;
  bool recursive = false;
  std::string manager = "rpctl";
};

}  // namespace

command define_diff(CLI::App& app, const std::vector<kind_commands>& kinds) {
  auto f = std::make_shared<diff_flags>();
  // The kinds whose objects have a diff of their own (GitSync: its plan).
  std::vector<std::pair<const specs::kind_info*, std::function<int(context&, const std::string&)>>>
      targets;
  std::string usage;
  for (const auto& k : kinds)
    if (k.diff)
      if (const auto* info = specs::find_kind(k.kind)) {
        targets.emplace_back(info, k.diff);
        usage += (usage.empty() ? "" : " or ") + info->singular + "/NAME";
      }
  auto* sub =
      app.add_subcommand("diff", "Show what apply would change (exit 0 same, 1 differs, 2 error)");
  sub->add_option("target", f->target, usage + ": what that object would change");
  sub->add_option("-f,--filename", f->files, "FILE, DIR or -");
  sub->add_flag("-R,--recursive", f->recursive, "Recurse into directories");
  sub->add_option("--field-manager", f->manager)->capture_default_str();
  return {sub, [f, targets, usage](context& c) {
            if (f->target.empty() == f->files.empty()) {
              c.err << "error: give either -f FILE... or " << usage << "\n";
              return 2;
            }
            if (!f->files.empty()) return cmd_diff(c, f->files, f->recursive, f->manager);
            auto slash = f->target.find('/');
            const auto* k = specs::find_kind(f->target.substr(0, slash));
            for (const auto& [info, diff] : targets)
              if (slash != std::string::npos && k == info)
                return diff(c, f->target.substr(slash + 1));
            c.err << "error: diff takes " << usage << ", got \"" << f->target << "\"\n";
            return 2;
          }};
}

}  // namespace rockpool::cli
