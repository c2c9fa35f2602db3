#include "rockpool/controller/metrics.hpp"

#include <cstdio>

namespace rockpool::controller {

void histogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  std::uint64_t cumulative = 0;
  std::string sep = labels.empty() ? "" : ",";
  char buf[64];
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    std::snprintf(buf, sizeof buf, "%g", bounds[i]);
    out += name + "_bucket{" + labels + sep + "le=\"" + buf + "\"} " + std::to_string(cumulative) +
           "\n";
  }
  cumulative += counts_[bounds.size()].load(std::memory_order_relaxed);
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  std::snprintf(buf, sizeof buf, "%.6f",
                static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + buf + "\n";
  out += name + "_count" + braces + " " + std::to_string(cumulative) + "\n";
}

void metrics::count_request(const std::string& method, int code, double seconds) {
  std::lock_guard lk(mu_);
  ++requests_[{method, code}];
  latency_by_method_[method].observe(seconds);
}

std::string metrics::render(const std::string& extra) const {
  std::string out;
  out += "# HELP rockpool_http_requests_total HTTP requests served, by method and code.\n";
  out += "# TYPE rockpool_http_requests_total counter\n";
  std::lock_guard lk(mu_);
  for (const auto& [key, n] : requests_)
    out += "rockpool_http_requests_total{method=\"" + key.first + "\",code=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  out +=
      "# HELP rockpool_http_request_duration_seconds Time to serve a request (watches: until the "
      "head).\n";
  out += "# TYPE rockpool_http_request_duration_seconds histogram\n";
  for (const auto& [method, h] : latency_by_method_)
    h.render(out, "rockpool_http_request_duration_seconds", "method=\"" + method + "\"");
  out += "# HELP rockpool_store_write_duration_seconds Durable store write latency (WAL synced).\n";
  out += "# TYPE rockpool_store_write_duration_seconds histogram\n";
  store_write_.render(out, "rockpool_store_write_duration_seconds", "");
  out += extra;
  return out;
}

void append_metric(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type, std::uint64_t value) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ");
  out.append(name).append(" ").append(type).append("\n").append(name).append(" ");
  out.append(std::to_string(value)).append("\n");
}

}  // namespace rockpool::controller
