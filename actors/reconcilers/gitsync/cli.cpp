// GitSync's rpctl commands: rpctl sync NAME, and rpctl diff gitsync/NAME (its
// plan). Linked by rpctl only (rockpool_kind_cli).
#include "rockpool/cli/cli.hpp"

#include "rockpool/cli/text_diff.hpp"
#include "rockpool/specs/clock.hpp"
#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/json.hpp"
#include "rockpool/specs/object_model.hpp"

#include <boost/json.hpp>

namespace rockpool::actors::gitsync {

namespace json = boost::json;
using namespace cli;
using specs::string_at;

namespace {

constexpr const char* kind = "GitSync";

// rpctl diff gitsync/NAME: what the sync's next run would change, computed by
// the server from a fresh read of the source (GET gitsyncs/NAME/plan).
int cmd_diff_gitsync(context& c, const std::string& name) {
  auto body = get_ok(c, resource_path(*specs::find_kind(kind), name) + "/plan");
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
  const auto& k = *specs::find_kind(kind);
  auto token = request_token();
  json::object annotations{{specs::sync_requested_annotation, token}};
  if (f.allow_mass_prune) annotations[specs::allow_mass_prune_annotation] = token;
  auto written =
      merge_patch(c, k, f.name, {{"metadata", {{"annotations", std::move(annotations)}}}});
  if (!written) return 1;
  c.out << "gitsync." << specs::api_group << "/" << f.name << " sync requested\n";
  if (!f.wait) return 0;
  auto result =
      wait_until(c, k, f.name, *written, parse_duration(f.timeout), [&](const json::value& obj) {
        return string_at(obj, "status.lastHandledSyncRequest") == token;
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

}  // namespace

cli::kind_commands commands() { return {kind, {define_sync}, cmd_diff_gitsync}; }

}  // namespace rockpool::actors::gitsync
