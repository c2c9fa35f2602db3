// The Host kind's rpctl command: rpctl preflight. Linked by rpctl only
// (rockpool_kind_cli).
#include "rockpool/cli/cli.hpp"

#include "rockpool/specs/json.hpp"

namespace rockpool::actors::host {

using namespace cli;
using specs::string_at;

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
  const auto* conds = specs::find_path(*host, "status.conditions");
  if (!conds || !conds->is_array()) {
    c.err << "error: the host has not been probed yet\n";
    return 1;
  }
  bool ready = false;
  for (const auto& cnd : conds->get_array()) {
    auto type = string_at(cnd, "type");
    if (type == "Ready") {
      ready = string_at(cnd, "status") == "True";
      continue;
    }
    bool ok = string_at(cnd, "status") == "True";
    auto msg = string_at(cnd, "message");
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

cli::kind_commands commands() { return {kind, {define_preflight}, {}}; }

}  // namespace rockpool::actors::host
