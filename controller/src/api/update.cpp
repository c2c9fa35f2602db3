// PUT of an object or of its status.
#include "api/api.hpp"

namespace rockpool::controller {

using namespace api;

http_response api_handler::update(const resource_call& c) {
  auto body = decode_body(c.req);
  if (!body.ok()) return status_response(body.err());
  if (auto e = check_body_identity(*body, c.kind, c.name)) return status_response(*e);
  if (c.status_path)
    return write_response(
        timed_write(c, [&] { return store_.replace_status(std::move(*body), c.write); }), 200);
  auto warnings = apply_field_validation(c.target, *body);
  if (!warnings.ok()) return status_response(warnings.err());
  return with_warnings(
      write_response(timed_write(c, [&] { return store_.replace(std::move(*body), c.write); }),
                     200),
      *warnings);
}

}  // namespace rockpool::controller
