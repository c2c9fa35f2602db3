// The Host kind's rpctl command: rpctl preflight. Linked by rpctl only
// (rockpool_kind_cli).
#include "rockpool/cli/cli.hpp"
#include "rockpool/crds/types.hpp"

#include "rockpool/specs/json.hpp"

namespace rockpool::actors::host {

using namespace cli;

namespace {

constexpr const char* kind = "Host";

// Prints the host checks from the Host object the daemon's probe writes.
// Exit 1 when a check that container workspaces need fails.
int cmd_preflight(context& c) {
  const auto* k = specs::find_kind(kind);
  auto host = fetch(c, *k, "local");
  if (!host.ok()) {
    c.err << host.err().message << "\n";
    return 1;
  }
  auto status = crds::host::status_of(*host);
  if (!status.ok()) {
    c.err << "error: malformed Host status from the server: " << status.err().message << "\n";
    return 1;
  }
  if (status->conditions.empty()) {
    c.err << "error: the host has not been probed yet\n";
    return 1;
  }
  using crds::host::status_conditions_item_status;
  bool ready = false;
  for (const auto& cnd : status->conditions) {
    bool ok = cnd.status == status_conditions_item_status::True;
    if (cnd.type == "Ready") {
      ready = ok;
      continue;
    }
    const auto& type = cnd.type;
    auto msg = cnd.message.value_or("");
    auto remedy = msg.find("; remedy: ");
    c.out << (ok ? "PASS  " : "FAIL  ") << type << ": " << msg.substr(0, remedy) << "\n";
    if (!ok && remedy != std::string::npos)
      c.out << "      remedy: " << msg.substr(remedy + 10) << "\n";
  }
  c.out << (ready ? "Container workspaces can run on this host.\n"
                  : "A check container workspaces need failed.\n");
  return ready ? 0 : 1;
}

command define_preflight(CLI::App& app) {
  return {app.add_subcommand("preflight",
                             "Check the host: Incus, containers, VMs, KVM, nested KVM, "
                             "vhost_vsock, Caddy"),
          cmd_preflight};
}

}  // namespace

cli::kind_commands commands() {
  return {kind, {define_preflight}, {}};
}

}  // namespace rockpool::actors::host
