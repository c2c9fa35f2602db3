// GET of a collection (list, with label and field selectors) and of one object.
#include "api/api.hpp"

namespace rockpool::controller {

using namespace api;

http_response api_handler::list(const resource_call& c) {
  auto sel = specs::label_selector::parse(query(c.target, "labelSelector"));
  if (!sel.ok()) return status_response(sel.err());
  auto name = name_from_field_selector(query(c.target, "fieldSelector"));
  if (!name.ok()) return status_response(name.err());
  auto l = store_.list(c.kind.kind, *sel);
  if (!l.ok()) return status_response(l.err());
  if (!name->empty())
    std::erase_if(l->items, [&](const json::value& o) {
      return specs::string_at(o, "metadata.name") != *name;
    });
  if (wants_table(c.req))
    return json_response(200, table_of(c.kind, l->items, c.target, std::to_string(l->revision)));
  return json_response(200, list_object(c.kind, std::move(*l)));
}

http_response api_handler::get(const resource_call& c) {
  auto obj = store_.get(c.kind.kind, c.name);
  if (!obj.ok()) return status_response(obj.err());
  if (wants_table(c.req))
    return json_response(200, table_of(c.kind, {*obj}, c.target,
                                       specs::string_at(*obj, "metadata.resourceVersion")));
  return json_response(200, *obj);
}

}  // namespace rockpool::controller
