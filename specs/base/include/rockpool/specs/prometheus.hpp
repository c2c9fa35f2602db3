#pragma once
// Prometheus text exposition: a fixed-bucket histogram and one-value metrics,
// shared by the API's metrics and the control loop's.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace rockpool::specs {

/// A Prometheus histogram with fixed buckets (seconds). Thread-safe.
class histogram {
 public:
  static constexpr std::array<double, 14> bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                    0.025,  0.05,  0.1,    0.25,  0.5,
                                                    1.0,    2.5,   5.0,    10.0};
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

/// The HELP and TYPE lines alone, for a metric whose samples follow.
void append_header(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type);

}  // namespace rockpool::specs
