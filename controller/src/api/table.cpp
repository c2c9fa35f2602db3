// The meta.k8s.io/v1 Table format (kubectl get asks for it): columns from the
// CRDs' additionalPrinterColumns, the same rpctl prints.
#include "api/api.hpp"

#include "rockpool/specs/columns.hpp"

namespace rockpool::controller::api {

bool wants_table(const http_request& req) {
  // e.g. "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
  return req.accept.find("as=Table") != std::string::npos &&
         req.accept.find("g=meta.k8s.io") != std::string::npos;
}

namespace {

json::value column_definition(const std::string& name, const std::string& type,
                              const std::string& format, const std::string& description,
                              int priority) {
  return {{"name", name},
          {"type", type},
          {"format", format},
          {"description", description},
          {"priority", priority}};
}

json::value row_object(const json::value& obj, const std::string& include) {
  if (include == "None") return nullptr;
  if (include == "Object") return obj;
  json::object meta;
  if (const auto* m = specs::find_path(obj, "metadata")) meta = m->as_object();
  return {{"kind", "PartialObjectMetadata"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", std::move(meta)}};
}

}  // namespace

json::value table_of(const specs::kind_info& k, const std::vector<json::value>& items,
                     const parsed_target& t, const std::string& resource_version, bool with_columns,
                     const std::vector<json::value>* row_objects) {
  json::array columns;
  if (with_columns) {
    columns.push_back(
        column_definition("Name", "string", "name", "Name must be unique within a kind.", 0));
    for (const auto& c : k.columns)
      // Dates are rendered as ages, as Kubernetes renders CRD date columns.
      columns.push_back(column_definition(c.name, c.type == "date" ? "string" : c.type, "",
                                          c.description, c.priority));
  }
  auto include = query(t, "includeObject");
  auto now = std::chrono::system_clock::now();
  json::array rows;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& obj = items[i];
    json::array cells{json::value(specs::string_at(obj, "metadata.name"))};
    for (const auto& c : k.columns) cells.push_back(json::value(specs::column_cell(c, obj, now)));
    json::object row{{"cells", std::move(cells)}};
    if (auto o = row_object(row_objects ? row_objects->at(i) : obj, include); !o.is_null())
      row["object"] = std::move(o);
    rows.push_back(std::move(row));
  }
  return json::object{{"kind", "Table"},
                      {"apiVersion", "meta.k8s.io/v1"},
                      {"metadata", {{"resourceVersion", resource_version}}},
                      {"columnDefinitions", std::move(columns)},
                      {"rows", std::move(rows)}};
}

}  // namespace rockpool::controller::api
