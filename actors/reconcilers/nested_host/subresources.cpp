// nestedhosts/NAME/credentials and nestedhosts/NAME/log: what a user of a
// nested host needs from inside it, read through Incus's file API
// (docs/api.md#nested-hosts).
#include <boost/json.hpp>
#include "common/instance_log.hpp"
#include "rockpool/specs/schema.hpp"
#include "nested_host/reconciler.hpp"

namespace rockpool::actors::nested_host {

using specs::make_error;
using specs::reason;

namespace {

// Where the nested host's init (runtime/images/nested-host/rockpool-init) keeps it.
constexpr const char* token_path = "/var/lib/rockpool/token";

specs::subresource credentials(const subresource_services& services) {
  auto handle = [&services](const specs::subresource_request& r)
      -> specs::result<specs::subresource_response> {
    if (auto obj = services.store.get("NestedHost", r.name); !obj.ok()) return obj.err();
    if (auto st = common::can_read_instance_files(services); !st.ok()) return st.err();
    auto token = services.incus->read_file(r.name, token_path, 4096);
    if (!token.ok())
      return make_error(
          token.err().why == reason::not_found ? reason::unavailable : token.err().why,
          "the inner token of nestedhost/" + r.name + " is not readable yet (" +
              token.err().message + "); is the nested host running?");
    auto t = *token;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    auto base = services.workspace_url + "/workspace/" + r.name + "/port/8080";
    specs::json::value body = {
        {"apiVersion", specs::api_version},
        {"kind", "NestedHostCredentials"},
        {"nestedHost", r.name},
        {"server", base + "/api"},
        {"token", t},
        {"ui", base + "/app/"},
        {"workspaces", services.workspace_url + "/workspace/" + r.name + "/port/8081/workspace/"}};
    return specs::subresource_response{200, "application/json", boost::json::serialize(body), {}};
  };
  return {"NestedHost", "credentials", {"GET"}, std::move(handle)};
}

}  // namespace

std::vector<specs::subresource> reconciler::subresources(
    const subresource_services& services) const {
  return {credentials(services),
          common::instance_log("NestedHost", {"rockpoold", "caddy", "incusd", "init", "dhcp"},
                               services)};
}

}  // namespace rockpool::actors::nested_host
