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
}

}  // namespace rockpool::actors::workspace
