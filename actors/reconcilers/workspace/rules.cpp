// Workspace rules beyond its schema.
#include "rockpool/actors/kind_rules.hpp"

namespace rockpool::actors::workspace {

using specs::string_at;

void validate(const specs::json::value& obj, const specs::validation_context& ctx,
              std::vector<specs::field_error>& out) {
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
