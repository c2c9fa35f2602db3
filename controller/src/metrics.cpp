#include "rockpool/controller/metrics.hpp"

#include <cstdio>

namespace rockpool::controller {

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

}  // namespace rockpool::controller
