// Discovery: /apis and the group-version's resource list, from the CRDs.
#include "api/api.hpp"

namespace rockpool::controller {

using namespace api;

http_response api_handler::api_groups() const {
  return json_response(
      200, {{"kind", "APIGroupList"},
            {"apiVersion", "v1"},
            {"groups", json::array{{{"name", specs::api_group},
                                    {"versions", json::array{{{"groupVersion", specs::api_version},
                                                              {"version", "v1alpha1"}}}}}}}});
}

http_response api_handler::group_version(const http_request& req) const {
  if (req.method != "GET")
    return status_response(make_error(reason::method_not_allowed, "use GET"));
  json::array resources;
  for (const auto& k : specs::kinds()) {
    json::array shorts;
    for (const auto& n : k.short_names) shorts.push_back(json::string(n));
    resources.push_back(
        {{"name", k.plural},
         {"singularName", k.singular},
         {"kind", k.kind},
         {"namespaced", false},
         {"shortNames", std::move(shorts)},
         {"verbs", json::array{"create", "delete", "get", "list", "patch", "update", "watch"}}});
  }
  return json_response(200, {{"kind", "APIResourceList"},
                             {"apiVersion", "v1"},
                             {"groupVersion", specs::api_version},
                             {"resources", std::move(resources)}});
}

}  // namespace rockpool::controller
