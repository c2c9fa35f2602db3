#include "rockpool/runtime/host_probe.hpp"
#include "rockpool/runtime/http.hpp"
#include "rockpool/runtime/incus.hpp"
#include "rockpool/specs/codec.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace rockpool;

namespace {
const runtime::host_check* find(const std::vector<runtime::host_check>& cs,
                                const std::string& type) {
  for (const auto& c : cs)
    if (c.type == type) return &c;
  return nullptr;
}
}  // namespace

TEST(host_probe, reads_kvm_nesting_and_vsock_from_the_host_and_drivers_from_incus) {
  test_support::temp_dir root;
  std::filesystem::create_directories(root.path() / "dev");
  std::filesystem::create_directories(root.path() / "sys/module/kvm_amd/parameters");
  std::ofstream(root / "dev/kvm") << "";
  std::ofstream(root / "sys/module/kvm_amd/parameters/nested") << "1\n";
  runtime::host_probe_sources s;
  s.root = root.path().string();
  s.incus_info = [] {
    return specs::parse_json(R"({"environment":{"server_version":"6.0.4","driver":"lxc | qemu"}})");
  };
  s.caddy_reachable = [] { return true; };
  auto checks = runtime::probe_host(s);
  EXPECT_TRUE(find(checks, "IncusReachable")->ok);
  EXPECT_TRUE(find(checks, "ContainersOperational")->ok);
  EXPECT_TRUE(find(checks, "VirtualMachinesOperational")->ok);
  EXPECT_TRUE(find(checks, "KVMPresent")->ok);
  EXPECT_TRUE(find(checks, "NestedKVM")->ok);
  EXPECT_FALSE(find(checks, "VhostVsock")->ok);
  EXPECT_EQ(find(checks, "VhostVsock")->remedy, "modprobe vhost_vsock");
  auto status = runtime::host_status(checks, "6.0.4", "2026-11-29T00:00:00Z", 1);
  EXPECT_EQ(specs::string_at(status, "phase"), "Ready");  // vsock is only needed for VMs
}

TEST(host_probe, an_unreachable_incus_fails_the_required_checks) {
  test_support::temp_dir root;
  runtime::host_probe_sources s;
  s.root = root.path().string();
  s.incus_info = [] {
    return specs::result<specs::json::value>(
        specs::make_error(specs::reason::unavailable, "no socket"));
  };
  s.caddy_reachable = [] { return false; };
  auto checks = runtime::probe_host(s);
  EXPECT_FALSE(find(checks, "IncusReachable")->ok);
  EXPECT_FALSE(find(checks, "KVMPresent")->ok);
  EXPECT_FALSE(find(checks, "NestedKVM")->ok);
  auto status = runtime::host_status(checks, "", "2026-11-29T00:00:00Z", 1);
  EXPECT_EQ(specs::string_at(status, "phase"), "Failed");
  const auto& conds = specs::find_path(status, "conditions")->as_array();
  EXPECT_EQ(specs::string_at(conds.back(), "message"),
            "failing: IncusReachable, ContainersOperational, CaddyReachable");
}

TEST(dial_address, a_listen_on_every_interface_is_reached_on_loopback) {
  EXPECT_EQ(rockpool::runtime::dial_address(":8081"), "127.0.0.1:8081");
  EXPECT_EQ(rockpool::runtime::dial_address("0.0.0.0:8081"), "127.0.0.1:8081");
  EXPECT_EQ(rockpool::runtime::dial_address("127.0.0.1:18081"), "127.0.0.1:18081");
  EXPECT_EQ(rockpool::runtime::dial_address("10.0.0.5:80"), "10.0.0.5:80");
}

// Incus's words become a value once, at the boundary (issue 21): the
// reconcilers ask host_port_in_use, never the message.
TEST(incus_errors, a_proxy_device_refused_its_host_port_is_a_cause_with_the_port) {
  auto e = runtime::classify_incus_error(specs::make_error(
      specs::reason::unavailable,
      "Incus operation failed: Error occurred when starting proxy device: Error: Failed to listen on "
      "127.0.0.1:41000: listen tcp 127.0.0.1:41000: bind: address already in use"));
  EXPECT_EQ(runtime::host_port_in_use(e), 41000);
  EXPECT_EQ(runtime::classify_incus_error(e).causes.size(), 1u) << "classified once";
  EXPECT_EQ(runtime::host_port_in_use(runtime::classify_incus_error(
                specs::make_error(specs::reason::unavailable, "Incus: instance is busy"))),
            std::nullopt);
  EXPECT_EQ(runtime::host_port_in_use(runtime::classify_incus_error(specs::make_error(
                specs::reason::unavailable, "listen tcp 127.0.0.1:99999: bind: address already in use"))),
            std::nullopt);
  EXPECT_EQ(e.why, specs::reason::unavailable) << "a taken port is not a missing object";
}

// The other faults the Incus client acts on, by kind (issue 21, item 4).
TEST(incus_errors, busy_missing_and_existing_are_kinds_not_words) {
  auto busy = runtime::classify_incus_error(specs::make_error(
      specs::reason::unavailable, "Incus: Instance is busy running a \"start\" operation"));
  EXPECT_TRUE(runtime::incus_busy(busy));
  EXPECT_EQ(runtime::classify_incus_error(busy).causes.size(), 1u) << "classified once";
  EXPECT_FALSE(runtime::incus_busy(runtime::classify_incus_error(
      specs::make_error(specs::reason::unavailable, "Incus: Instance not found"))));
  // An operation's failure carries no HTTP code: its words give the reason.
  EXPECT_EQ(runtime::classify_incus_error(
                specs::make_error(specs::reason::unavailable,
                                  "Incus operation failed: Storage volume not found"))
                .why,
            specs::reason::not_found);
  EXPECT_EQ(runtime::classify_incus_error(
                specs::make_error(specs::reason::internal,
                                  "Incus: Failed creating project: Project already exists"))
                .why,
            specs::reason::already_exists);
  // A reason Incus's HTTP code gave stays.
  EXPECT_EQ(runtime::classify_incus_error(
                specs::make_error(specs::reason::conflict, "Incus: ETag not found"))
                .why,
            specs::reason::conflict);
  EXPECT_EQ(runtime::classify_incus_error(
                specs::make_error(specs::reason::unavailable, "Incus operation timed out"))
                .why,
            specs::reason::unavailable);
}
