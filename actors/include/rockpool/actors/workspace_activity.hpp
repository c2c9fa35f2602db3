#pragma once

// Workspace lifecycle (issue 23): where each workspace was last used, and
// waking one that sleeps. docs/user-guide.md, "Sleeping workspaces".

#include "rockpool/specs/clock.hpp"
#include "rockpool/specs/object_store.hpp"
#include "rockpool/specs/result.hpp"

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace rockpool::actors {

/// Where each workspace was last used, as rockpoold sees it: every request
/// the workspace server's gateway lets through (touch), and the exec
/// sessions open on it. In memory; after a restart a workspace's
/// status.lastActivityTime stands in. Thread-safe.
class workspace_activity {
 public:
  explicit workspace_activity(const specs::clock& clock) : clock_(clock) {}
  void touch(const std::string& workspace);
  /// Counts `at` as the workspace's activity unless it has a later one.
  void touch_at(const std::string& workspace, std::chrono::system_clock::time_point at);
  /// Every workspace's last activity.
  std::map<std::string, std::chrono::system_clock::time_point> all() const;
  std::optional<std::chrono::system_clock::time_point> last(const std::string& workspace) const;
  void session_opened(const std::string& workspace);
  void session_closed(const std::string& workspace);
  int open_sessions(const std::string& workspace) const;
  const specs::clock& clock() const { return clock_; }

 private:
  const specs::clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::chrono::system_clock::time_point> last_;
  std::map<std::string, int> sessions_;
};

/// The annotation a wake request writes on a sleeping Workspace (the time,
/// RFC 3339): its reconciler starts the instance. Durable, so a wake
/// survives a controller restart.
inline constexpr const char* wake_annotation = "rockpool.dev/wake";

/// What a request for `uri` ("/workspace/NAME/...") does to its workspace:
/// counts as its activity and, if it sleeps, asks it to wake and waits until
/// it serves (the IDE answers; for /port/P/, the port route answers), at most
/// `timeout`. Unavailable (with a message) when it does not come up in time;
/// done for a path that names no workspace (Caddy answers those).
specs::status admit_workspace_request(specs::object_store& store, workspace_activity& activity,
                                      const std::string& uri, std::chrono::milliseconds timeout);

/// What the standby gate (`rockpoold gate`) does with a request it lets
/// through while rockpoold is down: counts it as its workspace's activity
/// (it cannot wake a sleeping one).
void count_workspace_request(workspace_activity& activity, const std::string& uri);

/// The activity a standby gate saw, in a file rockpoold reads when it starts
/// (one line "NAME UNIX-SECONDS" per workspace; written to FILE.tmp and
/// renamed). load_activity keeps the later of two times and ignores a
/// missing file and malformed lines.
specs::status save_activity(const workspace_activity& activity, const std::string& file);
void load_activity(workspace_activity& activity, const std::string& file);

/// Asks a workspace to wake if it sleeps; with wait_timeout above zero, also
/// waits until its instance runs. Done when it is not asleep.
specs::status wake_workspace(specs::object_store& store, workspace_activity& activity,
                             const std::string& name, std::chrono::milliseconds wait_timeout);

/// A duration as spec.lifecycle.idleAfter spells it: "0", or numbers with
/// units s, m, h (e.g. "20s", "15m", "1h30m"). nullopt when malformed.
std::optional<std::chrono::seconds> parse_duration(const std::string& text);

}  // namespace rockpool::actors
