// Incus's words become values once, here at the boundary: the reconcilers
// match on an error's causes, never on its message.
#include "rockpool/runtime/incus.hpp"

#include <regex>

namespace rockpool::runtime {

specs::error classify_incus_error(specs::error e) {
  // A proxy device whose host port another process listens on: "... listen
  // tcp 127.0.0.1:PORT: bind: address already in use".
  static const std::regex in_use("127\\.0\\.0\\.1:([0-9]{1,5}): bind: address already in use");
  std::smatch m;
  if (std::regex_search(e.message, m, in_use) && std::stoul(m[1].str()) <= 65535 &&
      !host_port_in_use(e))
    e.causes.push_back({host_port_in_use_field, m[1].str()});
  // "Instance is busy running a "start" operation".
  if (e.message.find("is busy") != std::string::npos && !incus_busy(e))
    e.causes.push_back({incus_busy_field, "true"});
  // An operation's failure has no HTTP code to give it a reason: its words do.
  if (e.why == specs::reason::unavailable || e.why == specs::reason::internal) {
    if (e.message.find("not found") != std::string::npos)
      e.why = specs::reason::not_found;
    else if (e.message.find("already exists") != std::string::npos)
      e.why = specs::reason::already_exists;
  }
  return e;
}

bool incus_busy(const specs::error& e) {
  for (const auto& c : e.causes)
    if (c.field == incus_busy_field) return true;
  return false;
}

std::optional<unsigned short> host_port_in_use(const specs::error& e) {
  for (const auto& c : e.causes)
    if (c.field == host_port_in_use_field && !c.message.empty() &&
        c.message.find_first_not_of("0123456789") == std::string::npos && c.message.size() <= 5) {
      auto port = std::stoul(c.message);
      if (port > 0 && port <= 65535) return static_cast<unsigned short>(port);
    }
  return std::nullopt;
}

}  // namespace rockpool::runtime
