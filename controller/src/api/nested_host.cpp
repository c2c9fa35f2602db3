// GET nestedhosts/NAME/credentials and nestedhosts/NAME/log: what a user of a
// nested host needs from inside it, read through Incus's file API so nobody
// has to exec into the instance (docs/api.md#nested-hosts).
#include "api/api.hpp"

#include <algorithm>
#include <array>

namespace rockpool::controller {

using namespace api;

namespace {

// Where the nested host's init (runtime/images/nested-host/rockpool-init) keeps them.
constexpr const char* token_path = "/var/lib/rockpool/token";
constexpr std::array<const char*, 5> components = {"rockpoold", "caddy", "incusd", "init", "dhcp"};
constexpr std::size_t default_log_bytes = 64 << 10;
constexpr std::size_t max_log_bytes = 8 << 20;

}  // namespace

http_response api_handler::nested_host(const resource_call& c, const std::string& what) {
  if (auto obj = store_.get("NestedHost", c.name); !obj.ok()) return status_response(obj.err());
  if (!options_.read_instance_file)
    return status_response(make_error(
        reason::unavailable, "this controller does not reach Incus (--runtime is not incus)"));
  if (what == "credentials") {
    auto token = options_.read_instance_file(c.name, token_path, 4096);
    if (!token.ok())
      return status_response(
          make_error(token.err().why == reason::not_found ? reason::unavailable : token.err().why,
                     "the inner token of nestedhost/" + c.name + " is not readable yet (" +
                         token.err().message + "); is the nested host running?"));
    auto t = *token;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    auto base = options_.workspace_url + "/workspace/" + c.name + "/port/8080";
    return json_response(200, {{"apiVersion", specs::api_version},
                               {"kind", "NestedHostCredentials"},
                               {"nestedHost", c.name},
                               {"server", base + "/api"},
                               {"token", t},
                               {"ui", base + "/app/"},
                               {"workspaces", options_.workspace_url + "/workspace/" + c.name +
                                                  "/port/8081/workspace/"}});
  }
  auto component = query(c.target, "component");
  if (component.empty()) component = "rockpoold";
  if (std::find(components.begin(), components.end(), component) == components.end())
    return status_response(
        make_error(reason::bad_request,
                   "component must be one of rockpoold, caddy, incusd, init, dhcp; got \"" +
                       component.substr(0, 64) + "\""));
  std::size_t limit = default_log_bytes;
  if (auto l = query(c.target, "limitBytes"); !l.empty()) {
    if (l.size() > 9 || l.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(l) == 0)
      return status_response(
          make_error(reason::bad_request, "limitBytes must be a positive integer"));
    limit = std::min<std::size_t>(std::stoul(l), max_log_bytes);
  }
  auto text = options_.read_instance_file(c.name, "/var/log/rockpool/" + component + ".log", limit);
  if (!text.ok())
    return status_response(
        make_error(text.err().why == reason::not_found ? reason::not_found : text.err().why,
                   "the " + component + " log of nestedhost/" + c.name +
                       " is not readable: " + text.err().message));
  return http_response{200, "text/plain; charset=utf-8", std::move(*text), {}};
}

}  // namespace rockpool::controller
