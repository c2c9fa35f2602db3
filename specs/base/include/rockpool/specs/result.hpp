#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace rockpool::specs {

/// Machine-readable failure reasons. They map one-to-one onto Kubernetes
/// Status reasons and HTTP codes (see reason_name / http_code).
enum class reason {
  invalid,             // 422 Invalid: the object fails validation
  bad_request,         // 400 BadRequest: the request itself is malformed
  not_found,           // 404 NotFound
  already_exists,      // 409 AlreadyExists
  conflict,            // 409 Conflict: stale resourceVersion or field-manager conflict
  gone,                // 410 Gone: watch from a compacted revision
  expired,             // 410 Expired: a list's continue token outlived its read view
  timeout,             // 504 Timeout: e.g. a resourceVersion the store has not reached
  too_large,           // 413 RequestEntityTooLarge
  unauthorized,        // 401 Unauthorized
  method_not_allowed,  // 405 MethodNotAllowed
  unsupported_media,   // 415 UnsupportedMediaType
  unavailable,         // 503 ServiceUnavailable
  internal,            // 500 InternalError
};

/// Kubernetes reason string, e.g. "Conflict".
const char* reason_name(reason r);
/// HTTP status code for a reason.
int http_code(reason r);

/// One field-level problem, as in a Kubernetes Status's details.causes[].
struct cause {
  std::string field;    // e.g. "spec.resources.cpu"
  std::string message;  // e.g. "must be an integer between 1 and 64, got \"lots\""
};

/// A failure: a reason, a human message, and optional field-level causes.
struct error {
  reason why = reason::internal;
  std::string message;
  std::vector<cause> causes;
};

/// Either a value or an error. Errors are values; nothing here throws.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}
  result(error e) : v_(std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error& err() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, error> v_;
};

/// A result with no value.
struct done {};
using status = result<done>;

inline error make_error(reason why, std::string message) {
  return error{why, std::move(message), {}};
}

}  // namespace rockpool::specs
