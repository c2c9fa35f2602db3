#pragma once

// A kind's subresources (nestedhosts/NAME/log, gitsyncs/NAME/plan, ...),
// transport-free: a kind's folder declares them, the API router finds them
// by (kind, name), as the Kubernetes apiserver registers REST storage per
// resource and subresource. Nothing outside the kind's folder names them.

#include "rockpool/specs/result.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace rockpool::specs {

/// One call to a subresource: /apis/GROUP/VERSION/PLURAL/NAME/SUBRESOURCE.
struct subresource_request {
  std::string method;
  std::string name;                          // the object's name
  std::map<std::string, std::string> query;  // decoded query parameters
  std::string body;
  /// A query parameter, or "".
  std::string param(const std::string& key) const {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
  }
};

struct subresource_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

/// The server's end of a WebSocket session (a subresource's `stream`).
/// Messages are whole WebSocket messages (binary). Thread safety: read() on
/// one thread, write() and close() on any.
class message_stream {
 public:
  enum class read_result { message, closed, timed_out };
  virtual ~message_stream() = default;
  /// Blocks up to timeout for the client's next message.
  virtual read_result read(std::string& message, std::chrono::milliseconds timeout) = 0;
  /// Queues a message; blocks while too much is queued (the client reads
  /// slowly). False once the session is closed.
  virtual bool write(std::string message) = 0;
  /// Ends the session once what is queued is written.
  virtual void close() = 0;
};

/// A subresource of a kind. REQUIRES: handle is thread-safe (it serves
/// concurrent requests) and blocking only for a bounded time.
struct subresource {
  std::string kind;                // e.g. "NestedHost"
  std::string name;                // e.g. "log"
  std::vector<std::string> verbs;  // HTTP methods, e.g. {"GET"}; others get 405
  /// An error becomes a Kubernetes Status with its reason's HTTP code.
  std::function<result<subresource_response>(const subresource_request&)> handle;
  /// For a WebSocket subresource (e.g. workspaces/NAME/exec): checks the
  /// request before the upgrade (an error is the HTTP answer) and returns what
  /// serves the session, which runs on a thread of its own for as long as it
  /// lasts. Empty: the subresource takes no WebSocket.
  std::function<result<std::function<void(message_stream&)>>(const subresource_request&)> upgrade =
      {};
};

}  // namespace rockpool::specs
