// The service manager's readiness protocol (sd_notify(3)), without libsystemd:
// one datagram of NAME=VALUE lines to the unix socket named by $NOTIFY_SOCKET
// (a path, or an abstract name when it starts with '@').
#include "rockpool/controller/daemon.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace rockpool::controller {

bool notify_service_manager(std::string_view state) {
  const char* where = std::getenv("NOTIFY_SOCKET");
  if (where == nullptr || where[0] == '\0') return false;
  std::string_view path(where);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr), len) ==
              static_cast<ssize_t>(state.size());
  ::close(fd);
  return sent;
}

}  // namespace rockpool::controller
