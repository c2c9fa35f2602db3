// GitSync rules beyond its schema: exactly one source, an absolute directory,
// a repository path that stays inside the repository.
#include "rockpool/actors/kind_rules.hpp"

namespace rockpool::actors::gitsync {

using specs::string_at;

void validate(const specs::json::value& obj, const specs::validation_context&,
              std::vector<specs::field_error>& out) {
  bool has_path = specs::find_path(obj, "spec.path") != nullptr;
  bool has_git = specs::find_path(obj, "spec.git") != nullptr;
  if (has_path == has_git)
    out.push_back(
        {"spec", "set exactly one of spec.path (a directory) and spec.git (a repository)"});
  if (has_path && string_at(obj, "spec.path").rfind('/', 0) != 0)
    out.push_back({"spec.path", "must be an absolute path on the controller's host"});
  auto inner = "/" + string_at(obj, "spec.git.path") + "/";
  if (has_git && inner.find("/../") != std::string::npos)
    out.push_back({"spec.git.path", "must stay inside the repository (no \"..\")"});
}

}  // namespace rockpool::actors::gitsync
