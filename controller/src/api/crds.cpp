// apiextensions.k8s.io/v1 CustomResourceDefinitions, served read-only from
// the CRD files compiled into rockpoold (crds/): the kinds are built in, so
// a CRD cannot be created, changed or deleted here (405), but tools that
// look kinds up by their CRDs (kubectl get crd, dashboards, client
// libraries' discovery of schemas) find them, Established.
#include "api/api.hpp"
#include "rockpool/controller/build_info.hpp"

namespace rockpool::controller {

using namespace api;

namespace api {

const specs::kind_info& crd_kind() {
  static const specs::kind_info k = [] {
    specs::kind_info i;
    i.kind = "CustomResourceDefinition";
    i.plural = "customresourcedefinitions";
    i.singular = "customresourcedefinition";
    i.short_names = {"crd", "crds"};
    return i;
  }();
  return k;
}

bool is_crd_path(const std::vector<std::string>& s) {
  return s.size() >= 4 && s.size() <= 5 && s[0] == "apis" && s[1] == crd_group &&
         s[2] == "v1" && s[3] == crd_kind().plural;
}

const std::vector<json::value>& crd_objects() {
  static const std::vector<json::value> objects = [] {
    std::vector<json::value> out;
    const std::string since = build().build_date;
    for (const auto& k : specs::kinds()) {
      auto crd = k.crd;
      auto& meta = crd.as_object()["metadata"].as_object();
      auto name = specs::string_at(crd, "metadata.name");
      auto h = content_hash(name);
      // A stable uid for a built-in object: the same in every rockpoold.
      meta["uid"] = h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
                    content_hash(h).substr(0, 4) + "-" + content_hash(h).substr(4, 12);
      meta["resourceVersion"] = "1";
      meta["generation"] = 1;
      meta["creationTimestamp"] = since;
      json::array stored;
      if (const auto* vs = specs::find_path(crd, "spec.versions"); vs && vs->is_array())
        for (const auto& v : vs->get_array())
          if (const auto* st = specs::find_path(v, "storage"); st && st->is_bool() && st->get_bool())
            stored.push_back(json::value(specs::string_at(v, "name")));
      crd.as_object()["status"] = {
          {"conditions",
           json::array{{{"type", "NamesAccepted"},
                        {"status", "True"},
                        {"reason", "NoConflicts"},
                        {"message", "no conflicts found"},
                        {"lastTransitionTime", since}},
                       {{"type", "Established"},
                        {"status", "True"},
                        {"reason", "InitialNamesAccepted"},
                        {"message", "the initial names have been accepted"},
                        {"lastTransitionTime", since}}}},
          {"acceptedNames", *specs::find_path(crd, "spec.names")},
          {"storedVersions", std::move(stored)}};
      out.push_back(std::move(crd));
    }
    return out;
  }();
  return objects;
}

}  // namespace api

http_response api_handler::crds(const http_request& req, const parsed_target& t) {
  const auto& s = t.segments;
  if (req.method != "GET")
    return status_response(make_error(
        reason::method_not_allowed,
        "CustomResourceDefinitions are built into rockpoold and served read-only: " + req.method +
            " is not allowed"));
  if (s.size() == 5) {
    for (const auto& crd : crd_objects())
      if (specs::string_at(crd, "metadata.name") == s[4]) return json_response(200, crd);
    return status_response(make_error(
        reason::not_found, "customresourcedefinitions.apiextensions.k8s.io \"" + s[4] +
                               "\" not found"));
  }
  auto name = name_from_field_selector(query(t, "fieldSelector"));
  if (!name.ok()) return status_response(name.err());
  auto o = parse_list_options(t);
  if (!o.ok()) return status_response(o.err());
  json::array items;
  for (const auto& crd : crd_objects())
    if ((name->empty() || specs::string_at(crd, "metadata.name") == *name) && o->labels.matches(crd))
      items.push_back(crd);
  return json_response(200, {{"apiVersion", std::string(crd_group) + "/v1"},
                             {"kind", "CustomResourceDefinitionList"},
                             {"metadata", {{"resourceVersion", std::to_string(store_.revision())}}},
                             {"items", std::move(items)}});
}

}  // namespace rockpool::controller
