#pragma once

#include <chrono>
#include <string>

namespace rockpool::specs {

/// Wall-clock time source, injectable so tests are deterministic.
class clock {
 public:
  virtual ~clock() = default;
  virtual std::chrono::system_clock::time_point now() const = 0;
};

/// The real system clock.
const clock& system_clock();

/// RFC 3339 UTC timestamp with second precision, e.g. "2026-11-29T22:00:00Z".
std::string format_rfc3339(std::chrono::system_clock::time_point t);

/// Parses what format_rfc3339 writes; returns epoch on malformed input.
std::chrono::system_clock::time_point parse_rfc3339(const std::string& s);

}  // namespace rockpool::specs
