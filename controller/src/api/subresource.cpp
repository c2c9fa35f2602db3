// PLURAL/NAME/SUBRESOURCE: the kinds' own subresources, looked up by kind and
// name in what the kinds registered (api_options::subresources).
#include "api/api.hpp"

#include <algorithm>

namespace rockpool::controller {

using namespace api;

specs::result<api_handler::session> api_handler::upgrade(const http_request& req) {
  auto t = parse_target(req.target);
  const auto& s = t.segments;
  const auto* k = s.size() == 6 && s[0] == "apis" && s[1] == specs::api_group && s[2] == "v1alpha1"
                      ? specs::find_kind(s[3])
                      : nullptr;
  if (k == nullptr || k->plural != s[3])
    return make_error(reason::not_found, "no WebSocket is served at " +
                                             req.target.substr(0, req.target.find('?')).substr(0, 256));
  for (const auto& sub : options_.subresources)
    if (sub.kind == k->kind && sub.name == s[5] && sub.upgrade)
      return sub.upgrade(specs::subresource_request{req.method, s[4], t.query, req.body});
  return make_error(reason::not_found, k->plural + "/" + s[5].substr(0, 64) +
                                           " takes no WebSocket");
}

http_response api_handler::subresource(const resource_call& c, const std::string& which) {
  const auto& subs = options_.subresources;
  auto it = std::find_if(subs.begin(), subs.end(), [&](const specs::subresource& s) {
    return s.kind == c.kind.kind && s.name == which;
  });
  if (it == subs.end())
    return status_response(make_error(
        reason::not_found, "the server could not find the requested resource " + c.kind.plural +
                               "/" + c.name + "/" + which.substr(0, 64)));
  if (std::find(it->verbs.begin(), it->verbs.end(), c.req.method) == it->verbs.end())
    return status_response(make_error(reason::method_not_allowed,
                                      c.req.method + " is not supported on " + c.kind.plural +
                                          "/" + which));
  auto r = it->handle(specs::subresource_request{c.req.method, c.name, c.target.query, c.req.body});
  if (!r.ok()) return status_response(r.err());
  return http_response{r->status, std::move(r->content_type), std::move(r->body),
                       std::move(r->headers)};
}

}  // namespace rockpool::controller
