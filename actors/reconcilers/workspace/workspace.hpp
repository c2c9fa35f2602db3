#pragma once

// The Workspace kind: one Incus instance plus the Caddy route
// /workspace/{name}/ on the workspace server. Internal to this folder.

#include "common/pass.hpp"
#include "common/status.hpp"
#include "rockpool/actors/workspace_activity.hpp"
#include "rockpool/crds/typed.hpp"
#include "rockpool/crds/types.hpp"
#include "rockpool/specs/schedule.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rockpool::actors::workspace {

namespace json = boost::json;
namespace typed = crds::workspace;

/// A workspace's spec with every default resolved, in one place: explicit
/// spec fields win, then its template's, then the built-in defaults (which
/// match the CRD's descriptions).
struct settings {
  std::string name, uid;
  std::string image;
  std::string type = "container";
  std::string memory = "2Gi";
  std::string disk = "10Gi";
  std::string state = "Running";
  std::string network;  // proxy | bridge; "" until choose_network()
  std::vector<std::string> profiles{"default"};
  std::map<std::string, std::string> environment;  // spec.environment
  int cpu = 2;
  int ide_port = 8080;
  bool nesting = false;
  std::string home_size = "10Gi";
  bool home_retain = false;
  std::string home_from;  // spec.home.fromVolume
  std::string source_snapshot;  // spec.source.snapshot: a clone of that WorkspaceSnapshot
  std::chrono::seconds idle_after{0};  // spec.lifecycle.idleAfter; 0: never sleeps
  // spec.lifecycle.schedule (or the template's): when it starts and stops by
  // the clock; entries that do not parse are left out (admission refuses them).
  std::vector<specs::cron_schedule> starts, stops;
  std::chrono::seconds stop_grace{15 * 60};  // spec.lifecycle.stopGrace
  // spec.lifecycle.snapshots: when to take one, and how many of those to keep.
  std::optional<specs::cron_schedule> snapshots;
  std::size_t snapshots_keep = 7;
  std::optional<crds::workspace::spec_restore> restore;  // spec.restore
};

/// Reads obj's typed view, resolving spec.template from the store.
specs::result<settings> resolve(specs::object_store& store, const json::value& obj);

/// Names of what a workspace creates outside the store.
std::string route_id(const std::string& workspace);
std::string ide_port_owner(const std::string& workspace);
/// The home volume a workspace makes for itself (unique per incarnation:
/// home-NAME-UID8), and where the images mount it.
std::string home_volume(const std::string& workspace, const std::string& uid);
inline constexpr const char* home_path = "/home/dev";
/// "true" on a Workspace: an instance (and, with spec.home.fromVolume, a home
/// volume) that an earlier incarnation of this name left, such as an orphan
/// after a restore, is taken over as it runs instead of replaced.
inline constexpr const char* adopt_annotation = "rockpool.dev/adopt-instance";
/// The owner name of a workspace's bridge address.
std::string address_owner(const std::string& workspace);
inline constexpr const char* ide_device = "rockpool-ide";
/// The conditions of a Workspace, in the order they are shown.
std::vector<std::string_view> condition_order();

/// Gives up a host port another process has taken: drops the proxy device of
/// `instance` that listens on it and frees the allocation, so its owner's next
/// pass gets another. Used by PortRoutes too.
pass_result move_off_taken_port(reconcile_context& ctx, const json::value& obj,
                                const std::string& instance, unsigned short port);

/// Whether Rockpool created inst for this very object (its uid is recorded).
bool made_by_rockpool_for(const runtime::instance_info& inst, const json::value& obj);

/// One pass for a live (not deleting) workspace that carries the finalizer.
/// Each step returns a result only when the pass ends there.
class pass {
 public:
  pass(reconcile_context& ctx, json::value obj);
  pass_result run();

 private:
  using step = std::optional<pass_result>;
  // instance.cpp
  step check_image();
  void build_spec();
  step recreate_for_new_image();
  step observe_instance();
  step ensure_instance();
  step apply_changes_while_stopped();
  void report_config_gap();
  // self_heal.cpp
  void read_restart_history();
  bool crashed() const;
  step wait_out_crash_loop();
  void record_restart(const std::string& reason, const std::string& message);
  step converge_power_state();
  void end_quiet_crash_loop();
  // lifecycle.cpp
  struct fired {
    std::optional<std::chrono::system_clock::time_point> start, stop;
  };
  fired check_schedule();
  std::optional<std::chrono::system_clock::time_point> next_scheduled() const;
  bool in_use();
  step decide_sleep();
  step fall_asleep(typed::status_sleep_reason reason, const std::string& message);
  step stay_asleep_or_wake(bool start_due);
  step scheduled_stop(const fired& due, bool busy);
  pass_result report_sleeping();
  pass_result with_idle_check(pass_result r) const;
  // home.cpp
  step ensure_home();
  step home_failed(const std::string& reason, const std::string& message, pass_result r);
  step make_home();
  step adopt_home(const runtime::volume_info& v, const std::string& uid);
  // restore.cpp
  step ensure_restored();
  step resolve_source();
  // snapshots.cpp
  step take_scheduled_snapshots();
  // network.cpp
  step choose_network();
  std::optional<runtime::nic_device> wanted_nic() const;
  step ensure_nic();
  // upstream.cpp
  step ensure_upstream(std::string& upstream);
  step on_port_taken(const specs::error& e);
  // reconcile.cpp
  pass_result fail(const std::string& reason, const std::string& message, pass_result result);
  pass_result report_stopped();
  pass_result report_routed(const std::string& upstream);
  void report_ide(const runtime::probe_answer& answer);
  /// Writes next_ (and the conditions) through the status path.
  [[nodiscard]] specs::status write_status();
  /// A status that says at once what a slow step is about to do: these
  /// fields and phase over the old status; the caller adds conditions and
  /// writes it (the pass's own write repeats it).
  common::status_builder announcing(typed::status fields, typed::status_phase phase) const;

  reconcile_context& ctx_;
  json::value obj_;
  settings s_;
  common::status_builder status_;  // the conditions
  typed::status old_;   // the status as read
  typed::status next_;  // the status this pass writes: old_, changed
  runtime::instance_spec spec_;
  std::optional<runtime::instance_info> inst_;
  runtime::update_plan plan_;
  bool created_now_ = false;
  bool stopped_to_restore_ = false;  // this pass stopped the instance for spec.restore
  bool restarted_now_ = false;
  bool recreating_ = false;  // the old instance went for a new image or type
  bool running_ = false;
  std::int64_t restarts_ = 0, consecutive_ = 0;
  bool had_instance_ = false;
  std::string address_;  // network: bridge
  std::string home_;     // the home volume's name
  // A clone's first pass: the instance snapshot ("WS/SNAP") and the home
  // volume and snapshot it is copied from ("" when not cloning).
  std::string clone_instance_, clone_volume_, clone_snapshot_;
  bool asleep_ = false;  // idle: the instance stays stopped, the routes stay
  bool stop_deferred_ = false;  // a scheduled stop waits for the workspace to be quiet
  typed::status_sleep_reason sleep_reason_{};  // while asleep
  std::optional<std::chrono::system_clock::time_point> next_start_;  // of the schedule
  std::chrono::system_clock::time_point last_activity_{};
  std::chrono::system_clock::time_point last_restart_{}, now_{};
};

}  // namespace rockpool::actors::workspace
