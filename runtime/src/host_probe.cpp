#include "rockpool/runtime/host_probe.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>

namespace rockpool::runtime {

namespace json = boost::json;

namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string path_of(const host_probe_sources& s, const std::string& p) {
  std::string root = s.root;
  while (!root.empty() && root.back() == '/') root.pop_back();
  return root + p;
}

}  // namespace

std::vector<host_check> probe_host(const host_probe_sources& s) {
  std::vector<host_check> out;
  std::string drivers;
  if (s.incus_info) {
    auto info = s.incus_info();
    if (info.ok()) {
      auto version = specs::string_at(*info, "environment.server_version");
      drivers = specs::string_at(*info, "environment.driver");
      out.push_back({"IncusReachable", true, "Incus " + version, "", true});
    } else {
      out.push_back({"IncusReachable", false, info.err().message,
                     "start incusd (scripts/start-incus.sh) or fix --incus-socket", true});
    }
  } else {
    out.push_back({"IncusReachable", false, "no Incus configured (--runtime is not incus)",
                   "run rockpoold with --runtime=incus", true});
  }
  bool lxc = drivers.find("lxc") != std::string::npos;
  bool qemu = drivers.find("qemu") != std::string::npos;
  out.push_back({"ContainersOperational", lxc,
                 lxc ? "Incus driver lxc available" : "Incus reports no lxc driver",
                 "install incus (incus-base) with LXC support", true});
  out.push_back({"VirtualMachinesOperational", qemu,
                 qemu ? "Incus driver qemu available"
                      : "Incus reports no qemu driver (drivers: " +
                            (drivers.empty() ? std::string("none") : drivers) + ")",
                 "install the incus package (not only incus-base) with QEMU, on a host with KVM",
                 false});
  bool kvm = std::filesystem::exists(path_of(s, "/dev/kvm"));
  out.push_back({"KVMPresent", kvm, kvm ? "/dev/kvm exists" : "/dev/kvm is missing",
                 "enable virtualization (VT-x/AMD-V) and load kvm_intel or kvm_amd", false});
  std::string nested;
  for (const char* mod : {"kvm_intel", "kvm_amd"}) {
    auto v = read_first_line(path_of(s, std::string("/sys/module/") + mod + "/parameters/nested"));
    if (!v.empty()) nested = v;
  }
  bool nested_on = nested == "Y" || nested == "1";
  out.push_back({"NestedKVM", nested_on,
                 nested.empty() ? "no kvm_intel/kvm_amd nested parameter" : "nested = " + nested,
                 "load kvm_intel nested=1 (or kvm_amd nested=1); on a cloud VM, choose an instance "
                 "type with nested virtualization",
                 false});
  bool vsock = std::filesystem::exists(path_of(s, "/dev/vhost-vsock"));
  out.push_back({"VhostVsock", vsock,
                 vsock ? "/dev/vhost-vsock exists" : "/dev/vhost-vsock is missing",
                 "modprobe vhost_vsock", false});
  if (s.caddy_reachable) {
    bool ok = s.caddy_reachable();
    out.push_back({"CaddyReachable", ok,
                   ok ? "Caddy's admin API answers" : "Caddy's admin API does not answer",
                   "start Caddy (scripts/start-caddy.sh) or fix --caddy-admin", true});
  }
  return out;
}

json::value host_status(const std::vector<host_check>& checks, const std::string& incus_version,
                        const std::string& now, std::int64_t generation) {
  json::array conditions;
  bool ready = true;
  std::string failing;
  for (const auto& c : checks) {
    if (c.required && !c.ok) {
      ready = false;
      failing += (failing.empty() ? "" : ", ") + c.type;
    }
    conditions.push_back({{"type", c.type},
                          {"status", c.ok ? "True" : "False"},
                          {"reason", c.ok ? "Passed" : "Failed"},
                          {"message", c.ok ? c.message : c.message + "; remedy: " + c.remedy},
                          {"lastTransitionTime", now},
                          {"observedGeneration", generation}});
  }
  conditions.push_back(
      {{"type", "Ready"},
       {"status", ready ? "True" : "False"},
       {"reason", ready ? "Ready" : "RequiredCheckFailed"},
       {"message", ready ? "container workspaces can run here" : "failing: " + failing},
       {"lastTransitionTime", now},
       {"observedGeneration", generation}});
  return json::object{{"observedGeneration", generation},
                      {"phase", ready ? "Ready" : "Failed"},
                      {"incusVersion", incus_version},
                      {"conditions", std::move(conditions)}};
}

}  // namespace rockpool::runtime
