#pragma once

#include "rockpool/controller/api_handler.hpp"
#include "rockpool/specs/result.hpp"

#include <memory>
#include <optional>
#include <string>

namespace rockpool::controller {

struct server_options {
  std::string socket_path;            // unix socket; created with mode 0600
  std::optional<std::string> listen;  // "127.0.0.1:PORT" (PORT 0 picks a free one); loopback only
  std::string token;                  // bearer token required on TCP
  std::size_t max_body_bytes = 3 << 20;
  std::size_t max_connections = 512;
};

/// HTTP/1.1 server (Boost.Beast) on a unix socket and optionally a loopback
/// TCP port. One thread per connection; watch streams never block writers
/// because they read the event log at their own pace.
class api_server {
 public:
  api_server(api_handler& handler, server_options options);
  ~api_server();

  /// Binds and starts accepting. Fails if the socket is served by a live process.
  [[nodiscard]] specs::status start();
  /// Stops accepting, closes every connection, joins the threads.
  void stop();
  /// The bound TCP port (after start), or 0.
  unsigned short tcp_port() const;

 private:
  specs::status bind_unix();
  specs::status bind_tcp();
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Compares two secrets in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace rockpool::controller
