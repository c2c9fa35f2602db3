// GitSync rules beyond its schema: exactly one source, an absolute directory,
// a repository path that stays inside the repository.
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/crds/types.hpp"

namespace rockpool::actors::gitsync {

void validate(const specs::json::value& obj, const specs::validation_context&,
              std::vector<specs::field_error>& out) {
  auto spec = crds::git_sync::spec_of(obj);
  if (!spec.ok()) return out.push_back({"spec", spec.err().message});
  bool has_path = spec->path.has_value(), has_git = spec->git.has_value();
  if (has_path == has_git)
    out.push_back(
        {"spec", "set exactly one of spec.path (a directory) and spec.git (a repository)"});
  if (has_path && spec->path->rfind('/', 0) != 0)
    out.push_back({"spec.path", "must be an absolute path on the controller's host"});
  if (has_git && ("/" + spec->git->path.value_or("") + "/").find("/../") != std::string::npos)
    out.push_back({"spec.git.path", "must stay inside the repository (no \"..\")"});
}

}  // namespace rockpool::actors::gitsync
