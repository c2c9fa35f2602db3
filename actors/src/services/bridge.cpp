#include "rockpool/actors/bridge.hpp"

#include "rockpool/specs/validation.hpp"

namespace rockpool::actors {

std::string ipv4_text(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

namespace {

struct range {
  std::uint32_t network = 0, first = 0, last = 0;
  int prefix = 24;
};

// The addresses workspaces may take: all hosts but the gateway (the first).
range hosts_of(const std::string& cidr) {
  auto parsed = specs::parse_cidr(cidr);
  range r;
  if (!parsed) return r;
  r.prefix = parsed->second;
  std::uint32_t mask = r.prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - r.prefix);
  r.network = parsed->first & mask;
  std::uint32_t broadcast = r.network | ~mask;
  r.first = r.network + 2;
  r.last = broadcast - 1;
  return r;
}

}  // namespace

bridge_network::bridge_network(specs::kv_backend& backend, std::string name, std::string cidr)
    : name_(std::move(name)), addresses_(backend, [&] {
        auto r = hosts_of(cidr);
        return durable_allocator::options{"alloc/ipv4/" + name_ + "/",
                                          10,
                                          "address on bridge " + name_,
                                          r.first,
                                          r.last,
                                          {},
                                          ipv4_text};
      }()) {
  auto r = hosts_of(cidr);
  cidr_ = ipv4_text(r.network) + "/" + std::to_string(r.prefix);
  gateway_ = ipv4_text(r.network + 1) + "/" + std::to_string(r.prefix);
}

bridge_network::state bridge_network::ensure(runtime::incus_client& incus) {
  std::lock_guard lk(mu_);
  auto found = incus.get_network(name_);
  state s;
  if (!found.ok()) {
    s = {false, "Unavailable", "cannot read network " + name_ + ": " + found.err().message};
  } else if (!*found) {
    runtime::network_spec spec{name_,
                               gateway_,
                               "Rockpool workspaces (managed by rockpoold)",
                               {{bridge_owner_key, bridge_owner_value}}};
    auto created = incus.create_network(spec);
    s = created.ok()
            ? state{true, "Created", "created bridge " + name_ + " (" + cidr_ + ", NAT)", true}
            : state{false, "Unavailable",
                    "cannot create bridge " + name_ + ": " + created.err().message, false};
  } else {
    const auto& n = **found;
    auto owner = n.config.find(bridge_owner_key);
    auto address = n.config.find("ipv4.address");
    if (owner == n.config.end() || owner->second != bridge_owner_value) {
      s = {false, "NotOurs",
           "network " + name_ +
               " exists and is not Rockpool's (it has no user.rockpool.owner=rockpoold); "
               "Rockpool leaves it alone: choose another name with --bridge, or delete it"};
    } else if (address == n.config.end() || address->second != gateway_) {
      s = {false, "AddressMismatch",
           "bridge " + name_ + " has address " +
               (address == n.config.end() ? std::string("(none)") : address->second) +
               " but --bridge-cidr asks for " + gateway_ +
               "; change the flag back or delete the bridge (it is recreated)"};
    } else {
      auto nat = n.config.find("ipv4.nat");
      bool nat_on = nat != n.config.end() && nat->second == "true";
      s = {true, "Ready", "bridge " + name_ + " (" + cidr_ + (nat_on ? ", NAT" : ", NAT off") + ")",
           nat_on};
    }
  }
  state_ = s;
  ready_ = s.ready;
  return s;
}

bridge_network::state bridge_network::current() const {
  std::lock_guard lk(mu_);
  return state_;
}

specs::result<std::string> bridge_network::acquire(const std::string& owner) {
  auto n = addresses_.acquire(owner);
  if (!n.ok()) return n.err();
  return ipv4_text(*n);
}

specs::status bridge_network::release(const std::string& owner) {
  return addresses_.release(owner);
}

}  // namespace rockpool::actors
