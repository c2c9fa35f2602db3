#pragma once

// Raw client sockets for tests and benchmarks that play hostile or very many
// clients: connections that send half a request, never read, or stay idle.

#include <chrono>
#include <string>
#include <string_view>

namespace rockpool::test_support {

/// A connected unix stream socket, or -1.
int connect_unix(const std::string& path);
/// A socket connected to 127.0.0.1:port, or -1.
int connect_tcp(unsigned short port);
/// Writes all of data; false when the peer has gone.
bool send_all(int fd, std::string_view data);

/// What came back on a raw connection within a time limit.
struct raw_reply {
  std::string text;
  bool closed = false;  // the server closed (or reset) the connection
  /// The status code of an HTTP/1.1 response, or 0.
  int status() const;
};

/// Reads until the server closes, a complete Content-Length response is in,
/// or the limit passes.
raw_reply read_reply(int fd, std::chrono::milliseconds limit);

/// Resident memory of a process in KiB (0 when it is gone).
long rss_kib(int pid);

/// Raises this process's open-file soft limit to at least n (up to the hard
/// limit); returns the soft limit now in force.
long raise_open_files(long n);

}  // namespace rockpool::test_support
