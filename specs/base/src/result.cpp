#include "rockpool/specs/result.hpp"

namespace rockpool::specs {

const char* reason_name(reason r) {
  switch (r) {
    case reason::invalid:
      return "Invalid";
    case reason::bad_request:
      return "BadRequest";
    case reason::not_found:
      return "NotFound";
    case reason::already_exists:
      return "AlreadyExists";
    case reason::conflict:
      return "Conflict";
    case reason::gone:
      return "Gone";
    case reason::expired:
      return "Expired";
    case reason::timeout:
      return "Timeout";
    case reason::too_large:
      return "RequestEntityTooLarge";
    case reason::unauthorized:
      return "Unauthorized";
    case reason::method_not_allowed:
      return "MethodNotAllowed";
    case reason::unsupported_media:
      return "UnsupportedMediaType";
    case reason::unavailable:
      return "ServiceUnavailable";
    case reason::internal:
      return "InternalError";
  }
  return "InternalError";
}

int http_code(reason r) {
  switch (r) {
    case reason::invalid:
      return 422;
    case reason::bad_request:
      return 400;
    case reason::not_found:
      return 404;
    case reason::already_exists:
      return 409;
    case reason::conflict:
      return 409;
    case reason::gone:
    case reason::expired:
      return 410;
    case reason::timeout:
      return 504;
    case reason::too_large:
      return 413;
    case reason::unauthorized:
      return 401;
    case reason::method_not_allowed:
      return 405;
    case reason::unsupported_media:
      return 415;
    case reason::unavailable:
      return 503;
    case reason::internal:
      return 500;
  }
  return 500;
}

}  // namespace rockpool::specs
