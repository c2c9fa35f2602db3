#pragma once

#include "rockpool/specs/result.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rockpool::runtime {

/// Config keys on instances the controller creates, so it recognises its own
/// instances after a restart and never touches anything else.
inline constexpr const char* owner_kind_key = "user.rockpool.kind";
inline constexpr const char* owner_name_key = "user.rockpool.name";
inline constexpr const char* owner_uid_key = "user.rockpool.uid";

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
  std::string address;  // IPv4 on eth0 (bridge networking), when Incus reports one
};

/// The Incus API, as the reconcilers need it. Every call may block; callers
/// run them off the actor scheduler. Thread safety: implementations are
/// thread-safe. Failures carry reason::not_found for a missing instance or
/// image, reason::unavailable when Incus cannot be reached.
class incus_client {
 public:
  virtual ~incus_client() = default;
  [[nodiscard]] virtual specs::result<std::optional<instance_info>> get_instance(
      const std::string& name) = 0;
  [[nodiscard]] virtual specs::result<bool> image_exists(const std::string& image) = 0;
  [[nodiscard]] virtual specs::status create_instance(const instance_spec& spec) = 0;
  [[nodiscard]] virtual specs::status start_instance(const std::string& name) = 0;
  /// Graceful stop, forced after a timeout.
  [[nodiscard]] virtual specs::status stop_instance(const std::string& name) = 0;
  [[nodiscard]] virtual specs::status delete_instance(const std::string& name) = 0;
  /// Adds or replaces a proxy device (idempotent).
  [[nodiscard]] virtual specs::status set_proxy_device(const std::string& instance,
                                                       const proxy_device& device) = 0;
  /// Removes a proxy device; absent is fine.
  [[nodiscard]] virtual specs::status remove_proxy_device(const std::string& instance,
                                                          const std::string& device) = 0;
};

}  // namespace rockpool::runtime
