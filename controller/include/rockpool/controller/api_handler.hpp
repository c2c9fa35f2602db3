#pragma once

#include "rockpool/controller/metrics.hpp"
#include "rockpool/specs/object_store.hpp"
#include "rockpool/specs/schema.hpp"
#include "rockpool/specs/subresource.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace rockpool::controller {

struct resource_call;
namespace api {
struct parsed_target;
struct list_options;
}
struct watch_request;

/// A parsed HTTP request, independent of the transport.
struct http_request {
  std::string method;
  std::string target;  // path and query
  std::string content_type;
  std::string body;
  /// The Accept header: `application/json;as=Table;v=v1;g=meta.k8s.io`
  /// asks for a Table (kubectl get), anything else for objects.
  std::string accept = {};
  /// Headers a handler may need beyond these, by lower-case name: cookie,
  /// x-forwarded-uri, x-forwarded-method, x-forwarded-prefix, x-forwarded-proto.
  std::map<std::string, std::string> headers = {};
  /// A header from `headers`, or "".
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

/// The receiving end of a watch stream, implemented by the transport. The
/// handler's watch thread calls it; implementations must be thread-safe and
/// must not block (they queue and write asynchronously).
class watch_client {
 public:
  virtual ~watch_client() = default;
  /// Bytes handed to send() and not yet written to the client. The handler
  /// sends nothing more while this is at api_options::watch_buffer_bytes: a
  /// slow reader falls behind in the event log instead of growing a buffer.
  virtual std::size_t pending_bytes() const = 0;
  /// Queues one chunk of newline-terminated events. The first call starts
  /// the response (an empty first chunk only sends the head); later empty
  /// chunks are ignored.
  virtual void send(std::string chunk) = 0;
  /// Ends the stream once the queued chunks are written.
  virtual void finish() = 0;
  /// True once the client has gone; the handler then forgets it.
  virtual bool gone() const = 0;
};

struct api_options {
  std::chrono::milliseconds bookmark_interval{10000};
  /// How long a list with a resourceVersion the store has not reached waits
  /// for it before 504 Timeout (the apiserver's watch cache waits 3 s too).
  std::chrono::milliseconds resource_version_wait{3000};
  /// Per watcher: no more events are queued while this many bytes wait to be
  /// written (a watcher's buffer holds at most this plus one event).
  std::size_t watch_buffer_bytes = 1 << 20;
  std::string version = "dev";
  /// "outer", or "inner" for a Rockpool running inside a NestedHost (/version).
  std::string role = "outer";
  /// With several replicas on one etcd: "leader" or "follower" (/readyz,
  /// /version, rockpool_leader); unset: one replica, nothing said.
  std::function<std::string()> leadership;
  /// The NestedHost an inner Rockpool runs in ("" when unknown or outer).
  std::string nested_host;
  /// The kinds' subresources (nestedhosts/NAME/log, ...), found by kind and
  /// name; the router names no kind.
  std::vector<specs::subresource> subresources;
  /// The outer Caddy's workspace server, e.g. http://127.0.0.1:8081.
  std::string workspace_url = "http://127.0.0.1:8081";
  /// Extra Prometheus text appended to /metrics (e.g. the actor runtime's counters).
  std::function<std::string()> extra_metrics;
};

/// What an api_server serves: complete responses, and optionally watch streams.
class http_handler {
 public:
  virtual ~http_handler() = default;
  /// True iff the request asks for a stream (served by watch()).
  virtual bool is_watch(const http_request&) const { return false; }
  /// True iff handle() answers this request at once, waiting on nothing but
  /// a read of the store (a GET of one object, a probe): the server then
  /// runs it on the connection's I/O thread rather than handing it to a
  /// worker and the answer back (two thread switches per request).
  virtual bool answers_at_once(const http_request&) const { return false; }
  /// Serves a request with a complete response. Thread-safe.
  virtual http_response handle(const http_request& req) = 0;
  /// Starts a stream; see api_handler::watch.
  virtual std::optional<http_response> watch(const http_request&, std::shared_ptr<watch_client>) {
    return std::nullopt;
  }
  /// Ends every stream.
  virtual void stop() {}
  /// A WebSocket upgrade: the session to serve (on a thread of its own), or
  /// the HTTP answer that refuses it.
  using session = std::function<void(specs::message_stream&)>;
  /// Whether handle() reads http_request::headers (the gateway does; the API
  /// does not, so its requests carry none).
  virtual bool reads_headers() const { return false; }
  /// Whether upgrade() is asked at all (a gateway that Caddy's forward_auth
  /// sends WebSocket requests' headers to answers them as plain requests).
  virtual bool takes_websockets() const { return false; }
  virtual specs::result<session> upgrade(const http_request&) {
    return specs::make_error(specs::reason::not_found, "no WebSocket is served here");
  }
};

/// The Kubernetes-style API over an object_store: routing, content types,
/// Status errors, watch streams. Thread-safe; one instance serves all connections.
class api_handler final : public http_handler {
 public:
  api_handler(specs::object_store& store, metrics& m, api_options options);
  ~api_handler();
  api_handler(const api_handler&) = delete;
  api_handler& operator=(const api_handler&) = delete;

  /// True iff the request asks for a watch stream (served by watch()).
  bool is_watch(const http_request& req) const override;
  /// GET of one object (or its status) without parameters, and the probes.
  bool answers_at_once(const http_request& req) const override;
  /// Serves a request with a complete response.
  http_response handle(const http_request& req) override;
  /// Starts a watch. Returns the error response when it cannot start;
  /// otherwise nullopt, and the client has been sent the initial events and
  /// gets every later one from the handler's watch thread until the client
  /// goes, the watch's timeout passes or stop() is called.
  std::optional<http_response> watch(const http_request& req,
                                     std::shared_ptr<watch_client> client) override;
  /// Ends every watch stream (finish()) and stops the watch thread.
  void stop() override;
  /// WebSocket subresources (workspaces/NAME/exec).
  bool takes_websockets() const override { return true; }
  specs::result<session> upgrade(const http_request& req) override;  // subresource.cpp

  /// An error as a Kubernetes Status response.
  static http_response status_response(const specs::error& e);

 private:
  // One file each under controller/src/api/.
  http_response dispatch(const http_request& req);                        // router.cpp
  http_response log_level(const http_request& req);
  std::size_t open_watches() const;  // watch.cpp
  std::optional<http_response> probe(const std::string& path);            // probes.cpp
  std::string metrics_text();                                             // probes.cpp
  http_response api_groups() const;                                       // discovery.cpp
  http_response group_version(const http_request& req) const;             // discovery.cpp
  http_response openapi(const std::vector<std::string>& segments) const;  // discovery.cpp
  http_response api_group(const std::string& group) const;                // discovery.cpp
  http_response builtin_group_version(const std::string& group) const;    // discovery.cpp
  /// authorization.k8s.io/v1 selfsubjectaccessreviews and selfsubjectrulesreviews.
  http_response access_review(const http_request& req, const std::string& which);  // access_review.cpp
  /// The aggregated discovery document (apidiscovery.k8s.io/v2) of /apis
  /// (core false) or /api (core true).
  http_response aggregated_discovery(bool core, const std::string& accept) const;  // discovery.cpp
  /// apiextensions.k8s.io/v1 customresourcedefinitions, read-only.
  http_response crds(const http_request& req, const api::parsed_target& t);  // crds.cpp
  /// One page of a list as the options ask (revision, continue, limit), or
  /// the Status that refuses it (410 Expired, 504 Timeout, ...).
  std::variant<specs::list_outcome, http_response> read_list(const std::string& kind,
                                                             const api::list_options& o);  // get.cpp
  http_response list(const resource_call& c);                             // get.cpp
  http_response get(const resource_call& c);                              // get.cpp
  http_response create(const resource_call& c);                           // create.cpp
  http_response update(const resource_call& c);                           // update.cpp
  http_response patch(const resource_call& c);                            // patch.cpp
  http_response remove(const resource_call& c);                           // delete.cpp
  /// The web UI under /app/.
  http_response ui(const http_request& req, const std::vector<std::string>& segments);  // ui.cpp
  /// A kind's subresource (PLURAL/NAME/SUBRESOURCE other than status).
  http_response subresource(const resource_call& c, const std::string& which);  // subresource.cpp
  /// /api, /api/v1 and the core v1 Events made from Rockpool's; nullopt:
  /// not such a path.
  std::optional<http_response> core_v1(const http_request& req);  // core_events.cpp
  std::optional<http_response> core_discovery(const std::string& path,
                                              const std::vector<std::string>& segments,
                                              const std::string& accept);
  struct watchers;  // the open watches and the thread that feeds them (watch.cpp)
  /// The watch thread: hands each open watch the events it selects.
  void feed_watchers();
  /// Runs a store write, timing it in the metrics unless it is a dry run.
  specs::result<specs::write_outcome> timed_write(
      const resource_call& c, const std::function<specs::result<specs::write_outcome>()>& write);

  specs::object_store& store_;
  metrics& metrics_;
  api_options options_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<watchers> watchers_;
};

}  // namespace rockpool::controller
