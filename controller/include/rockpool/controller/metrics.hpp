#pragma once

#include "rockpool/specs/prometheus.hpp"

#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace rockpool::controller {

using specs::append_metric;
using specs::histogram;

/// The daemon's metrics. Thread-safe.
class metrics {
 public:
  void count_request(const std::string& method, int code, double seconds);
  void observe_store_write(double seconds) { store_write_.observe(seconds); }
  /// Prometheus text format; `extra` is appended verbatim (gauges computed on scrape).
  std::string render(const std::string& extra) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, histogram> latency_by_method_;
  histogram store_write_;
};

}  // namespace rockpool::controller
