// The Workspace kind's subresources:
//   GET  workspaces/NAME/log     the IDE's log (rockpool-ide's init writes
//        ide.log, init.log and dhcp.log under /var/log/rockpool)
//   POST workspaces/NAME/signin  a single-use link that signs a browser in to
//        the workspace server and opens the workspace (rpctl open, the UI)
//   GET  workspaces/NAME/exec    a command in the instance, over a WebSocket
//        (exec.cpp; rpctl exec, rpctl shell)
#include <boost/json.hpp>
#include "common/instance_log.hpp"
#include "rockpool/runtime/http.hpp"
#include "rockpool/specs/schema.hpp"
#include "workspace/exec.hpp"
#include "workspace/reconciler.hpp"

namespace rockpool::actors::workspace {

using specs::make_error;
using specs::reason;

namespace {

// ?path=port/9000/ opens that port route; the default is the IDE.
specs::result<std::string> target_path(const specs::subresource_request& r) {
  auto rest = r.param("path");
  if (rest.size() > 1024 || rest.starts_with("/") || rest.find("..") != std::string::npos ||
      rest.find_first_of("\\\"';,?# \t\r\n") != std::string::npos)
    return make_error(reason::bad_request,
                      "path must be a relative path inside the workspace, e.g. port/9000/");
  return "/workspace/" + r.name + "/" + rest;
}

specs::subresource signin(const subresource_services& services) {
  auto handle = [&services](const specs::subresource_request& r)
      -> specs::result<specs::subresource_response> {
    if (auto obj = services.store.get("Workspace", r.name); !obj.ok()) return obj.err();
    auto path = target_path(r);
    if (!path.ok()) return path.err();
    // Opening a sleeping workspace starts waking it now; the browser's first
    // request waits at the gateway for the rest.
    if (services.activity != nullptr)
      if (auto st = wake_workspace(services.store, *services.activity, r.name, {}); !st.ok())
        return st.err();
    specs::json::object body{{"apiVersion", specs::api_version},
                             {"kind", "WorkspaceSignin"},
                             {"workspace", r.name},
                             {"path", *path}};
    if (!services.issue_signin_code) {
      body["url"] = services.workspace_url + *path;  // no sign-in on the workspace server
    } else {
      auto code = services.issue_signin_code();
      if (!code.ok()) return code.err();
      body["code"] = *code;
      body["url"] = services.workspace_url + "/.rockpool/signin?code=" + *code +
                    "&to=" + runtime::url_encode(*path);
    }
    return specs::subresource_response{201, "application/json", boost::json::serialize(body), {}};
  };
  return {"Workspace", "signin", {"POST"}, std::move(handle)};
}

}  // namespace

std::vector<specs::subresource> reconciler::subresources(
    const subresource_services& services) const {
  return {common::instance_log("Workspace", {"ide", "init", "dhcp"}, services), signin(services),
          exec_subresource(services, std::make_shared<exec_limits>())};
}

}  // namespace rockpool::actors::workspace
