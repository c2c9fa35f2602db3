// rpctl wait KIND NAME --for=condition=TYPE[=VALUE] | delete.
#include "rockpool/cli/cli.hpp"

#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

namespace rockpool::cli {

namespace json = boost::json;
using specs::string_at;

namespace {

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

}  // namespace

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

}  // namespace rockpool::cli
