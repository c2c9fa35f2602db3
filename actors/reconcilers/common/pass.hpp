#pragma once

// Shorthands for pass results.

#include "rockpool/actors/reconciler.hpp"

#include <chrono>
#include <string>

namespace rockpool::actors::common {

using outcome = pass_result::outcome;
namespace json = boost::json;

/// How soon a pass looks again while it waits on something quick (a route to answer).
inline constexpr auto short_wait = std::chrono::milliseconds(200);

inline pass_result converged(std::string m = {}) {
  return {outcome::converged, std::move(m), {}};
}
inline pass_result terminal(std::string m) {
  return {outcome::terminal, std::move(m), {}};
}
/// A failed pass that keeps the error's reason, for backoff and metrics.
inline pass_result failed(const specs::error& e) {
  pass_result r{outcome::failed, e.message, {}};
  r.why = e.why;
  return r;
}
/// The same, its message saying what was being done ("home volume: ...").
inline pass_result failed(const std::string& doing, const specs::error& e) {
  auto r = failed(e);
  r.message = doing + ": " + e.message;
  return r;
}
inline pass_result requeue(std::string m, std::chrono::milliseconds after) {
  return {outcome::requeue, std::move(m), after};
}
inline pass_result gone() {
  return {outcome::gone, "gone", {}};
}

/// "a, b, c".
std::string join(const std::vector<std::string>& items);

}  // namespace rockpool::actors::common
