// rpctl's entry: the global flags and the commands, each defined with its
// flags and action in its own file beside this one, and the kinds' own
// commands (from their folders, passed in).
#include "rockpool/cli/rpctl.hpp"

#include "rockpool/cli/cli.hpp"

#include "rockpool/cli/client.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <vector>

namespace rockpool::cli {


namespace {

constexpr const char* default_server = "unix:///run/rockpool/rockpoold.sock";

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v && *v) ? std::string(v) : fallback;
}

// Parses argv; returns an exit code when rpctl should stop now (help, usage error).
std::optional<int> parse(CLI::App& app, int argc, char** argv, std::ostream& out,
                         std::ostream& err) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    out << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp& e) {
    out << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    // Subcommand help requests surface as CallForHelp from the subcommand.
    if (e.get_exit_code() == 0) {
      for (auto* sub : app.get_subcommands()) out << sub->help();
      return 0;
    }
    err << "error: " << e.what() << "\n";
    return 2;
  }
  return std::nullopt;
}

}  // namespace

int run_rpctl(int argc, char** argv, std::ostream& out, std::ostream& err,
              const std::vector<kind_commands>& kinds) {
  CLI::App app{"rpctl: command-line client for Rockpool's control plane"};
  app.require_subcommand(1);
  client_options co{env_or("ROCKPOOL_SERVER", default_server), env_or("ROCKPOOL_TOKEN", ""), 0};
  std::string request_timeout = "30s";
  app.add_option("--server", co.server,
                 "unix:///path.sock or https://127.0.0.1:PORT (env ROCKPOOL_SERVER)")
      ->capture_default_str();
  app.add_option("--token", co.token, "Bearer token for TCP servers (env ROCKPOOL_TOKEN)");
  co.ca_file = env_or("ROCKPOOL_CA_FILE", "");
  app.add_option("--certificate-authority", co.ca_file,
                 "PEM CA of an https:// server, e.g. rockpoold's DATA_DIR/tls/ca.crt (env "
                 "ROCKPOOL_CA_FILE)");
  app.add_option("--request-timeout", request_timeout, "Timeout of one request, e.g. 30s")
      ->check(duration_check())
      ->capture_default_str();
  std::vector<command> commands = {
      define_apply(app),
      define_get(app),
      define_describe(app),
      define_delete(app),
      define_diff(app, kinds),
      define_explain(app),
      define_wait(app),
      define_events(app),
      define_logs(app),
      define_open(app),
      define_exec(app),
      define_shell(app),
      define_backup(app),
      define_config(app),
      define_version(app)};
  for (const auto& k : kinds)
    for (const auto& define : k.commands) commands.push_back(define(app));
  if (auto stop = parse(app, argc, argv, out, err)) return *stop;
  co.timeout_ms = static_cast<long>(parse_duration(request_timeout).count());
  context c{out, err, api_client(co)};
  for (auto& cmd : commands)
    if (cmd.app->parsed()) return cmd.run(c);
  return 2;
}

}  // namespace rockpool::cli
