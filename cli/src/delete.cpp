// rpctl delete KIND NAME... | -f FILE... [--wait].
#include "rockpool/cli/cli.hpp"

#include "rockpool/specs/json.hpp"
#include "rockpool/specs/manifests.hpp"

#include <boost/json.hpp>

#include <variant>

namespace rockpool::cli {

namespace json = boost::json;
using specs::string_at;

namespace {

struct delete_flags {
  std::vector<std::string> args;
  std::vector<std::string> files;
  bool wait = false;
  std::string timeout = "60s";
};

using target = std::pair<const specs::kind_info*, std::string>;

// What to delete: the objects the files name, or KIND NAME...; the exit
// code when there is nothing to do (the error printed).
std::variant<std::vector<target>, int> targets_of(context& c, const delete_flags& f) {
  std::vector<target> targets;
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
    return targets;
  }
  if (f.args.size() < 2) {
    c.err << "error: delete needs KIND NAME... or -f FILE\n";
    return 2;
  }
  const auto* k = require_kind(c, f.args[0]);
  if (!k) return 1;
  for (std::size_t i = 1; i < f.args.size(); ++i) targets.emplace_back(k, f.args[i]);
  return targets;
}

int cmd_delete(context& c, const delete_flags& f) {
  auto chosen = targets_of(c, f);
  if (auto* code = std::get_if<int>(&chosen)) return *code;
  const auto& targets = std::get<std::vector<target>>(chosen);
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

}  // namespace

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

}  // namespace rockpool::cli
