// NestedHost's rpctl command: rpctl nestedhost credentials NAME. Linked by
// rpctl only (rockpool_kind_cli).
#include "rockpool/cli/cli.hpp"

#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

namespace rockpool::actors::nested_host {

using namespace cli;
using specs::string_at;

namespace {

constexpr const char* kind = "NestedHost";

// GET of a NestedHost subresource; the body, or a message on err.
std::optional<std::string> nested_host_get(context& c, const std::string& name,
                                           const std::string& what) {
  return get_ok(c, resource_path(*specs::find_kind(kind), name) + "/" + what);
}

int cmd_credentials(context& c, const std::string& name, const std::string& output) {
  auto body = nested_host_get(c, name, "credentials");
  if (!body) return 1;
  if (output == "json") {
    c.out << *body << "\n";
    return 0;
  }
  auto v = specs::parse_json(*body);
  if (!v.ok()) {
    c.err << "error: malformed credentials from the server\n";
    return 1;
  }
  c.out << "# The inner Rockpool of nestedhost/" << name << ", through the outer routes.\n"
        << "# Use: eval \"$(rpctl nestedhost credentials " << name << ")\"; rpctl get ws\n"
        << "# Inner UI: " << string_at(*v, "ui") << "\n"
        << "export ROCKPOOL_SERVER=" << string_at(*v, "server") << "\n"
        << "export ROCKPOOL_TOKEN=" << string_at(*v, "token") << "\n";
  return 0;
}

command define_nested_host(CLI::App& app) {
  auto name = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>("env");
  auto* sub = app.add_subcommand("nestedhost", "Reach a nested host's inner Rockpool");
  sub->require_subcommand(1);
  auto* creds = sub->add_subcommand(
      "credentials", "Print the inner control plane's server and token (read through Incus)");
  creds->add_option("NAME", *name, "The NestedHost")->required();
  creds->add_option("-o,--output", *output, "env (shell exports) or json")
      ->check(CLI::IsMember({"env", "json"}))
      ->capture_default_str();
  return {sub, [name, output](context& c) { return cmd_credentials(c, *name, *output); }};
}

}  // namespace

cli::kind_commands commands() { return {kind, {define_nested_host}, {}}; }

}  // namespace rockpool::actors::nested_host
