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
  specs::result<std::optional<network_info>> get_network(const std::string& name) override;
  specs::status create_network(const network_spec& spec) override;
  specs::result<std::string> read_file(const std::string& instance, const std::string& path,
                                       std::size_t max_bytes) override;

  /// A file inside an instance, as a process in it would write it.
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
  /// "proxy-remove", "nic", "network-get", "network-create" or "file", subject the
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
  std::set<std::string> images_;
  std::chrono::milliseconds start_latency_{0};
  std::atomic<std::uint64_t> creates_{0}, starts_{0};
};

/// In-memory route table: a route "answers" when present and identical.
class fake_routes : public route_table {
 public:
  specs::status upsert(const route& r) override;
  specs::status remove(const std::string& id) override;
  specs::result<bool> answers(const route& r) override;

  std::size_t size() const;
  bool contains(const std::string& id) const;

 protected:
  /// Called first by upsert ("route-upsert") and remove ("route-remove"),
  /// without locks held; an error fails the operation. Nothing by default.
  virtual specs::status intercept(const std::string& op, const std::string& id);

 private:
  mutable std::mutex mu_;
  std::map<std::string, route> routes_;
};

}  // namespace rockpool::runtime
