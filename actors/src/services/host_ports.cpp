#include "rockpool/actors/host_ports.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rockpool::actors {

bool host_port_allocator::listening_on_loopback(unsigned short port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // SO_REUSEADDR as Incus's proxy sets it: only a listener makes bind fail.
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool taken = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0;
  ::close(fd);
  return taken;
}

host_port_allocator::host_port_allocator(specs::kv_backend& backend, unsigned short first,
                                         unsigned short last, port_probe in_use)
    : slots_(backend, {"alloc/hostport/",
                       5,
                       "host port",
                       first,
                       last,
                       in_use ? std::function<bool(std::uint32_t)>([in_use](std::uint32_t p) {
                         return in_use(static_cast<unsigned short>(p));
                       })
                              : std::function<bool(std::uint32_t)>(),
                       {}}) {}

specs::result<unsigned short> host_port_allocator::acquire(const std::string& owner) {
  auto n = slots_.acquire(owner);
  if (!n.ok()) return n.err();
  return static_cast<unsigned short>(*n);
}

std::optional<std::string> host_port_allocator::owner_of(unsigned short port) const {
  return slots_.owner_of(port);
}

specs::status host_port_allocator::release(const std::string& owner) {
  return slots_.release(owner);
}

std::size_t host_port_allocator::allocated() const {
  return slots_.allocated();
}

}  // namespace rockpool::actors
