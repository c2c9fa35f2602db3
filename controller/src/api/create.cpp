// POST to a collection.
#include "api/api.hpp"

namespace rockpool::controller {

using namespace api;

http_response api_handler::create(const resource_call& c) {
  auto body = decode_body(c.req);
  if (!body.ok()) return status_response(body.err());
  if (auto e = check_body_identity(*body, c.kind, "")) return status_response(*e);
  auto warnings = apply_field_validation(c.target, *body);
  if (!warnings.ok()) return status_response(warnings.err());
  return with_warnings(
      write_response(timed_write(c, [&] { return store_.create(std::move(*body), c.write); }), 201),
      *warnings);
}

}  // namespace rockpool::controller
