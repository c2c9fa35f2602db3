// rockpoold reaching Incus over HTTPS with a client certificate, the way it
// would reach a remote Incus: the machine's incusd also listens on a loopback
// HTTPS port for the test, trusts a certificate made for it, and forgets both
// afterwards. The REST calls and the lifecycle-event websocket both go over
// TLS with Incus's server certificate pinned.
#include "real_runtime_fixture.hpp"

#include "rockpool/runtime/incus_rest.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace rockpool;
using test_support::run_command;

namespace {

class incus_over_https : public test_support::real_runtime {
 protected:
  void SetUp() override {
    if (!runtime::incus_rest({}).server_version().ok()) {
      if (test_support::in_ci()) FAIL() << "Incus is required under CI=true";
      GTEST_SKIP() << "no incusd";
    }
    https_ = "127.0.0.1:" + std::to_string(test_support::free_port());
    cert_ = certs_ / "client.crt";
    key_ = certs_ / "client.key";
    ASSERT_EQ(run_command("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                          "-nodes -days 1 -subj /CN=rockpool-https-test -keyout " +
                          key_ + " -out " + cert_)
                  .exit_code,
              0);
    auto fp = run_command("openssl x509 -in " + cert_ +
                          " -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':\\n' | tr A-F a-f");
    fingerprint_ = fp.out.substr(0, 12);
    ASSERT_EQ(run_command("incus config set core.https_address " + https_).exit_code, 0);
    configured_ = true;
    auto trust = run_command("incus config trust add-certificate " + cert_);
    ASSERT_EQ(trust.exit_code, 0) << trust.err;
    trusted_ = true;
    real_runtime::SetUp();
  }
  void TearDown() override {
    real_runtime::TearDown();
    if (trusted_) run_command("incus config trust remove " + fingerprint_);
    if (configured_) run_command("incus config unset core.https_address");
  }
  std::vector<std::string> extra_daemon_args() override {
    // The unix socket is made unusable: everything must go over HTTPS.
    return {"--incus-url",         "https://" + https_,
            "--incus-client-cert", cert_,
            "--incus-client-key",  key_,
            "--incus-server-cert", "/var/lib/incus/server.crt",
            "--incus-socket",      "/nonexistent/incus.socket"};
  }
  runtime::incus_rest_options over_https(const std::string& server_cert) {
    runtime::incus_rest_options o;
    o.url = "https://" + https_;
    o.client_cert = cert_;
    o.client_key = key_;
    o.server_cert = server_cert;
    return o;
  }

  test_support::temp_dir certs_;
  std::string https_, cert_, key_, fingerprint_;
  bool configured_ = false, trusted_ = false;
};

}  // namespace

TEST_F(incus_over_https, the_client_pins_the_server_certificate) {
  runtime::incus_rest pinned(over_https("/var/lib/incus/server.crt"));
  auto info = pinned.server_info();
  ASSERT_TRUE(info.ok()) << info.err().message;
  EXPECT_EQ(specs::string_at(*info, "auth"), "trusted");
  // Any other certificate presented by "Incus" is refused.
  runtime::incus_rest wrong(over_https(cert_));
  auto refused = wrong.server_version();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.err().message.find("Incus at https://" + https_ + " does not answer"),
            std::string::npos)
      << refused.err().message;
}

TEST_F(incus_over_https, a_workspace_is_served_and_healed_through_an_https_incus) {
  ASSERT_EQ(rpctl(std::string("apply -f ") + SAMPLES_DIR + "/tiny.yaml").exit_code, 0);
  auto r = rpctl("wait ws demo --for=condition=Ready --timeout 60s");
  ASSERT_EQ(r.exit_code, 0) << rpctl("describe ws demo").out << daemon_->log();
  // Healing needs the lifecycle events, which now arrive over TLS: the sweep
  // is 30 s away, so a prompt return can only come from an event.
  ASSERT_EQ(incus_retrying("stop --force demo"), 0);
  EXPECT_GE(seconds_until("/workspace/demo/", "rockpool-tiny IDE", 10), 0)
      << rpctl("describe ws demo").out;
}
