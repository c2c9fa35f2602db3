// GET of a collection (list: label and field selectors, resourceVersion
// semantics, limit and continue) and of one object.
#include "api/api.hpp"

namespace rockpool::controller {

using namespace api;

namespace {

const char* const expired_message =
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted "
    "between the time the first chunk was returned and now may show up in the list.";

}  // namespace

std::variant<specs::list_outcome, http_response> api_handler::read_list(const std::string& kind,
                                                                        const list_options& o) {
  // Where the list reads: a continue token's revision, the latest, or (with
  // resourceVersion) a revision at least that new, or exactly that one.
  std::uint64_t at = 0;
  std::string after;
  if (o.next) {
    at = o.next->revision;
    after = o.next->after;
  } else if (o.resource_version.value_or(0) != 0) {
    auto rv = *o.resource_version;
    if (store_.revision() < rv && !store_.wait_for_revision(rv - 1, options_.resource_version_wait))
      return status_response(make_error(
          reason::timeout, "Too large resource version: " + std::to_string(rv) +
                               ", current resource version: " + std::to_string(store_.revision())));
    if (o.version_match == list_options::match::exact) at = rv;
  }
  auto l = store_.list_page(kind, o.labels, o.limit, at, after);
  if (!o.next && at != 0 && !l.ok() && l.err().why == reason::gone) {
    // Exact: no view of that revision is pinned, but it may be the latest.
    l = store_.list_page(kind, o.labels, o.limit, 0, after);
    if (l.ok() && l->revision != at) l = make_error(reason::gone, "not the latest");
  }
  if (!l.ok() && l.err().why == reason::gone) {
    if (o.next) {
      // The apiserver's answer: 410 Expired, with a token that goes on
      // from the same place at the latest revision.
      auto r = status_response(make_error(reason::expired, expired_message));
      auto body = specs::parse_json(r.body);
      body->as_object()["metadata"] = {{"continue", encode_continue({0, after})}};
      r.body = json::serialize(*body);
      return r;
    }
    return status_response(make_error(
        reason::gone, "resourceVersion " + std::to_string(at) + " is older than the latest (" +
                          std::to_string(store_.revision()) +
                          "): Rockpool keeps no past states of objects for an Exact list; list "
                          "without resourceVersion, or with resourceVersionMatch=NotOlderThan"));
  }
  if (!l.ok()) return status_response(l.err());
  return std::move(*l);
}

void api::set_continue(json::value& list, std::uint64_t revision, const std::string& after) {
  if (!after.empty())
    list.as_object()["metadata"].as_object()["continue"] = encode_continue({revision, after});
}

http_response api_handler::list(const resource_call& c) {
  auto o = parse_list_options(c.target);
  if (!o.ok()) return status_response(o.err());
  auto name = name_from_field_selector(query(c.target, "fieldSelector"));
  if (!name.ok()) return status_response(name.err());
  auto read = read_list(c.kind.kind, *o);
  if (auto* r = std::get_if<http_response>(&read)) return std::move(*r);
  auto& l = std::get<specs::list_outcome>(read);
  if (!name->empty())
    std::erase_if(l.items, [&](const json::value& obj) {
      return specs::string_at(obj, "metadata.name") != *name;
    });
  auto next = l.continue_after;
  auto revision = l.revision;
  auto body = wants_table(c.req) ? table_of(c.kind, l.items, c.target, std::to_string(l.revision))
                                 : list_object(c.kind, std::move(l));
  set_continue(body, revision, next);
  return json_response(200, body);
}

http_response api_handler::get(const resource_call& c) {
  if (!wants_table(c.req)) {
    // The stored text as it is, with its resourceVersion: no parse (issue 25).
    auto text = store_.get_text(c.kind.kind, c.name);
    if (!text.ok()) return status_response(text.err());
    http_response r;
    r.status = 200;
    r.body = std::move(*text);
    return r;
  }
  auto obj = store_.get(c.kind.kind, c.name);
  if (!obj.ok()) return status_response(obj.err());
  return json_response(
      200, table_of(c.kind, {*obj}, c.target, specs::string_at(*obj, "metadata.resourceVersion")));
}

}  // namespace rockpool::controller
