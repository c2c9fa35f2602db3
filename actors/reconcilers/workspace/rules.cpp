// Workspace rules beyond its schema.
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/crds/types.hpp"
#include "rockpool/specs/schedule.hpp"

namespace rockpool::actors::workspace {

namespace {

// A list, whether or not the schema keeps [] apart from unset.
template <class T>
const std::vector<T>& items(const std::vector<T>& v) {
  return v;
}
template <class T>
const std::vector<T>& items(const std::optional<std::vector<T>>& v) {
  static const std::vector<T> none;
  return v ? *v : none;
}

// spec.lifecycle (a Workspace's or a WorkspaceTemplate's): each cron
// expression and time zone of its schedule and snapshots parses.
template <class Lifecycle>
void validate_schedule(const Lifecycle& lifecycle, std::vector<specs::field_error>& out) {
  if (const auto& snaps = lifecycle.snapshots)
    if (auto c = specs::cron_schedule::parse(snaps->schedule, snaps->timezone.value_or(""));
        !c.ok())
      out.push_back({"spec.lifecycle.snapshots.schedule", c.err().message});
  const auto& entries = items(lifecycle.schedule);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& entry = entries[i];
    auto at = "spec.lifecycle.schedule[" + std::to_string(i) + "]";
    auto start = entry.start.value_or(""), stop = entry.stop.value_or("");
    if (start.empty() && stop.empty()) out.push_back({at, "needs start, stop or both"});
    for (const auto& [field, expr] : {std::pair{"start", start}, std::pair{"stop", stop}})
      if (!expr.empty())
        if (auto c = specs::cron_schedule::parse(expr, entry.timezone.value_or("")); !c.ok())
          out.push_back({at + "." + field, c.err().message});
  }
}

// Incus takes environment.NAME keys; a name is what a shell can export.
bool variable_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 128 && !(name[0] >= '0' && name[0] <= '9');
  for (char c : name)
    ok = ok &&
         ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  return ok;
}

}  // namespace

// The template's own rules: its schedule.
void validate_template(const specs::json::value& obj, const specs::validation_context&,
                       std::vector<specs::field_error>& out) {
  auto spec = crds::workspace_template::spec_of(obj);
  if (!spec.ok()) return out.push_back({"spec", spec.err().message});
  if (spec->lifecycle) validate_schedule(*spec->lifecycle, out);
}

void validate(const specs::json::value& obj, const specs::validation_context& ctx,
              std::vector<specs::field_error>& out) {
  auto spec = crds::workspace::spec_of(obj);
  if (!spec.ok()) return out.push_back({"spec", spec.err().message});
  if (spec->lifecycle) validate_schedule(*spec->lifecycle, out);
  auto tmpl = spec->template_.value_or("");
  if (spec->image.value_or("").empty() && tmpl.empty())
    out.push_back({"spec.image", "required field is missing (set spec.image or spec.template)"});
  if (!tmpl.empty() && ctx.sees_store && ctx.lookup && !ctx.lookup("WorkspaceTemplate", tmpl))
    out.push_back({"spec.template", "WorkspaceTemplate \"" + tmpl + "\" does not exist"});
  for (const auto& [name, value] : spec->environment)
    if (!variable_name(name))
      out.push_back({"spec.environment." + name,
                     "must be a variable name: letters, digits and underscores, not starting "
                     "with a digit, at most 128 characters"});
}

}  // namespace rockpool::actors::workspace
