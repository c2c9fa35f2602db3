// Discovery: /apis, the group-version's resource list and the OpenAPI v3
// documents, all from the CRDs (the one source of the schemas).
#include "api/api.hpp"

namespace rockpool::controller {

using namespace api;

namespace {

const std::string meta_ref = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

std::string schema_name(const specs::kind_info& k) {
  return "dev.rockpool.v1alpha1." + k.kind;
}

json::array gvk(const specs::kind_info& k) {
  return {{{"group", specs::api_group}, {"version", "v1alpha1"}, {"kind", k.kind}}};
}

json::object query_parameter(const char* name, const char* description) {
  return {{"name", name},
          {"in", "query"},
          {"description", description},
          {"schema", {{"type", "string"}}},
          {"uniqueItems", true}};
}

// One operation of a path: what it returns and the query parameters it takes.
json::object operation(const specs::kind_info& k, const std::string& id, bool write, bool list) {
  json::array params;
  if (write) {
    params.push_back(query_parameter("dryRun", "All: validate and admit, write nothing"));
    params.push_back(
        query_parameter("fieldManager", "the name recorded as the owner of the change"));
    params.push_back(query_parameter(
        "fieldValidation", "Strict (default), Warn or Ignore: what happens to unknown fields"));
  }
  std::string ref = "#/components/schemas/" + schema_name(k) + (list ? "List" : "");
  return {{"operationId", id + k.kind},
          {"parameters", std::move(params)},
          {"responses",
           {{"200",
             {{"description", "OK"},
              {"content", {{"application/json", {{"schema", {{"$ref", ref}}}}}}}}}}},
          {"x-kubernetes-group-version-kind",
           {{"group", specs::api_group}, {"version", "v1alpha1"}, {"kind", k.kind}}}};
}

json::object group_version_document() {
  json::object paths, schemas;
  schemas[meta_ref] = {
      {"type", "object"},
      {"description", "Standard object metadata (Kubernetes' ObjectMeta)."},
      {"properties",
       {{"name", {{"type", "string"}, {"description", "Unique name of the object."}}},
        {"labels", {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}},
        {"annotations", {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}},
        {"uid", {{"type", "string"}}},
        {"resourceVersion", {{"type", "string"}}},
        {"generation", {{"type", "integer"}, {"format", "int64"}}},
        {"creationTimestamp", {{"type", "string"}, {"format", "date-time"}}},
        {"deletionTimestamp", {{"type", "string"}, {"format", "date-time"}}},
        {"finalizers", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"ownerReferences", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}};
  for (const auto& k : specs::kinds()) {
    auto schema = k.root_json.is_object() ? k.root_json.get_object() : json::object{};
    auto& props = schema["properties"];
    if (!props.is_object()) props = json::object{};
    props.as_object()["apiVersion"] = {{"type", "string"},
                                       {"description", "rockpool.dev/v1alpha1"}};
    props.as_object()["kind"] = {{"type", "string"}, {"description", k.kind}};
    props.as_object()["metadata"] = {{"$ref", "#/components/schemas/" + meta_ref}};
    schema["x-kubernetes-group-version-kind"] = gvk(k);
    schemas[schema_name(k)] = std::move(schema);
    schemas[schema_name(k) + "List"] = {
        {"type", "object"},
        {"properties",
         {{"apiVersion", {{"type", "string"}}},
          {"kind", {{"type", "string"}}},
          {"items",
           {{"type", "array"}, {"items", {{"$ref", "#/components/schemas/" + schema_name(k)}}}}}}},
        {"x-kubernetes-group-version-kind",
         {{{"group", specs::api_group}, {"version", "v1alpha1"}, {"kind", k.kind + "List"}}}}};
    auto base = "/apis/" + std::string(specs::api_version) + "/" + k.plural;
    paths[base] = {{"get", operation(k, "list", false, true)},
                   {"post", operation(k, "create", true, false)}};
    paths[base + "/{name}"] = {{"get", operation(k, "read", false, false)},
                               {"put", operation(k, "replace", true, false)},
                               {"patch", operation(k, "patch", true, false)},
                               {"delete", operation(k, "delete", true, false)},
                               {"parameters", json::array{{{"name", "name"},
                                                           {"in", "path"},
                                                           {"required", true},
                                                           {"schema", {{"type", "string"}}}}}}};
  }
  return {{"openapi", "3.0.0"},
          {"info", {{"title", "Rockpool"}, {"version", "v1alpha1"}}},
          {"paths", std::move(paths)},
          {"components", {{"schemas", std::move(schemas)}}}};
}

}  // namespace

// /openapi/v3 (the index) and /openapi/v3/apis/rockpool.dev/v1alpha1 (the
// group-version document, with the CRD schemas as components). The index
// names the document with a hash of its content, as Kubernetes does, so
// clients cache it until the kinds change.
http_response api_handler::openapi(const std::vector<std::string>& segments) const {
  static const std::string document = json::serialize(group_version_document());
  static const std::string hash = content_hash(document);
  if (segments.size() == 2 && segments[1] == "v3")
    return json_response(
        200, {{"paths",
               {{"apis/" + std::string(specs::api_version),
                 {{"serverRelativeURL",
                   "/openapi/v3/apis/" + std::string(specs::api_version) + "?hash=" + hash}}}}}});
  if (segments.size() == 5 && segments[1] == "v3" && segments[2] == "apis" &&
      segments[3] + "/" + segments[4] == specs::api_version)
    return http_response{200,
                         "application/json",
                         document,
                         {{"ETag", "\"" + hash + "\""}, {"Cache-Control", "no-cache, private"}}};
  return status_response(make_error(reason::not_found, "no such OpenAPI document"));
}

namespace {

// Discovery answers carry an ETag of their content, so a client's cache
// (kubectl's) revalidates and sees new kinds after an upgrade.
http_response discovery_response(const json::value& v) {
  auto r = json_response(200, v);
  r.headers["ETag"] = "\"" + content_hash(r.body) + "\"";
  r.headers["Cache-Control"] = "no-cache, private";
  return r;
}

}  // namespace

http_response api_handler::api_groups() const {
  return discovery_response(
      {{"kind", "APIGroupList"},
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
  return discovery_response({{"kind", "APIResourceList"},
                             {"apiVersion", "v1"},
                             {"groupVersion", specs::api_version},
                             {"resources", std::move(resources)}});
}

}  // namespace rockpool::controller
