#pragma once

// What rpctl's commands share: the context a command runs in, the API paths,
// server errors, printing, durations and the watch loop. One file per command
// group in cli/src/, each with its flags and its action together (kubectl's
// pkg/cmd/<verb>/ shape); rpctl.cpp only assembles them. A command that
// belongs to one kind lives in that kind's folder
// (actors/reconcilers/KIND/cli.cpp) and reaches rpctl as a kind_commands.

#include "rockpool/cli/client.hpp"
#include "rockpool/specs/schema.hpp"

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace rockpool::cli {

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

/// The kind NAME names (singular, plural or short name); prints the known ones when none.
const specs::kind_info* require_kind(context& c, const std::string& name);
/// GET of one object, its body parsed.
specs::result<boost::json::value> fetch(context& c, const specs::kind_info& k,
                                        const std::string& name);

/// Names one request to the controller, in order: the time with nanoseconds
/// (as Flux's reconcile.fluxcd.io/requestedAt).
std::string request_token();
/// A JSON merge patch of KIND/NAME: the object as written, or nothing (the
/// error printed).
std::optional<boost::json::value> merge_patch(context& c, const specs::kind_info& k,
                                              const std::string& name,
                                              const boost::json::value& patch);

// Durations and revisions (cli.cpp).
/// "30s", "1.5m", "200ms", "2h" or a number of seconds; nothing for anything else.
std::optional<std::chrono::milliseconds> try_parse_duration(const std::string& s);
/// For flags already checked by duration_check().
std::chrono::milliseconds parse_duration(const std::string& s);
/// A CLI11 check that a flag is a duration.
CLI::Validator duration_check();
/// A resourceVersion from the server; 0 when it is not a number.
std::uint64_t revision_of(const std::string& s);

// Printing (print.cpp).
enum class output { table, wide, yaml, json, name };
std::optional<output> parse_output(const std::string& o);
/// event_view: `rpctl events`' own layout, oldest first.
void print_objects(std::ostream& out, const specs::kind_info& k,
                   const std::vector<boost::json::value>& items, output fmt, bool single,
                   bool header, bool event_view = false);
/// Aligned columns, as kubectl prints them.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows);
/// kind/name, with the kind's singular name.
std::string ref(const boost::json::value& obj);
/// "5m", "3h" since an RFC 3339 time.
std::string age_since(const std::string& ts);
std::string or_dash(std::string s);
/// A condition's status and message ("" when the object has no such condition).
std::string condition_status(const boost::json::value& obj, const std::string& type);
std::string condition_message(const boost::json::value& obj, const std::string& type);

/// Watches a collection from rv, calling on_event(type, object); resumes after
/// disconnects and relists (calling relist) on Gone. Stops when on_event
/// returns false or the deadline passes. Returns false on a hard error (watch.cpp).
bool watch_loop(context& c, const specs::kind_info& k, std::string query, std::uint64_t rv,
                std::chrono::steady_clock::time_point deadline,
                const std::function<bool(const std::string&, const boost::json::value&)>& on_event,
                const std::function<std::optional<std::uint64_t>()>& relist);

/// Watches KIND/NAME from the version `from` carries until done(object)
/// holds (the object then) or the timeout passes (nothing) (watch.cpp).
std::optional<boost::json::value> wait_until(
    context& c, const specs::kind_info& k, const std::string& name, const boost::json::value& from,
    std::chrono::milliseconds timeout, const std::function<bool(const boost::json::value&)>& done);

/// An object as diff shows it: no status, no server-set metadata (apply.cpp).
boost::json::value for_diff(boost::json::value v);

/// What one kind adds to rpctl, from its own folder: its commands (each
/// defines its flags on the app and returns its action), and what
/// `rpctl diff KIND/NAME` shows for it (GitSync: its plan). rpctl looks both
/// up here, as the API server looks up a kind's subresources.
struct kind_commands {
  std::string kind;
  std::vector<std::function<command(CLI::App&)>> commands;
  /// Exit 0 same, 1 differs, 2 error; empty when the kind has no diff.
  std::function<int(context&, const std::string& name)> diff;
};

// The commands, each defined in its own file.
command define_apply(CLI::App& app);        // apply.cpp
command define_diff(CLI::App& app, const std::vector<kind_commands>& kinds);  // apply.cpp
command define_get(CLI::App& app);          // get.cpp
command define_events(CLI::App& app);       // get.cpp
command define_describe(CLI::App& app);     // get.cpp
command define_delete(CLI::App& app);       // delete.cpp
command define_wait(CLI::App& app);         // wait.cpp
command define_logs(CLI::App& app);         // logs.cpp
command define_explain(CLI::App& app);      // config.cpp
command define_config(CLI::App& app);       // config.cpp
command define_version(CLI::App& app);      // config.cpp
command define_open(CLI::App& app);         // open.cpp
command define_exec(CLI::App& app);         // exec.cpp
command define_shell(CLI::App& app);        // exec.cpp
command define_backup(CLI::App& app);       // backup.cpp

}  // namespace rockpool::cli
