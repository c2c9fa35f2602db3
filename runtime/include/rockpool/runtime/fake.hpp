#pragma once

#include "rockpool/runtime/incus.hpp"
#include "rockpool/runtime/routes.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>

namespace rockpool::runtime {

/// In-memory Incus for trying Rockpool without Incus (`rockpoold
/// --runtime=fake`) and for the deterministic tests. Starts may be given a
/// latency; creates and starts are counted. Test doubles (tests/support)
/// inject faults and outside changes through intercept() and edit_instances().
/// Thread safety: thread-safe.
class fake_incus : public incus_client {
 public:
  fake_incus();

  specs::result<std::vector<instance_info>> managed_instances() override;
  specs::result<std::optional<instance_info>> get_instance(const std::string& name) override;
  specs::result<bool> image_exists(const std::string& image) override;
  specs::status create_instance(const instance_spec& spec) override;
  specs::status start_instance(const std::string& name) override;
  specs::status stop_instance(const std::string& name) override;
  specs::status delete_instance(const std::string& name) override;
  specs::status update_instance(const std::string& name, const instance_update& update) override;
  specs::status set_proxy_device(const std::string& instance, const proxy_device& d) override;
  specs::status remove_proxy_device(const std::string& instance, const std::string& d) override;
  specs::status set_nic_device(const std::string& instance, const nic_device& nic) override;
  specs::status set_disk_device(const std::string& instance, const disk_device& disk) override;
  specs::result<std::optional<volume_info>> get_volume(const std::string& name) override;
  specs::status create_volume(const std::string& name, const std::string& size,
                              const std::map<std::string, std::string>& config) override;
  specs::status update_volume(const std::string& name,
                              const std::map<std::string, std::string>& config) override;
  specs::status copy_volume(const std::string& name, const std::string& from_volume,
                            const std::string& snapshot,
                            const std::map<std::string, std::string>& config) override;
  specs::status delete_volume(const std::string& name) override;
  specs::status freeze_instance(const std::string& name) override;
  specs::status unfreeze_instance(const std::string& name) override;
  specs::result<std::vector<std::string>> list_snapshots(snapshot_of what,
                                                         const std::string& name) override;
  specs::status create_snapshot(snapshot_of what, const std::string& name,
                                const std::string& snapshot) override;
  specs::result<std::optional<std::int64_t>> snapshot_size(const std::string& instance,
                                                           const std::string& snapshot) override;
  specs::status delete_snapshot(snapshot_of what, const std::string& name,
                                const std::string& snapshot) override;
  specs::status restore_snapshot(snapshot_of what, const std::string& name,
                                 const std::string& snapshot) override;
  specs::result<std::optional<network_info>> get_network(const std::string& name) override;
  specs::status create_network(const network_spec& spec) override;
  specs::result<std::string> read_file(const std::string& instance, const std::string& path,
                                       std::size_t max_bytes) override;
  /// Runs a few commands as a shell would, for the tests of what carries
  /// exec: `echo ARGS`, `cat PATH` (the fake's files), `cat` (stdin to stdout
  /// until EOF), `sh -c 'exit N'`, and `sleep` (until a signal: 128+N).
  /// Anything else exits 127. The instance must be running.
  specs::result<std::unique_ptr<exec_session>> exec(const std::string& instance,
                                                    const exec_request& request) override;
  /// Signals the fake's exec sessions have received, in order.
  std::vector<int> exec_signals() const;

  /// A file inside an instance, as a process in it would write it. Under
  /// the mount point of the instance's home volume, it is kept in the volume
  /// (it outlives the instance, as a real volume's files do).
  std::size_t volume_count() const;
  /// A file inside an instance (see above).
  void put_file(const std::string& instance, const std::string& path, std::string content);
  /// Changes behind the controller's back: a network appears or disappears.
  void put_network(network_info n);
  void drop_network(const std::string& name);

  void add_image(const std::string& image);
  /// Every start_instance sleeps this long (blocking, as a real start does).
  void set_start_latency(std::chrono::milliseconds d) { start_latency_ = d; }

  std::uint64_t creates() const { return creates_; }
  std::uint64_t starts() const { return starts_; }
  std::size_t instance_count() const;

 protected:
  /// Called first by every operation, without locks held: op is "get",
  /// "image", "create", "start", "stop", "delete", "update", "proxy-add",
  /// "proxy-remove", "nic", "disk", "volume-get", "volume-create", "volume-update",
  /// "volume-delete", "freeze", "unfreeze", "snapshot-list", "snapshot-create",
  /// "snapshot-delete", "snapshot-restore" (subject NAME/SNAPSHOT),
  /// "network-get", "network-create" or "file", subject the
  /// instance (or instance/device, or the network). An error fails
  /// the operation. The fake itself intercepts nothing.
  virtual specs::status intercept(const std::string& op, const std::string& subject);
  /// Runs change on the instances under the fake's lock.
  void edit_instances(const std::function<void(std::map<std::string, instance_info>&)>& change);

 private:
  mutable std::mutex mu_;
  std::map<std::string, instance_info> instances_;
  std::map<std::string, network_info> networks_;
  std::map<std::pair<std::string, std::string>, std::string> files_;  // (instance, path)
  std::map<std::string, volume_info> volumes_;
  std::shared_ptr<std::vector<int>> signals_ = std::make_shared<std::vector<int>>();
  // A snapshot: the files (and, of an instance, its configuration) as they were.
  struct saved_state {
    std::map<std::string, std::string> files;
    std::optional<instance_info> instance;
  };
  std::map<std::string, std::map<std::string, saved_state>> snapshots_;  // by snapshot_key
  static std::string snapshot_key(snapshot_of what, const std::string& name);
  specs::status change_frozen(const std::string& op, const std::string& name, const char* from,
                              const char* to);
  std::map<std::string, std::string> contents(snapshot_of what, const std::string& name) const;
  bool exists(snapshot_of what, const std::string& name) const;
  /// Where a file lives: (instance, path), or ("volume:" + name, path) under a home mount.
  std::pair<std::string, std::string> file_key(const std::string& instance,
                                               const std::string& path) const;
  std::set<std::string> images_;
  std::chrono::milliseconds start_latency_{0};
  std::atomic<std::uint64_t> creates_{0}, starts_{0};
};

/// In-memory route table: a route "answers" when present and identical, and a
/// probe through it gets what a workspace without code-server answers (404).
class fake_routes : public route_table {
 public:
  specs::status upsert(const route& r) override;
  specs::status remove(const std::string& id) override;
  specs::result<bool> answers(const route& r) override;
  specs::result<probe_answer> probe(const route& r, const std::string& sub) override;
  specs::result<std::map<std::string, int>> in_flight() override;
  /// What in_flight() reports from now on (tests: a request or a WebSocket open).
  void set_in_flight(std::map<std::string, int> counts);

  std::size_t size() const;
  bool contains(const std::string& id) const;

 protected:
  /// Called first by upsert ("route-upsert") and remove ("route-remove"),
  /// without locks held; an error fails the operation. Nothing by default.
  virtual specs::status intercept(const std::string& op, const std::string& id);

 private:
  mutable std::mutex mu_;
  std::map<std::string, route> routes_;
  std::map<std::string, int> in_flight_;
};

}  // namespace rockpool::runtime
