#include "common/instance_log.hpp"
#include "common/pass.hpp"

#include <algorithm>

namespace rockpool::actors::common {

using specs::make_error;
using specs::reason;

namespace {
constexpr std::size_t default_log_bytes = 64 << 10;
constexpr std::size_t max_log_bytes = 8 << 20;
}  // namespace

specs::status can_read_instance_files(const subresource_services& services) {
  if (services.incus != nullptr) return specs::done{};
  return make_error(reason::unavailable,
                    "this controller does not reach Incus (--runtime is not incus)");
}

specs::subresource instance_log(std::string kind, std::vector<std::string> components,
                                const subresource_services& services) {
  auto handle = [kind, components, &services](
                    const specs::subresource_request& r) -> specs::result<specs::subresource_response> {
    if (auto obj = services.store.get(kind, r.name); !obj.ok()) return obj.err();
    if (auto st = can_read_instance_files(services); !st.ok()) return st.err();
    auto component = r.param("component");
    if (component.empty()) component = components.front();
    if (std::find(components.begin(), components.end(), component) == components.end())
      return make_error(reason::bad_request, "component must be one of " + join(components) +
                                                 "; got \"" + component.substr(0, 64) + "\"");
    std::size_t limit = default_log_bytes;
    if (auto l = r.param("limitBytes"); !l.empty()) {
      if (l.size() > 9 || l.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(l) == 0)
        return make_error(reason::bad_request, "limitBytes must be a positive integer");
      limit = std::min<std::size_t>(std::stoul(l), max_log_bytes);
    }
    auto text =
        services.incus->read_file(r.name, "/var/log/rockpool/" + component + ".log", limit);
    if (!text.ok()) {
      std::string lower = kind;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      return make_error(text.err().why, "the " + component + " log of " + lower + "/" + r.name +
                                            " is not readable: " + text.err().message);
    }
    return specs::subresource_response{200, "text/plain; charset=utf-8", std::move(*text), {}};
  };
  return {std::move(kind), "log", {"GET"}, std::move(handle)};
}

}  // namespace rockpool::actors::common
