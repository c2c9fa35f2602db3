// Discovery: /apis, the group-version's resource list and the OpenAPI v3
// documents, all from the CRDs (the one source of the schemas).
#include "api/api.hpp"
#include "rockpool/specs/base64.hpp"

#include <openssl/evp.h>

#include <algorithm>

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

namespace {

json::object group_version_for_discovery(const std::string& group, const std::string& version) {
  return {{"groupVersion", group + "/" + version}, {"version", version}};
}

json::object api_group_object(const std::string& group, const std::string& version) {
  return {{"name", group},
          {"versions", json::array{group_version_for_discovery(group, version)}},
          {"preferredVersion", group_version_for_discovery(group, version)}};
}

// What Kubernetes' discovery.StorageVersionHash computes: the first 8 bytes
// of SHA-256 of "group/version/kind", in base64. It changes when the storage
// version does, which tells migration tools to rewrite.
std::string storage_version_hash(const std::string& kind) {
  auto in = std::string(specs::api_version) + "/" + kind;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(in.data(), in.size(), digest, &n, EVP_sha256(), nullptr);
  return specs::base64_encode(std::string_view(reinterpret_cast<const char*>(digest), 8));
}

// An HTTP method of a subresource as the Kubernetes verb that names it.
std::string verb_of(const std::string& method) {
  if (method == "GET") return "get";
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return "delete";
  return method;
}

const json::array& object_verbs() {
  static const json::array v{"create", "delete", "get", "list", "patch", "update", "watch"};
  return v;
}
const json::array& status_verbs() {
  static const json::array v{"get", "patch", "update"};
  return v;
}
json::array strings(const std::vector<std::string>& v) {
  json::array out;
  for (const auto& s : v) out.push_back(json::string(s));
  return out;
}

}  // namespace

namespace {

// What rockpoold serves of Kubernetes' own groups: read-only CRDs
// (crds.cpp) and the access reviews that kubectl auth can-i and dashboards
// ask (access_review.cpp).
struct builtin_resource {
  std::string group, version, plural, singular, kind;
  std::vector<std::string> short_names;
  std::vector<std::string> verbs;
};

const std::vector<builtin_resource>& builtin_resources() {
  static const std::vector<builtin_resource> all = {
      {crd_group, "v1", crd_kind().plural, crd_kind().singular, crd_kind().kind,
       crd_kind().short_names, {"get", "list", "watch"}},
      {authorization_group, "v1", "selfsubjectaccessreviews", "", "SelfSubjectAccessReview", {},
       {"create"}},
      {authorization_group, "v1", "selfsubjectrulesreviews", "", "SelfSubjectRulesReview", {},
       {"create"}}};
  return all;
}

std::vector<std::string> builtin_groups() {
  std::vector<std::string> out;
  for (const auto& r : builtin_resources())
    if (std::find(out.begin(), out.end(), r.group) == out.end()) out.push_back(r.group);
  return out;
}

}  // namespace

bool api::is_builtin_group_version(const std::string& group, const std::string& version) {
  for (const auto& r : builtin_resources())
    if (r.group == group && r.version == version) return true;
  return false;
}

http_response api_handler::api_groups() const {
  json::array groups{api_group_object(specs::api_group, "v1alpha1")};
  for (const auto& g : builtin_groups()) groups.push_back(api_group_object(g, "v1"));
  return discovery_response(
      {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", std::move(groups)}});
}

http_response api_handler::api_group(const std::string& group) const {
  auto groups = builtin_groups();
  if (group != specs::api_group && std::find(groups.begin(), groups.end(), group) == groups.end())
    return status_response(
        make_error(reason::not_found, "the server could not find the requested resource"));
  auto g = api_group_object(group, group == specs::api_group ? "v1alpha1" : "v1");
  g["kind"] = "APIGroup";
  g["apiVersion"] = "v1";
  return discovery_response(g);
}

namespace {

// The subresources of a kind besides status: the ones its module registers.
std::vector<std::pair<std::string, json::array>> kind_subresources(
    const std::vector<specs::subresource>& all, const std::string& kind) {
  std::vector<std::pair<std::string, json::array>> out;
  for (const auto& sr : all) {
    if (sr.kind != kind) continue;
    json::array verbs;
    for (const auto& m : sr.verbs) verbs.push_back(json::string(verb_of(m)));
    if (sr.upgrade) verbs.push_back("get");  // a WebSocket starts with a GET
    out.emplace_back(sr.name, std::move(verbs));
  }
  return out;
}

}  // namespace

http_response api_handler::group_version(const http_request& req) const {
  if (req.method != "GET")
    return status_response(make_error(reason::method_not_allowed, "use GET"));
  json::array resources;
  for (const auto& k : specs::kinds()) {
    resources.push_back({{"name", k.plural},
                         {"singularName", k.singular},
                         {"kind", k.kind},
                         {"namespaced", false},
                         {"shortNames", strings(k.short_names)},
                         {"categories", strings(k.categories)},
                         {"verbs", object_verbs()},
                         {"storageVersionHash", storage_version_hash(k.kind)}});
    resources.push_back({{"name", k.plural + "/status"},
                         {"singularName", ""},
                         {"kind", k.kind},
                         {"namespaced", false},
                         {"verbs", status_verbs()}});
    for (auto& [name, verbs] : kind_subresources(options_.subresources, k.kind))
      resources.push_back({{"name", k.plural + "/" + name},
                           {"singularName", ""},
                           {"kind", k.kind},
                           {"namespaced", false},
                           {"verbs", std::move(verbs)}});
  }
  return discovery_response({{"kind", "APIResourceList"},
                             {"apiVersion", "v1"},
                             {"groupVersion", specs::api_version},
                             {"resources", std::move(resources)}});
}

http_response api_handler::builtin_group_version(const std::string& group) const {
  json::array resources;
  for (const auto& r : builtin_resources())
    if (r.group == group)
      resources.push_back({{"name", r.plural},
                           {"singularName", r.singular},
                           {"kind", r.kind},
                           {"namespaced", false},
                           {"shortNames", strings(r.short_names)},
                           {"verbs", strings(r.verbs)}});
  return discovery_response({{"kind", "APIResourceList"},
                             {"apiVersion", "v1"},
                             {"groupVersion", group + "/v1"},
                             {"resources", std::move(resources)}});
}

namespace {

json::object response_kind(const std::string& group, const std::string& version,
                           const std::string& kind) {
  return {{"group", group}, {"version", version}, {"kind", kind}};
}

json::object discovered_version(const std::string& version, json::array resources) {
  return {{"version", version}, {"resources", std::move(resources)}, {"freshness", "Current"}};
}

}  // namespace

// kubectl 1.30+ and client-go ask for this first (Accept:
// application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList):
// every group, version and resource in one document.
http_response api_handler::aggregated_discovery(bool core, const std::string& accept) const {
  auto version = accept.find("v=v2beta1") != std::string::npos &&
                         accept.find("v=v2;") == std::string::npos
                     ? std::string("v2beta1")
                     : std::string("v2");
  json::array items;
  if (core) {
    json::object events{{"resource", "events"},
                        {"responseKind", response_kind("", "v1", "Event")},
                        {"scope", "Namespaced"},
                        {"singularResource", "event"},
                        {"verbs", json::array{"get", "list", "watch"}},
                        {"shortNames", json::array{"ev"}}};
    items.push_back({{"metadata", {{"name", ""}}},
                     {"versions", json::array{discovered_version("v1", {events})}}});
  } else {
    json::array resources;
    for (const auto& k : specs::kinds()) {
      json::array subs{{{"subresource", "status"},
                        {"responseKind", response_kind(specs::api_group, "v1alpha1", k.kind)},
                        {"verbs", status_verbs()}}};
      for (auto& [name, verbs] : kind_subresources(options_.subresources, k.kind))
        subs.push_back({{"subresource", name}, {"verbs", std::move(verbs)}});
      resources.push_back({{"resource", k.plural},
                           {"responseKind", response_kind(specs::api_group, "v1alpha1", k.kind)},
                           {"scope", "Cluster"},
                           {"singularResource", k.singular},
                           {"verbs", object_verbs()},
                           {"shortNames", strings(k.short_names)},
                           {"categories", strings(k.categories)},
                           {"subresources", std::move(subs)}});
    }
    items.push_back({{"metadata", {{"name", specs::api_group}}},
                     {"versions", json::array{discovered_version("v1alpha1", std::move(resources))}}});
    for (const auto& g : builtin_groups()) {
      json::array group_resources;
      for (const auto& r : builtin_resources())
        if (r.group == g)
          group_resources.push_back({{"resource", r.plural},
                                     {"responseKind", response_kind(g, r.version, r.kind)},
                                     {"scope", "Cluster"},
                                     {"singularResource", r.singular},
                                     {"verbs", strings(r.verbs)},
                                     {"shortNames", strings(r.short_names)}});
      items.push_back({{"metadata", {{"name", g}}},
                       {"versions", json::array{discovered_version("v1", std::move(group_resources))}}});
    }
  }
  auto r = discovery_response({{"kind", "APIGroupDiscoveryList"},
                               {"apiVersion", "apidiscovery.k8s.io/" + version},
                               {"metadata", json::object{}},
                               {"items", std::move(items)}});
  r.content_type = "application/json;g=apidiscovery.k8s.io;v=" + version + ";as=APIGroupDiscoveryList";
  r.headers["Vary"] = "Accept";
  return r;
}

bool api::wants_aggregated_discovery(const std::string& accept) {
  return accept.find("as=APIGroupDiscoveryList") != std::string::npos &&
         accept.find("g=apidiscovery.k8s.io") != std::string::npos;
}

}  // namespace rockpool::controller
