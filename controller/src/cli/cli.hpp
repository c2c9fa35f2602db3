#pragma once

// What rpctl's commands share: the context a command runs in, the API paths,
// server errors. One file per command group beside this one (kubectl's
// pkg/cmd/<verb>/ shape); rpctl.cpp still holds the older ones.

#include "rockpool/controller/client.hpp"
#include "rockpool/specs/schema.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <ostream>
#include <string>

namespace rockpool::controller::cli {

struct context {
  std::ostream& out;
  std::ostream& err;
  api_client client;
};

/// A subcommand: its flags live in the closure; run() is called when it was given.
struct command {
  CLI::App* app;
  std::function<int(context&)> run;
};

/// /apis/GROUP/VERSION/PLURAL[/NAME[/SUB]].
std::string resource_path(const specs::kind_info& k, const std::string& name = {},
                          const std::string& sub = {});
/// "Error from server (Reason): message", from a Status body when there is one.
std::string server_error(const client_response& r);
/// A request that answered 2xx: its body. Prints the error and returns nothing otherwise.
std::optional<std::string> request_ok(context& c, const std::string& method,
                                      const std::string& path, const std::string& body = {});
/// request_ok of a GET.
std::optional<std::string> get_ok(context& c, const std::string& path);

// The commands defined in their own files.
command define_open(CLI::App& app);   // open.cpp
command define_exec(CLI::App& app);   // exec.cpp
command define_shell(CLI::App& app);  // exec.cpp

}  // namespace rockpool::controller::cli
