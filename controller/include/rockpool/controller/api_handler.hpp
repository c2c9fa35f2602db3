#pragma once

#include "rockpool/controller/metrics.hpp"
#include "rockpool/specs/object_store.hpp"
#include "rockpool/specs/schema.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace rockpool::controller {

struct resource_call;
struct watch_request;

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
  // One file each under controller/src/api/.
  http_response dispatch(const http_request& req);              // router.cpp
  std::optional<http_response> probe(const std::string& path);  // probes.cpp
  std::string metrics_text();                                   // probes.cpp
  http_response api_groups() const;                             // discovery.cpp
  http_response group_version(const http_request& req) const;   // discovery.cpp
  http_response list(const resource_call& c);                   // get.cpp
  http_response get(const resource_call& c);                    // get.cpp
  http_response create(const resource_call& c);                 // create.cpp
  http_response update(const resource_call& c);                 // update.cpp
  http_response patch(const resource_call& c);                  // patch.cpp
  http_response remove(const resource_call& c);                 // delete.cpp
  /// Streams the events after rev that the watch selects until the client
  /// goes, its deadline passes or stop() is called.                       // watch.cpp
  void follow(const watch_request& w, std::uint64_t rev, chunk_sink& sink);
  /// Runs a store write, timing it in the metrics unless it is a dry run.
  specs::result<specs::write_outcome> timed_write(
      const resource_call& c, const std::function<specs::result<specs::write_outcome>()>& write);

  specs::object_store& store_;
  metrics& metrics_;
  api_options options_;
  std::atomic<bool> stopping_{false};
};

}  // namespace rockpool::controller
