#pragma once

#include "rockpool/runtime/http.hpp"
#include "rockpool/specs/result.hpp"

#include <functional>
#include <map>
#include <string>

namespace rockpool::cli {

struct client_options {
  /// unix:///path/to.sock, https://127.0.0.1:PORT or (--plain-http) http://...
  std::string server;
  std::string token;
  long timeout_ms = 30000;
  /// PEM CA the HTTPS server's certificate must chain to (rockpoold's
  /// DATA_DIR/tls/ca.crt); empty: the system's trust store.
  std::string ca_file = {};
};

struct client_response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

/// Blocking HTTP client (libcurl) for rockpoold's API, over a unix socket or loopback TCP.
/// Keeps its connection open between requests.
/// Thread safety: one client per thread.
class api_client {
 public:
  explicit api_client(client_options options);
  ~api_client();
  api_client(api_client&&) noexcept;
  api_client(const api_client&) = delete;
  api_client& operator=(const api_client&) = delete;

  /// One request; a transport failure is an error, any HTTP status is a response.
  [[nodiscard]] specs::result<client_response> request(const std::string& method,
                                                       const std::string& path,
                                                       const std::string& body = {},
                                                       const std::string& content_type = {});
  /// A streaming GET: on_line is called for every complete line until the
  /// server ends the stream or on_line returns false. Returns the HTTP status.
  [[nodiscard]] specs::result<long> stream(const std::string& path,
                                           const std::function<bool(std::string_view)>& on_line,
                                           std::string* error_body = nullptr);
  const client_options& options() const { return options_; }

 private:
  runtime::http_call call_for(const std::string& method, const std::string& path) const;
  specs::error unreachable(const specs::error& e) const;

  client_options options_;
  runtime::http_session session_;  // keeps the connection open
  std::string unix_path_;
  std::string base_url_;
};

using runtime::url_encode;

}  // namespace rockpool::cli
