// The kinds' semantic rules, one line per kind that has rules beyond its
// schema. Linked by the store (admission) and by rpctl (client-side checks);
// depends on specs only.
#include "rockpool/actors/kind_rules.hpp"

namespace rockpool::actors {

namespace workspace {
void validate(const specs::json::value&, const specs::validation_context&,
              std::vector<specs::field_error>&);
void validate_template(const specs::json::value&, const specs::validation_context&,
                       std::vector<specs::field_error>&);
}  // namespace workspace
namespace port_route {
void validate(const specs::json::value&, const specs::validation_context&,
              std::vector<specs::field_error>&);
std::vector<std::string> exclusive(const specs::json::value&);
}  // namespace port_route
namespace nested_host {
void validate(const specs::json::value&, const specs::validation_context&,
              std::vector<specs::field_error>&);
std::vector<std::string> exclusive(const specs::json::value&);
}  // namespace nested_host
namespace gitsync {
void validate(const specs::json::value&, const specs::validation_context&,
              std::vector<specs::field_error>&);
}

const specs::semantic_rules& kind_rules() {
  static const specs::semantic_rules rules = {
      {"Workspace", {workspace::validate, {}}},
      {"WorkspaceTemplate", {workspace::validate_template, {}}},
      {"PortRoute", {port_route::validate, port_route::exclusive}},
      {"NestedHost", {nested_host::validate, nested_host::exclusive}},
      {"GitSync", {gitsync::validate, {}}},
  };
  return rules;
}

}  // namespace rockpool::actors
