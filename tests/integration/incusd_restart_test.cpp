// incusd restarted under a running rockpoold: no crash, the event listener
// reconnects, and the workspace is healed again afterwards. It restarts the
// machine's incusd; like every real-runtime test, ctest runs it alone (RUN_SERIAL).
#include "real_runtime_fixture.hpp"

#include <gtest/gtest.h>

using namespace rockpool;
using rockpool::test_support::real_runtime;
using test_support::run_command;

TEST_F(real_runtime, incusd_restart_is_survived_and_events_resume) {
  ASSERT_EQ(rpctl(std::string("apply -f ") + SAMPLES_DIR + "/tiny.yaml").exit_code, 0);
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 60s").exit_code, 0);
  // Stop incusd (it stops its instances, and starts them again when it comes
  // back). The daemon itself, by the pid it reports: its forkproxy helpers
  // are processes named incusd too, and one that outlives its instance must
  // not be taken for the daemon.
  auto pid = specs::parse_json(run_command("incus query /1.0").out);
  ASSERT_TRUE(pid.ok());
  auto server_pid = std::to_string(specs::int_at(*pid, "environment.server_pid").value_or(0));
  ASSERT_NE(server_pid, "0");
  ASSERT_EQ(run_command("kill -TERM " + server_pid).exit_code, 0);
  // incusd stops its instances before it exits, which can take a while; a
  // start while it still answers would find the old one "ready".
  bool gone = false;
  for (int i = 0; i < 1200 && !gone; ++i) {
    gone = run_command("kill -0 " + server_pid).exit_code != 0;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(gone) << "incusd (pid " << server_pid << ") did not exit within 120 s of SIGTERM";
  auto started = run_command(std::string(SCRIPTS_DIR) + "/start-incus.sh");
  ASSERT_EQ(started.exit_code, 0) << started.err;
  // rockpoold is alive, reconnected, and heals on events again.
  cli::api_client api({daemon_->server_url(), "", 5000});
  auto health = api.request("GET", "/healthz");
  ASSERT_TRUE(health.ok() && health->status == 200);
  for (int i = 0; i < 100 && daemon_->log().find("reconnected") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_NE(daemon_->log().find("Incus events: reconnected"), std::string::npos) << daemon_->log();
  auto metrics = api.request("GET", "/metrics");
  ASSERT_TRUE(metrics.ok());
  auto at = metrics->body.find("\nrockpool_incus_event_connections_total ");
  ASSERT_NE(at, std::string::npos) << metrics->body;
  EXPECT_GE(std::stoi(metrics->body.substr(at + 40)), 2) << "the events actor reconnected";
  ASSERT_EQ(rpctl("wait ws demo --for=condition=Ready --timeout 120s").exit_code, 0)
      << rpctl("describe ws demo").out << incus("list -c ns -f csv").out << daemon_->log();
  ASSERT_EQ(incus_retrying("stop --force demo"), 0);
  EXPECT_GE(seconds_until("/workspace/demo/", "rockpool-tiny IDE", 10), 0);
}
