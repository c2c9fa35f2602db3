#pragma once

#include "rockpool/controller/api_handler.hpp"
#include "rockpool/specs/result.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace rockpool::controller {

struct server_options {
  std::string socket_path;            // unix socket; created with mode 0600
  std::optional<std::string> listen;  // "127.0.0.1:PORT" (PORT 0 picks a free one); loopback only
  std::string token;                  // bearer token required on TCP
  /// PEM certificate chain and private key: TCP serves HTTPS; empty: plain HTTP.
  std::string tls_cert_file = {};
  std::string tls_key_file = {};
  std::size_t max_body_bytes = 3 << 20;
  std::size_t max_header_bytes = 32 << 10;
  /// Open connections per listener; one more is answered 503 and closed. The
  /// listeners count separately, so TCP clients cannot starve the unix socket.
  std::size_t max_unix_connections = 4096;
  std::size_t max_tcp_connections = 16384;
  /// A kept-alive connection may wait this long for its next request.
  std::chrono::milliseconds idle_timeout{90'000};
  /// From the first byte of a request to the end of its header.
  std::chrono::milliseconds header_timeout{10'000};
  /// For the whole body, once the header is in.
  std::chrono::milliseconds body_timeout{60'000};
  /// For each write of a response or of a watch stream's chunk.
  std::chrono::milliseconds write_timeout{60'000};
  /// Threads that run request handlers (store reads and writes block).
  std::size_t handler_threads = 16;
  /// False for a listener whose handler authenticates by itself (the
  /// workspace sign-in gateway): no bearer token is asked for.
  bool require_token = true;
  std::string listen_flag = "--listen";  // how errors about `listen` name it
  /// When set, the unix socket is given to this group with mode 0660: its
  /// members may use the API (the package's `rockpool` group).
  std::string socket_group = {};
};

/// HTTP/1.1 server (Boost.Beast, asynchronous) on a unix socket and
/// optionally a loopback TCP port (HTTPS when given a certificate). One I/O thread multiplexes
/// every connection; handlers run on a small thread pool and watch streams are fed by the handler's
/// watch thread, so an idle or slow client holds a socket and a few hundred bytes, never a thread.
/// On TCP the bearer token is checked as soon as the header is in, before any body is read.
class api_server {
 public:
  api_server(http_handler& handler, server_options options);
  ~api_server();

  /// Binds and starts accepting. Fails if the socket is served by a live process.
  [[nodiscard]] specs::status start();
  /// Stops accepting, ends every watch, waits for running handlers, closes
  /// every connection and joins the threads.
  void stop();
  /// The bound TCP port (after start), or 0.
  unsigned short tcp_port() const;

  struct impl;

 private:
  specs::status bind_unix();
  specs::status bind_tcp();
  std::unique_ptr<impl> impl_;
};

/// Compares two secrets in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace rockpool::controller
