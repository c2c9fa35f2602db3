#include "rockpool/actors/host_ports.hpp"

#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace rockpool::actors {

namespace {
constexpr std::string_view prefix = "alloc/hostport/";
std::string key_of(unsigned short port) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "alloc/hostport/%05u", port);
  return buf;
}
}  // namespace

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
    : backend_(backend), first_(first), last_(last), in_use_(std::move(in_use)), next_(first) {
  std::lock_guard lk(mu_);
  (void)load();  // a failure is retried by the next acquire or release
}

// REQUIRES: mu_ held. Until the stored allocations are read, nothing is handed
// out: a port would otherwise be given twice.
specs::status host_port_allocator::load() {
  if (loaded_) return specs::done{};
  auto snap = backend_.list(prefix, specs::keyspace::allocations);
  if (!snap.ok()) return snap.err();
  for (const auto& rec : snap->records) {
    auto port = static_cast<unsigned short>(std::stoul(rec.key.substr(prefix.size())));
    auto v = specs::parse_json(rec.value);
    if (!v.ok()) continue;
    auto owner = specs::string_at(*v, "owner");
    by_owner_[owner] = {port, rec.mod_revision};
    by_port_[port] = owner;
  }
  loaded_ = true;
  return specs::done{};
}

specs::result<unsigned short> host_port_allocator::acquire(const std::string& owner) {
  std::lock_guard lk(mu_);
  if (auto st = load(); !st.ok()) return st.err();
  if (auto it = by_owner_.find(owner); it != by_owner_.end()) return it->second.first;
  std::size_t span = static_cast<std::size_t>(last_ - first_) + 1;
  std::size_t taken_elsewhere = 0;
  for (std::size_t tries = 0; tries < span; ++tries) {
    unsigned short port = next_;
    next_ = next_ == last_ ? first_ : static_cast<unsigned short>(next_ + 1);
    if (by_port_.count(port)) continue;
    if (in_use_ && in_use_(port)) {
      ++taken_elsewhere;
      continue;
    }
    auto value = boost::json::serialize(boost::json::object{{"owner", owner}});
    auto rev =
        backend_.commit(specs::kv_write{key_of(port), 0, value, specs::keyspace::allocations});
    if (!rev.ok()) {
      if (rev.err().why == specs::reason::conflict) continue;  // taken elsewhere
      return rev.err();
    }
    by_owner_[owner] = {port, *rev};
    by_port_[port] = owner;
    return port;
  }
  return specs::make_error(specs::reason::unavailable,
                           "no free host port in " + std::to_string(first_) + "-" +
                               std::to_string(last_) + " (" + std::to_string(by_port_.size()) +
                               " held by Rockpool, " + std::to_string(taken_elsewhere) +
                               " in use by other processes)");
}

std::optional<std::string> host_port_allocator::owner_of(unsigned short port) const {
  std::lock_guard lk(mu_);
  auto it = by_port_.find(port);
  if (it == by_port_.end()) return std::nullopt;
  return it->second;
}

specs::status host_port_allocator::release(const std::string& owner) {
  std::lock_guard lk(mu_);
  if (auto st = load(); !st.ok()) return st.err();
  auto it = by_owner_.find(owner);
  if (it == by_owner_.end()) return specs::done{};
  auto [port, rev] = it->second;
  auto r = backend_.commit(
      specs::kv_write{key_of(port), rev, std::nullopt, specs::keyspace::allocations});
  if (!r.ok() && r.err().why != specs::reason::not_found) return r.err();
  by_port_.erase(port);
  by_owner_.erase(it);
  return specs::done{};
}

std::size_t host_port_allocator::allocated() const {
  std::lock_guard lk(mu_);
  return by_owner_.size();
}

}  // namespace rockpool::actors
