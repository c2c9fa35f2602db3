#pragma once

// The fixture of the tests against the real incusd and Caddy: rockpoold
// --runtime=incus in an Incus project of its own, Caddy on free loopback
// ports. Under CI=true a missing Incus or Caddy fails; elsewhere they skip.
#include "rockpool/cli/client.hpp"
#include "rockpool/controller/daemon.hpp"
#include "rockpool/runtime/http.hpp"
#include "rockpool/runtime/incus_rest.hpp"
#include "rockpool/specs/codec.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

namespace rockpool::test_support {

using rockpool::test_support::command_result;
using rockpool::test_support::run_command;

/// The samples (tiny.yaml: the tiny demo), and what rockpool-tiny serves on 8080 and 9000.
inline const std::string samples = SAMPLES_DIR;
inline const std::string ide_page = "rockpool-tiny IDE";
inline const std::string port_page = "rockpool-tiny port 9000";

class real_runtime : public ::testing::Test {
 protected:
  void SetUp() override {
    auto version = runtime::incus_rest({}).server_version();
    if (!version.ok()) {
      if (test_support::in_ci())
        FAIL() << "Incus is required under CI=true: " << version.err().message;
      GTEST_SKIP() << "no incusd";
    }
    if (!caddy_.start()) {
      if (test_support::in_ci()) FAIL() << "Caddy is required under CI=true";
      GTEST_SKIP() << "no caddy";
    }
    project_ = "rockpool-it-" + std::to_string(::getpid());
    control_ = test_support::free_port();
    workspaces_ = test_support::free_port();
    standby_ = test_support::free_port();
    int base = test_support::host_port_base(100);
    std::vector<std::string> args{"--runtime",
                                  "incus",
                                  "--incus-project",
                                  project_,
                                  "--caddy-admin",
                                  caddy_.admin(),
                                  "--caddy-control-listen",
                                  "127.0.0.1:" + std::to_string(control_),
                                  "--caddy-workspace-listen",
                                  "127.0.0.1:" + std::to_string(workspaces_),
                                  "--host-ports",
                                  std::to_string(base) + "-" + std::to_string(base + 99),
                                  "--sweep-interval",
                                  "30",
                                  "--gateway-standby",
                                  "127.0.0.1:" + std::to_string(standby_)};
    for (auto& a : network_args()) args.push_back(std::move(a));
    for (auto& a : extra_daemon_args()) args.push_back(std::move(a));
    daemon_ = std::make_unique<test_support::daemon_process>(ROCKPOOLD_PATH, tmp_ / "db",
                                                             tmp_ / "api.sock", args);
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    // The standby sign-in check, as run.sh and the packages run it.
    gate_ = std::make_unique<test_support::gate_process>(ROCKPOOLD_PATH, tmp_ / "db", args);
    ASSERT_TRUE(gate_->start()) << gate_->log();
  }
  void TearDown() override {
    if (!daemon_) return;
    for (const auto& name : {"demo", "other", "bad", "taken"})
      rpctl(std::string("delete ws ") + name + " --wait --timeout 30s");
    daemon_->stop();
    if (gate_) gate_->stop();
    runtime::incus_rest_options o;
    o.project = project_;
    runtime::incus_rest incus(o);
    auto left = incus.list_instances();
    if (left.ok()) {
      EXPECT_TRUE(left->empty() || leftovers_allowed_)
          << left->size() << " instance(s) left in " << project_;
      for (const auto& n : *left) (void)incus.delete_instance(n);
    }
    (void)runtime::incus_rest({}).delete_project(project_);
    if (!bridge_.empty()) run_command("incus network delete " + bridge_);
  }

  /// More rockpoold flags (how it reaches Incus, say).
  virtual std::vector<std::string> extra_daemon_args() { return {}; }
  /// How workspaces are networked: these tests use proxy devices (no bridge);
  /// bridge_test.cpp gives its daemon a bridge of its own (own_bridge_args()).
  virtual std::vector<std::string> network_args() { return {"--bridge", "none"}; }
  /// A managed bridge for this test alone: a name and a CIDR free of the
  /// host's routes; TearDown deletes it.
  std::vector<std::string> own_bridge_args() {
    bridge_ = "rpt" + std::to_string(::getpid() % 1000000);
    std::ifstream in("/proc/net/route");
    std::string table((std::istreambuf_iterator<char>(in)), {});
    cidr_ = controller::choose_bridge_cidr(controller::host_routes(table, bridge_), {});
    return {"--bridge", bridge_, "--bridge-cidr", cidr_};
  }

  command_result rpctl(const std::string& args) {
    return run_command("ROCKPOOL_SERVER=" + daemon_->server_url() + " " RPCTL_PATH " " + args);
  }
  command_result incus(const std::string& args) {
    return run_command("incus " + args + " --project " + project_);
  }
  /// The PID of the instance's init as Incus reports it (0: not running or
  /// not found): it changes when the instance restarts.
  long instance_pid(const std::string& name) {
    auto st = specs::parse_json(
        run_command("incus query '/1.0/instances/" + name + "/state?project=" + project_ + "'")
            .out);
    return st.ok() ? specs::int_at(*st, "pid").value_or(0) : 0;
  }
  // Incus runs one operation per instance at a time: retry while it is busy.
  int incus_retrying(const std::string& args) {
    command_result r;
    for (int i = 0; i < 50; ++i) {
      r = incus(args);
      if (r.exit_code == 0 || r.err.find("busy") == std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (r.exit_code != 0) std::cerr << "incus " << args << ": " << r.err;
    return r.exit_code;
  }
  /// GET through Caddy. On the workspace server the request carries this
  /// test's session cookie once it has one: the first GET of /workspace/NAME/...
  /// signs in through workspace NAME (rpctl open), as a browser would.
  std::string get(unsigned short port, const std::string& path, long* status = nullptr) {
    if (port == workspaces_ && cookie_.empty() && path.starts_with("/workspace/")) {
      auto name = path.substr(11, path.find('/', 11) - 11);
      cookie_ = sign_in(name);
    }
    auto r = get_with_cookie(port, path, port == workspaces_ ? cookie_ : std::string());
    if (status) *status = r.status;
    return r.body;
  }
  /// A plain GET with the given Cookie header (none when empty).
  runtime::http_reply get_with_cookie(unsigned short port, const std::string& path,
                                      const std::string& cookie) {
    runtime::http_call c;
    c.url = "http://127.0.0.1:" + std::to_string(port) + path;
    c.timeout_ms = 3000;
    if (!cookie.empty()) c.headers.push_back("Cookie: " + cookie);
    auto r = runtime::http_perform(c);
    return r.ok() ? *r : runtime::http_reply{};
  }
  /// Signs in through workspace ws's single-use link: the session cookie
  /// ("NAME=VALUE"), or "" when the link could not be had.
  std::string sign_in(const std::string& ws) {
    auto url = rpctl("open " + ws + " --print-url");
    if (url.exit_code != 0) return {};
    runtime::http_call c;
    c.url = url.out.substr(0, url.out.find('\n'));
    c.timeout_ms = 3000;
    auto r = runtime::http_perform(c);
    if (!r.ok() || r->status != 303 || !r->headers.contains("set-cookie")) return {};
    const auto& set = r->headers.at("set-cookie");
    return set.substr(0, set.find(';'));
  }
  // Polls until GET through Caddy's workspace server returns `want`, up to `limit`.
  double seconds_until(const std::string& path, const std::string& want, double limit) {
    auto start = std::chrono::steady_clock::now();
    while (true) {
      auto elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (get(workspaces_, path).find(want) != std::string::npos) return elapsed;
      if (elapsed > limit) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::string phase(const std::string& ws) {
    auto v = specs::parse_json(rpctl("get ws " + ws + " -o json").out);
    return v.ok() ? specs::string_at(*v, "status.phase") : std::string();
  }
  std::string write(const std::string& name, const std::string& text) {
    auto path = tmp_ / name;
    std::ofstream(path) << text;
    return path;
  }

  test_support::temp_dir tmp_;
  test_support::caddy_process caddy_;
  std::unique_ptr<test_support::daemon_process> daemon_;
  std::unique_ptr<test_support::gate_process> gate_;
  std::string project_;
  unsigned short control_ = 0, workspaces_ = 0, standby_ = 0;
  bool leftovers_allowed_ = false;
  std::string cookie_;  // the workspace server's session, once signed in
  std::string bridge_, cidr_;  // own_bridge_args()
};

}  // namespace rockpool::test_support
