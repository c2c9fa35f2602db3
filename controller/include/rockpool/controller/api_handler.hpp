#pragma once

#include "rockpool/controller/metrics.hpp"
#include "rockpool/specs/object_store.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>

namespace rockpool::controller {

/// A parsed HTTP request, independent of the transport.
struct http_request {
  std::string method;
  std::string target;  // path and query
  std::string content_type;
  std::string body;
};

struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

/// Receives the chunks of a streamed (watch) response.
class chunk_sink {
 public:
  virtual ~chunk_sink() = default;
  /// Sends one chunk; returns false once the client has gone.
  virtual bool send(std::string_view data) = 0;
};

struct api_options {
  std::chrono::milliseconds bookmark_interval{10000};
  std::string version = "dev";
  /// Extra Prometheus text appended to /metrics (e.g. the actor runtime's counters).
  std::function<std::string()> extra_metrics;
};

/// The Kubernetes-style API over an object_store: routing, content types,
/// Status errors, watch streams. Thread-safe; one instance serves all connections.
class api_handler {
 public:
  api_handler(specs::object_store& store, metrics& m, api_options options);

  /// True iff the request asks for a watch stream (served by stream()).
  bool is_watch(const http_request& req) const;
  /// Serves a request with a complete response.
  http_response handle(const http_request& req);
  /// Serves a watch: writes the response head via `head`, then events until
  /// the client goes or stop() is called.
  void stream(const http_request& req, const std::function<bool(const http_response&)>& head,
              chunk_sink& sink);
  /// Ends every watch stream promptly.
  void stop();

  /// An error as a Kubernetes Status response.
  static http_response status_response(const specs::error& e);

 private:
  http_response dispatch(const http_request& req);

  specs::object_store& store_;
  metrics& metrics_;
  api_options options_;
  std::atomic<bool> stopping_{false};
};

}  // namespace rockpool::controller
