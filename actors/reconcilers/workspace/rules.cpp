// Workspace rules beyond its schema.
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/specs/schedule.hpp"

namespace rockpool::actors::workspace {

using specs::string_at;

namespace {

// spec.lifecycle.schedule: each cron expression and time zone parses.
void validate_schedule(const specs::json::value& obj, std::vector<specs::field_error>& out) {
  if (const auto* snaps = specs::find_path(obj, "spec.lifecycle.snapshots"); snaps && snaps->is_object())
    if (auto c = specs::cron_schedule::parse(string_at(*snaps, "schedule"),
                                             string_at(*snaps, "timezone"));
        !c.ok())
      out.push_back({"spec.lifecycle.snapshots.schedule", c.err().message});
  const auto* list = specs::find_path(obj, "spec.lifecycle.schedule");
  if (list == nullptr || !list->is_array()) return;
  for (std::size_t i = 0; i < list->get_array().size(); ++i) {
    const auto& entry = list->get_array()[i];
    auto at = "spec.lifecycle.schedule[" + std::to_string(i) + "]";
    auto start = string_at(entry, "start"), stop = string_at(entry, "stop");
    if (start.empty() && stop.empty()) out.push_back({at, "needs start, stop or both"});
    for (const auto& [field, expr] : {std::pair{"start", start}, std::pair{"stop", stop}})
      if (!expr.empty())
        if (auto c = specs::cron_schedule::parse(expr, string_at(entry, "timezone")); !c.ok())
          out.push_back({at + "." + field, c.err().message});
  }
}

}  // namespace

// The template's own rules: its schedule.
void validate_template(const specs::json::value& obj, const specs::validation_context&,
                       std::vector<specs::field_error>& out) {
  validate_schedule(obj, out);
}

void validate(const specs::json::value& obj, const specs::validation_context& ctx,
              std::vector<specs::field_error>& out) {
  validate_schedule(obj, out);
  auto tmpl = string_at(obj, "spec.template");
  if (string_at(obj, "spec.image").empty() && tmpl.empty())
    out.push_back({"spec.image", "required field is missing (set spec.image or spec.template)"});
  if (!tmpl.empty() && ctx.sees_store && ctx.lookup && !ctx.lookup("WorkspaceTemplate", tmpl))
    out.push_back({"spec.template", "WorkspaceTemplate \"" + tmpl + "\" does not exist"});
  // Incus takes environment.NAME keys; a name is what a shell can export.
  if (const auto* env = specs::find_path(obj, "spec.environment"); env && env->is_object())
    for (const auto& kv : env->get_object()) {
      std::string_view name = kv.key();
      bool ok = !name.empty() && name.size() <= 128 && !(name[0] >= '0' && name[0] <= '9');
      for (char c : name)
        ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_');
      if (!ok)
        out.push_back({"spec.environment." + std::string(name),
                       "must be a variable name: letters, digits and underscores, not starting "
                       "with a digit, at most 128 characters"});
    }
}

}  // namespace rockpool::actors::workspace
