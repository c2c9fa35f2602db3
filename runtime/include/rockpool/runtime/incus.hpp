#pragma once

#include "rockpool/specs/result.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rockpool::runtime {

/// Config keys on instances the controller creates, so it recognises its own
/// instances after a restart and never touches anything else.
inline constexpr const char* owner_kind_key = "user.rockpool.kind";
inline constexpr const char* owner_name_key = "user.rockpool.name";
inline constexpr const char* owner_uid_key = "user.rockpool.uid";
/// The image the instance was created from, as the spec named it.
inline constexpr const char* image_key = "user.rockpool.image";
/// Incus config keys of the init's environment: environment.NAME.
inline constexpr std::string_view environment_prefix = "environment.";

/// Faults Incus reports, as values, so that nothing reads Incus's words but
/// classify_incus_error: an error from an incus_client has its reason
/// (not_found, already_exists, ... also for an operation's failure, which
/// carries no HTTP code) and, for what callers act on, a cause: a proxy
/// device's host port held by another process is {host_port_in_use_field,
/// "PORT"}; an instance busy with another operation (transient: try again)
/// is {incus_busy_field, "true"}.
inline constexpr const char* host_port_in_use_field = "hostPort";
inline constexpr const char* incus_busy_field = "incusBusy";
/// The host port another process holds, if e says so.
std::optional<unsigned short> host_port_in_use(const specs::error& e);
/// Whether e says the instance was busy with another operation.
bool incus_busy(const specs::error& e);
/// e classified as above from its message (Incus's words); every
/// incus_client, and a test's imitation of one, returns errors through it.
specs::error classify_incus_error(specs::error e);

/// A NIC on the controller's managed bridge with an address the controller
/// chose (bridge networking): Incus's DHCP server hands the instance exactly
/// this address, so Caddy's upstream is known before the instance answers.
struct nic_device {
  std::string name = "eth0";  // device and interface name
  std::string network;        // the managed bridge
  std::string ipv4_address;   // static, from the controller's IPAM
  /// security.port_isolation: no traffic to other isolated ports on the bridge
  /// (workspaces cannot reach each other); the gateway and uplink still can.
  bool port_isolation = true;
  bool operator==(const nic_device&) const = default;
};

/// A custom storage volume mounted into an instance (a workspace's home).
struct disk_device {
  std::string name = "home";  // device name
  std::string volume;         // custom volume in the storage pool
  std::string path;           // mount point inside the instance, e.g. /home/dev
  bool operator==(const disk_device&) const = default;
};

/// A custom storage volume as Incus shows it.
struct volume_info {
  std::string name;
  std::map<std::string, std::string> config;  // size, user.* ...
};

/// Config keys on volumes the controller creates: whose home it is (the
/// workspace's uid; empty once retained and released), and whether a deleted
/// workspace left it for adoption (spec.home.fromVolume).
inline constexpr const char* volume_owner_uid_key = "user.rockpool.uid";
inline constexpr const char* volume_owner_name_key = "user.rockpool.workspace";
inline constexpr const char* volume_retained_key = "user.rockpool.retained";

/// A managed network as Incus shows it.
struct network_info {
  std::string name;
  std::string type;  // bridge, ...
  bool managed = false;
  std::string status;  // Created, Errored, ...
  std::string description;
  std::map<std::string, std::string> config;  // ipv4.address, ipv4.nat, user.* ...
};

/// A managed bridge the controller creates: NAT on, IPv6 off, its own keys.
struct network_spec {
  std::string name;
  std::string address;  // the gateway in CIDR form, e.g. 10.77.0.1/24
  std::string description;
  std::map<std::string, std::string> config;  // extra keys, e.g. user.rockpool.owner
};

/// What the controller asks Incus to create.
struct instance_spec {
  std::string name;
  std::string image;               // alias or fingerprint
  std::string type = "container";  // container | virtual-machine
  int cpu = 2;
  std::string memory = "2Gi";
  std::string disk = "10Gi";
  bool nesting = false;
  std::map<std::string, std::string> config;  // includes the user.rockpool.* keys
  std::vector<std::string> profiles{"default"};
  std::optional<nic_device> nic{};  // bridge networking: the instance's own eth0
  std::optional<disk_device> home{};  // the home volume, mounted at home->path
  /// "INSTANCE/SNAPSHOT": the root disk is a copy of that snapshot, not the
  /// image (a clone); the snapshot's other devices are left out.
  std::string source_snapshot{};
};

/// An Incus proxy device forwarding a host loopback port into the instance.
struct proxy_device {
  std::string name;
  std::string listen;   // tcp:127.0.0.1:HOSTPORT
  std::string connect;  // tcp:127.0.0.1:PORT
  bool operator==(const proxy_device&) const = default;
};

/// What Incus shows about an instance.
struct instance_info {
  std::string name;
  std::string status;  // Running, Stopped, ...
  std::string type;
  std::map<std::string, std::string> config;
  std::vector<proxy_device> proxies;
  std::string address;    // IPv4 on eth0 (bridge networking), when Incus reports one
  std::string root_size;  // size of the instance's own root disk device, "" when unset
  std::vector<std::string> profiles;
  std::optional<nic_device> nic{};  // the instance's own NIC device named eth0, if any
  std::optional<disk_device> home{};  // its disk device named "home", if any
};

/// Changes to an existing instance: config keys to set and, optionally, a new
/// root disk size.
struct instance_update {
  std::map<std::string, std::string> config;
  std::string root_size;                             // "" leaves it alone
  std::optional<std::vector<std::string>> profiles;  // nullopt leaves them alone
  bool empty() const { return config.empty() && root_size.empty() && !profiles; }
};

/// "2Gi" -> "2GiB", "512Mi" -> "512MiB": Rockpool sizes in Incus's units.
std::string incus_size(const std::string& size);

/// Every Incus config key an instance made from spec carries: limits,
/// security.nesting, the image it came from and spec.config (the owner keys).
std::map<std::string, std::string> instance_config(const instance_spec& spec);

/// How an existing instance differs from what its spec asks for, sorted by
/// what it takes to apply each difference. Field names are the spec's
/// ("resources.cpu", "image", ...).
struct update_plan {
  instance_update live;        // apply now, running or not
  instance_update at_restart;  // apply while the instance is stopped
  std::vector<std::string> live_fields, restart_fields, recreate_fields;
};

/// Containers take CPU, memory, disk limits and profiles live;
/// security.nesting takes effect at the next start. VMs take CPU and disk live, memory at the next
/// start. A different image or instance type needs a new instance.
update_plan plan_update(const instance_info& have, const instance_spec& want);

/// A command to run in an instance (Incus exec).
struct exec_request {
  std::vector<std::string> command;
  std::map<std::string, std::string> environment;
  bool tty = false;  // one pseudo-terminal for input and output (interactive)
  std::uint32_t uid = 0, gid = 0;
  std::string cwd;
  unsigned width = 80, height = 24;  // the terminal's size, with tty
};

/// A command running in an instance. Thread safety: read() on one thread,
/// the other calls on any; every call is safe after the command ended.
class exec_session {
 public:
  virtual ~exec_session() = default;
  /// Sends bytes to the command's standard input.
  virtual void write_stdin(std::string bytes) = 0;
  /// Ends the command's standard input (EOF).
  virtual void close_stdin() = 0;
  virtual void resize(unsigned width, unsigned height) = 0;
  virtual void signal(int signal_number) = 0;
  /// Blocks for output: fd 1 (stdout, or the terminal) or 2 (stderr) and
  /// its bytes. False once all output has been read.
  virtual bool read(int& fd, std::string& bytes) = 0;
  /// Blocks until the command ends: its exit code.
  [[nodiscard]] virtual specs::result<int> wait() = 0;
};

/// Whose snapshot: an instance's (its root disk and configuration) or a
/// custom volume's (a workspace's home).
enum class snapshot_of { instance, volume };

/// The Incus API, as the reconcilers need it. Every call may block; callers
/// run them off the actor scheduler. Thread safety: implementations are
/// thread-safe. Failures carry reason::not_found for a missing instance or
/// image, reason::unavailable when Incus cannot be reached.
class incus_client {
 public:
  virtual ~incus_client() = default;
  [[nodiscard]] virtual specs::result<std::optional<instance_info>> get_instance(
      const std::string& name) = 0;
  /// Every instance in the project that carries Rockpool's owner keys
  /// (user.rockpool.kind/name/uid), with its config: the Host's orphan check.
  [[nodiscard]] virtual specs::result<std::vector<instance_info>> managed_instances() = 0;
  [[nodiscard]] virtual specs::result<bool> image_exists(const std::string& image) = 0;
  [[nodiscard]] virtual specs::status create_instance(const instance_spec& spec) = 0;
  [[nodiscard]] virtual specs::status start_instance(const std::string& name) = 0;
  /// Graceful stop, forced after a timeout.
  [[nodiscard]] virtual specs::status stop_instance(const std::string& name) = 0;
  [[nodiscard]] virtual specs::status delete_instance(const std::string& name) = 0;
  /// Sets config keys and the root disk size of an existing instance.
  [[nodiscard]] virtual specs::status update_instance(const std::string& name,
                                                      const instance_update& update) = 0;
  /// Adds or replaces a proxy device (idempotent).
  [[nodiscard]] virtual specs::status set_proxy_device(const std::string& instance,
                                                       const proxy_device& device) = 0;
  /// Removes a proxy device; absent is fine.
  [[nodiscard]] virtual specs::status remove_proxy_device(const std::string& instance,
                                                          const std::string& device) = 0;
  /// Adds or replaces the instance's NIC device nic.name (idempotent). A
  /// running container takes the change live.
  [[nodiscard]] virtual specs::status set_nic_device(const std::string& instance,
                                                     const nic_device& nic) = 0;
  /// Adds or replaces a disk device that mounts a custom volume (idempotent).
  /// A running container takes it live.
  [[nodiscard]] virtual specs::status set_disk_device(const std::string& instance,
                                                      const disk_device& disk) = 0;
  /// A custom volume by name; nullopt when there is none.
  [[nodiscard]] virtual specs::result<std::optional<volume_info>> get_volume(
      const std::string& name) = 0;
  /// Creates a custom volume of size ("10Gi"; "" for the pool's default) with config keys.
  [[nodiscard]] virtual specs::status create_volume(
      const std::string& name, const std::string& size,
      const std::map<std::string, std::string>& config) = 0;
  /// Creates a custom volume as a copy of another volume's snapshot, with config keys.
  [[nodiscard]] virtual specs::status copy_volume(
      const std::string& name, const std::string& from_volume, const std::string& snapshot,
      const std::map<std::string, std::string>& config) = 0;
  /// Sets (or, with "", removes) config keys of a custom volume.
  [[nodiscard]] virtual specs::status update_volume(
      const std::string& name, const std::map<std::string, std::string>& config) = 0;
  /// Deletes a custom volume; absent is fine. Fails while an instance uses it.
  [[nodiscard]] virtual specs::status delete_volume(const std::string& name) = 0;
  /// Pauses a running container's processes (the cgroup freezer), so that
  /// snapshots of it and its volumes are taken at one moment; and resumes them.
  [[nodiscard]] virtual specs::status freeze_instance(const std::string& name) = 0;
  [[nodiscard]] virtual specs::status unfreeze_instance(const std::string& name) = 0;
  /// The snapshots of an instance or volume, by name; reason::not_found when
  /// the instance or volume does not exist.
  [[nodiscard]] virtual specs::result<std::vector<std::string>> list_snapshots(
      snapshot_of what, const std::string& name) = 0;
  /// Takes a snapshot named snapshot; one of that name already there is fine.
  [[nodiscard]] virtual specs::status create_snapshot(snapshot_of what, const std::string& name,
                                                      const std::string& snapshot) = 0;
  /// The bytes a snapshot of an instance holds of its own, when the storage
  /// driver reports them (btrfs does; dir does not: nothing).
  [[nodiscard]] virtual specs::result<std::optional<std::int64_t>> snapshot_size(
      const std::string& instance, const std::string& snapshot) = 0;
  /// Deletes a snapshot; absent (or its instance or volume absent) is fine.
  [[nodiscard]] virtual specs::status delete_snapshot(snapshot_of what, const std::string& name,
                                                      const std::string& snapshot) = 0;
  /// Brings an instance's root disk and configuration, or a volume's
  /// contents, back to a snapshot. The instance, and every instance that
  /// mounts the volume, must be stopped. Restoring twice gives the same state.
  [[nodiscard]] virtual specs::status restore_snapshot(snapshot_of what, const std::string& name,
                                                       const std::string& snapshot) = 0;
  /// A network by name; nullopt when there is none.
  [[nodiscard]] virtual specs::result<std::optional<network_info>> get_network(
      const std::string& name) = 0;
  /// Creates a managed bridge.
  [[nodiscard]] virtual specs::status create_network(const network_spec& spec) = 0;
  /// The last max_bytes bytes of a file inside an instance (Incus's file API:
  /// the instance need not run an agent or a shell). reason::not_found when
  /// the instance or the file does not exist.
  [[nodiscard]] virtual specs::result<std::string> read_file(const std::string& instance,
                                                             const std::string& path,
                                                             std::size_t max_bytes) = 0;
  /// Starts a command in a running instance.
  [[nodiscard]] virtual specs::result<std::unique_ptr<exec_session>> exec(
      const std::string& instance, const exec_request& request) = 0;
};

}  // namespace rockpool::runtime
