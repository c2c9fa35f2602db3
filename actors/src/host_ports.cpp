#include "rockpool/actors/host_ports.hpp"

#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

namespace rockpool::actors {

namespace {
constexpr std::string_view prefix = "alloc/hostport/";
std::string key_of(unsigned short port) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "alloc/hostport/%05u", port);
  return buf;
}
}  // namespace

host_port_allocator::host_port_allocator(specs::kv_backend& backend, unsigned short first,
                                         unsigned short last)
    : backend_(backend), first_(first), last_(last), next_(first) {
  auto snap = backend_.list(prefix);
  if (!snap.ok()) return;
  for (const auto& rec : snap->records) {
    auto port = static_cast<unsigned short>(std::stoul(rec.key.substr(prefix.size())));
    auto v = specs::parse_json(rec.value);
    if (!v.ok()) continue;
    auto owner = specs::string_at(*v, "owner");
    by_owner_[owner] = {port, rec.mod_revision};
    by_port_[port] = owner;
  }
}

specs::result<unsigned short> host_port_allocator::acquire(const std::string& owner) {
  std::lock_guard lk(mu_);
  if (auto it = by_owner_.find(owner); it != by_owner_.end()) return it->second.first;
  std::size_t span = static_cast<std::size_t>(last_ - first_) + 1;
  for (std::size_t tries = 0; tries < span; ++tries) {
    unsigned short port = next_;
    next_ = next_ == last_ ? first_ : static_cast<unsigned short>(next_ + 1);
    if (by_port_.count(port)) continue;
    auto value = boost::json::serialize(boost::json::object{{"owner", owner}});
    auto rev = backend_.commit(specs::kv_write{key_of(port), 0, value});
    if (!rev.ok()) {
      if (rev.err().why == specs::reason::conflict) continue;  // taken elsewhere
      return rev.err();
    }
    by_owner_[owner] = {port, *rev};
    by_port_[port] = owner;
    return port;
  }
  return specs::make_error(
      specs::reason::unavailable,
      "no free host port in " + std::to_string(first_) + "-" + std::to_string(last_));
}

std::optional<unsigned short> host_port_allocator::find(const std::string& owner) const {
  std::lock_guard lk(mu_);
  auto it = by_owner_.find(owner);
  if (it == by_owner_.end()) return std::nullopt;
  return it->second.first;
}

specs::status host_port_allocator::release(const std::string& owner) {
  std::lock_guard lk(mu_);
  auto it = by_owner_.find(owner);
  if (it == by_owner_.end()) return specs::done{};
  auto [port, rev] = it->second;
  auto r = backend_.commit(specs::kv_write{key_of(port), rev, std::nullopt});
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
