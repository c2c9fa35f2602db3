#pragma once

// The one libcurl helper: rpctl's API client, the Incus REST client and the
// Caddy admin client all send their requests through it. Library
// rockpool_http (libcurl and base only).

#include "rockpool/specs/result.hpp"

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rockpool::runtime {

/// Percent-encodes a query parameter value.
std::string url_encode(std::string_view s);

/// Where to reach a server that listens on `listen`: ":8081" and
/// "0.0.0.0:8081" (every interface) are reached on 127.0.0.1:8081.
std::string dial_address(const std::string& listen);

/// One HTTP request.
struct http_call {
  std::string method = "GET";
  std::string url;                   // for a unix socket, any http://host/path
  std::string unix_socket;           // empty: TCP
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  bool send_body = false;       // also send an empty body (POST, PUT, PATCH)
  long connect_timeout_ms = 0;  // 0: libcurl's default
  long timeout_ms = 0;          // 0: none
  /// HTTPS with a client certificate; the server's certificate pinned (the
  /// chain must verify against exactly this certificate; the host name is not checked).
  std::string client_cert, client_key, pinned_server_cert;
  /// HTTPS whose certificate must chain to this CA (PEM), host name checked.
  std::string ca_file;
  /// When set, body bytes go here as they arrive (with the status) instead
  /// of into the reply; returning false stops the transfer.
  std::function<bool(std::string_view chunk, long status)> on_data;
  /// With on_data (a stream): asked about once a second while nothing
  /// arrives; returning false stops the transfer, as on_data's false does.
  std::function<bool()> keep_going;
  /// With on_data: a stream that sends nothing for this many seconds fails
  /// (reason::unavailable). 0: none.
  long idle_timeout_s = 0;
};

struct http_reply {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, trimmed values
  bool stopped = false;                        // on_data asked to stop
};

/// A libcurl handle reused across requests, so a keep-alive connection stays
/// open. Thread safety: one per thread.
class http_session {
 public:
  http_session();
  ~http_session();
  http_session(http_session&& other) noexcept;
  http_session(const http_session&) = delete;
  http_session& operator=(const http_session&) = delete;

  /// Performs call. A transport failure (no connection, a timeout) is
  /// reason::unavailable with libcurl's words; any HTTP status is a reply; a
  /// stream ended by on_data, or by the server mid-body while streaming, is a
  /// reply too.
  [[nodiscard]] specs::result<http_reply> perform(const http_call& call);

 private:
  void* curl_ = nullptr;
};

/// Performs call on a handle of its own.
[[nodiscard]] specs::result<http_reply> http_perform(const http_call& call);

}  // namespace rockpool::runtime
