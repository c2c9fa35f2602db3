// rpctl open NAME [--port P | --path P] [--print-url]: a single-use link that
// signs this browser in to the workspace server and opens the workspace
// (POST workspaces/NAME/signin). The link works once, within a minute.
#include "rockpool/cli/cli.hpp"

#include "rockpool/specs/json.hpp"

#include <spawn.h>

#include <cstdlib>

extern char** environ;

namespace rockpool::cli {

namespace {

struct open_flags {
  std::string name, path;
  int port = 0;
  bool print_url = false;
};

int run_open(context& c, const open_flags& f) {
  if (f.port != 0 && !f.path.empty()) {
    c.err << "error: give --port or --path, not both\n";
    return 2;
  }
  auto path = f.port != 0 ? "port/" + std::to_string(f.port) + "/" : f.path;
  auto target = resource_path(*specs::find_kind("workspace"), f.name, "signin");
  if (!path.empty()) target += "?path=" + url_encode(path);
  auto body = request_ok(c, "POST", target, "{}");
  if (!body) return 1;
  auto v = specs::parse_json(*body);
  auto url = v.ok() ? specs::string_at(*v, "url") : std::string();
  if (url.empty()) {
    c.err << "error: malformed answer from the server\n";
    return 1;
  }
  if (f.print_url) {
    c.out << url << "\n";
    return 0;
  }
  c.out << "Open this link in your browser within a minute (it works once):\n  " << url << "\n";
  // $BROWSER, as git and xdg-open honour it; nothing is started without it.
  // No shell: the link is an argument, whatever it holds.
  if (const char* browser = std::getenv("BROWSER"); browser && *browser) {
    pid_t pid = 0;
    char* argv[] = {const_cast<char*>(browser), url.data(), nullptr};
    if (posix_spawnp(&pid, browser, nullptr, nullptr, argv, environ) != 0)
      c.err << "warning: could not start $BROWSER (" << browser << ")\n";
  }
  return 0;
}

}  // namespace

command define_open(CLI::App& app) {
  auto f = std::make_shared<open_flags>();
  auto* sub = app.add_subcommand(
      "open", "Sign a browser in to a workspace and open its IDE or a port (single-use link)");
  sub->add_option("NAME", f->name, "The workspace")->required();
  sub->add_option("--port", f->port, "Open this port's route instead of the IDE")
      ->check(CLI::Range(1, 65535));
  sub->add_option("--path", f->path, "Open this path inside the workspace, e.g. port/9000/");
  sub->add_flag("--print-url", f->print_url, "Print only the link (for scripts)");
  return {sub, [f](context& c) { return run_open(c, *f); }};
}

}  // namespace rockpool::cli
