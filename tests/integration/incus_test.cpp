// The Incus client against the real incusd (started by test.sh), in a project
// of its own so it never touches a running demo. Under CI=true a missing
// incusd fails the test; elsewhere it is skipped.
#include "rockpool/cli/client.hpp"
#include "rockpool/runtime/incus_rest.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

using namespace rockpool;

namespace {

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

class incus_client_test : public ::testing::Test {
 protected:
  void SetUp() override {
    project_ = "rockpool-test-" + std::to_string(::getpid());
    runtime::incus_rest probe({});
    auto version = probe.server_version();
    if (!version.ok()) {
      if (in_ci()) FAIL() << "Incus is required under CI=true: " << version.err().message;
      GTEST_SKIP() << "no incusd: " << version.err().message;
    }
    ASSERT_TRUE(probe.create_project(project_).ok());
    runtime::incus_rest_options o;
    o.project = project_;
    incus_ = std::make_unique<runtime::incus_rest>(o);
    auto image = incus_->image_exists("rockpool-tiny");
    ASSERT_TRUE(image.ok() && *image) << "run runtime/images/build-tiny.sh first";
  }
  void TearDown() override {
    if (!incus_) return;
    auto names = incus_->list_instances();
    if (names.ok())
      for (const auto& n : *names) (void)incus_->delete_instance(n);
    EXPECT_TRUE(runtime::incus_rest({}).delete_project(project_).ok());
  }
  std::string project_;
  std::unique_ptr<runtime::incus_rest> incus_;
};

}  // namespace

TEST_F(incus_client_test, instance_lifecycle_with_an_idempotent_proxy_device) {
  EXPECT_FALSE(*incus_->image_exists("no-such-image"));
  runtime::instance_spec spec{
      "itest",     "rockpool-tiny",
      "container", 1,
      "256Mi",     "1Gi",
      false,       {{runtime::owner_uid_key, "uid-1"}, {runtime::owner_kind_key, "Workspace"}}};
  ASSERT_TRUE(incus_->create_instance(spec).ok());
  auto again = incus_->create_instance(spec);
  EXPECT_FALSE(again.ok());
  auto inst = incus_->get_instance("itest");
  ASSERT_TRUE(inst.ok() && *inst);
  EXPECT_EQ((*inst)->status, "Stopped");
  EXPECT_EQ((*inst)->config.at("user.rockpool.uid"), "uid-1");
  EXPECT_EQ((*inst)->config.at("limits.memory"), "256MiB");
  ASSERT_TRUE(incus_->start_instance("itest").ok());
  auto port = test_support::host_port_base(1);
  runtime::proxy_device dev{"rockpool-ide", "tcp:127.0.0.1:" + std::to_string(port),
                            "tcp:127.0.0.1:8080"};
  ASSERT_TRUE(incus_->set_proxy_device("itest", dev).ok());
  ASSERT_TRUE(incus_->set_proxy_device("itest", dev).ok());  // idempotent
  // Limits and the root disk size change on the running instance.
  ASSERT_TRUE(incus_
                  ->update_instance(
                      "itest", {{{"limits.cpu", "1"}, {"limits.memory", "300MiB"}}, "2GiB", {}})
                  .ok());
  auto updated = incus_->get_instance("itest");
  ASSERT_TRUE(updated.ok() && *updated);
  EXPECT_EQ((*updated)->config.at("limits.memory"), "300MiB");
  EXPECT_EQ((*updated)->root_size, "2GiB");
  EXPECT_EQ((*updated)->proxies.size(), 1u) << "an update keeps the devices";
  EXPECT_EQ((*updated)->profiles, std::vector<std::string>{"default"});
  runtime::instance_update no_profiles;
  no_profiles.profiles = std::vector<std::string>{};
  ASSERT_TRUE(incus_->update_instance("itest", no_profiles).ok());
  EXPECT_TRUE((*incus_->get_instance("itest"))->profiles.empty());
  runtime::instance_update back;
  back.profiles = std::vector<std::string>{"default"};
  ASSERT_TRUE(incus_->update_instance("itest", back).ok());
  EXPECT_EQ((*incus_->get_instance("itest"))->profiles, std::vector<std::string>{"default"});
  inst = incus_->get_instance("itest");
  ASSERT_EQ((*inst)->proxies.size(), 1u);
  EXPECT_EQ((*inst)->proxies[0], dev);
  EXPECT_EQ((*inst)->status, "Running");
  // The tiny image's IDE page, through the proxy device on loopback.
  cli::api_client http({"http://127.0.0.1:" + std::to_string(port), "", 2000});
  std::string body;
  for (int i = 0; i < 50 && body.find("rockpool-tiny IDE") == std::string::npos; ++i) {
    auto r = http.request("GET", "/");
    if (r.ok())
      body = r->body;
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(body.find("rockpool-tiny IDE"), std::string::npos) << body;
  ASSERT_TRUE(incus_->remove_proxy_device("itest", "rockpool-ide").ok());
  ASSERT_TRUE(incus_->remove_proxy_device("itest", "rockpool-ide").ok());  // absent is fine
  EXPECT_TRUE((*incus_->get_instance("itest"))->proxies.empty());
  ASSERT_TRUE(incus_->stop_instance("itest").ok());
  EXPECT_EQ((*incus_->get_instance("itest"))->status, "Stopped");
  ASSERT_TRUE(incus_->delete_instance("itest").ok());
  EXPECT_FALSE(*incus_->get_instance("itest"));
  EXPECT_EQ(incus_->delete_instance("itest").err().why, specs::reason::not_found);
}

TEST_F(incus_client_test, a_missing_image_is_not_found_with_incus_message) {
  runtime::instance_spec spec{"noimg", "no-such-image", "container", 1, "256Mi", "1Gi", false, {}};
  auto st = incus_->create_instance(spec);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.err().message.find("Incus"), std::string::npos) << st.err().message;
}

TEST(incus_client, an_unreachable_socket_is_unavailable_not_a_crash) {
  runtime::incus_rest_options o;
  o.socket = "/nonexistent/incus.socket";
  runtime::incus_rest incus(o);
  auto r = incus.get_instance("x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().why, specs::reason::unavailable);
}
