#pragma once

#include "rockpool/runtime/http.hpp"
#include "rockpool/runtime/incus.hpp"

#include <boost/json/object.hpp>

#include <atomic>
#include <functional>

#include <chrono>
#include <memory>
#include <string>

namespace rockpool::runtime {

/// Where Incus is and how to reach it: its unix socket, or, when url is set,
/// its HTTPS API with a client certificate Incus trusts.
struct incus_rest_options {
  std::string socket = "/var/lib/incus/unix.socket";
  std::string url;          // e.g. https://127.0.0.1:8443; empty: use socket
  std::string client_cert;  // PEM file: the certificate Incus trusts
  std::string client_key;   // PEM file: its private key
  // PEM file: Incus's own server certificate, pinned. The connection is
  // trusted when the server presents exactly this certificate; the host name
  // is not checked (Incus's self-signed certificates rarely name the host).
  std::string server_cert;
  std::string project = "default";
  std::string storage_pool = "default";
  std::chrono::seconds operation_timeout{120};
  std::chrono::seconds stop_timeout{10};  // graceful stop, then forced
};

/// incus_client over Incus's REST API (libcurl), on its unix socket or over
/// HTTPS with a client certificate. Every call blocks; run it on a worker.
/// Thread safety: thread-safe (a curl handle per call).
class incus_rest final : public incus_client {
 public:
  explicit incus_rest(incus_rest_options options);

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
  specs::result<std::unique_ptr<exec_session>> exec(const std::string& instance,
                                                    const exec_request& request) override;
  specs::result<std::string> read_file(const std::string& instance, const std::string& path,
                                       std::size_t max_bytes) override;

  /// Server version, e.g. "6.0.4"; an error when Incus does not answer.
  specs::result<std::string> server_version();
  /// The metadata of GET /1.0 (environment: version, drivers, ...).
  specs::result<boost::json::value> server_info();
  /// Creates a project that shares the default project's images and profiles
  /// (features.images=false, features.profiles=false). Existing is fine.
  specs::status create_project(const std::string& name);
  /// Deletes a project (it must be empty). Absent is fine.
  specs::status delete_project(const std::string& name);
  /// Names of the instances in the project.
  specs::result<std::vector<std::string>> list_instances();

  /// Incus API calls by result, counted since start (thread-safe).
  struct call_counts {
    std::atomic<std::uint64_t> ok{0};          // answered below 400
    std::atomic<std::uint64_t> not_found{0};   // 404: often expected (is it there?)
    std::atomic<std::uint64_t> error{0};       // answered 400 or more, not 404
    std::atomic<std::uint64_t> unanswered{0};  // no answer, or not JSON
  };
  const call_counts& calls() const { return *calls_; }

 private:
  struct response;
  /// The request, addressed to Incus (socket or URL, client certificate).
  http_call request(const std::string& method, const std::string& path) const;
  specs::result<response> call(const std::string& method, const std::string& path,
                               const std::string& body = {}, const std::string& if_match = {});
  specs::status wait_operation(const response& r);
  specs::status change_state(const std::string& name, const std::string& action, bool force);
  /// Read-modify-write of the instance's writable fields (config, devices,
  /// ...) pinned to its ETag; edit returns false when nothing needs changing.
  specs::status edit_instance(const std::string& instance,
                              const std::function<bool(boost::json::object&)>& edit);
  std::string with_project(const std::string& path) const;
  std::string volume_path(const std::string& name) const;
  std::string snapshot_owner_path(snapshot_of what, const std::string& name) const;
  specs::result<std::vector<std::string>> list_names(const std::string& path);
  boost::json::value disk_json(const disk_device& d) const;
  /// "unix socket S" or the URL, for messages.
  std::string where() const;

  incus_rest_options options_;
  std::shared_ptr<call_counts> calls_ = std::make_shared<call_counts>();
};

}  // namespace rockpool::runtime
