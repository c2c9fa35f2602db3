#pragma once

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace rockpool::controller {

/// A Prometheus histogram with fixed buckets (seconds). Thread-safe.
class histogram {
 public:
  static constexpr std::array<double, 12> bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                    0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  void observe(double seconds);
  /// Appends the text exposition of this histogram under name, with extra labels.
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_micros_{0};
};

/// Appends one metric with its HELP and TYPE lines, in Prometheus text format.
/// type is "counter" or "gauge".
void append_metric(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type, std::uint64_t value);

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
