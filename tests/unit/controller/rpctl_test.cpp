// rpctl's commands in process, against the API served from the in-memory
// backend on a unix socket of the test's own: apply, get, diff, delete and
// their exit codes, without a rockpoold process.
#include "rockpool/cli/rpctl.hpp"
#include "rockpool/actors/kind_commands.hpp"
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/actors/kinds.hpp"
#include "rockpool/controller/api_handler.hpp"
#include "rockpool/controller/api_server.hpp"
#include "rockpool/specs/memory_backend.hpp"
#include "echo_kind.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace rockpool;

namespace {

class rpctl_test : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<controller::api_server>(
        handler_, controller::server_options{(dir_ / "api.sock"), {}, {}});
    ASSERT_TRUE(server_->start().ok());
    ::setenv("ROCKPOOL_SERVER", ("unix://" + (dir_ / "api.sock")).c_str(), 1);
  }
  void TearDown() override {
    server_->stop();
    ::unsetenv("ROCKPOOL_SERVER");
  }

  struct outcome {
    int code;
    std::string out, err;
  };
  outcome rpctl(std::vector<std::string> args) {
    args.insert(args.begin(), "rpctl");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    std::ostringstream out, err;
    int code = cli::run_rpctl(static_cast<int>(argv.size()), argv.data(), out, err, *kinds_);
    return {code, out.str(), err.str()};
  }
  std::string write(const std::string& name, const std::string& text) {
    auto path = (dir_ / name);
    std::ofstream(path) << text;
    return path;
  }

  test_support::temp_dir dir_;
  std::unique_ptr<specs::kv_backend> backend_ = specs::make_memory_backend();
  test_support::fake_clock clock_;
  specs::object_store store_{*backend_, clock_, {}, &actors::kind_rules()};
  controller::metrics metrics_;
  controller::api_handler handler_{store_, metrics_, {}};
  std::unique_ptr<controller::api_server> server_;
  const std::vector<cli::kind_commands>* kinds_ = &actors::standard_commands();
};

const std::string workspace_yaml =
    "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: demo\nspec:\n"
    "  image: tiny\n";
const std::string route_yaml =
    "apiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\nmetadata:\n  name: demo-9000\nspec:\n"
    "  workspace: demo\n  port: 9000\n";

}  // namespace

TEST_F(rpctl_test, apply_sends_templates_and_workspaces_before_routes_and_reports_each) {
  // The route comes first in the file; apply order puts the workspace first.
  auto file = write("all.yaml", route_yaml + "---\n" + workspace_yaml);
  auto r = rpctl({"apply", "-f", file});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "workspace/demo created\nportroute/demo-9000 created\n");
  r = rpctl({"apply", "-f", file});
  EXPECT_EQ(r.out, "workspace/demo unchanged\nportroute/demo-9000 unchanged\n");
  EXPECT_EQ(rpctl({"get", "ws", "demo", "-o", "name"}).out, "workspace/demo\n");
}

TEST_F(rpctl_test, invalid_input_applies_nothing_and_diff_exits_two) {
  auto file = write("bad.yaml", workspace_yaml + "---\n" + route_yaml +
                                    "---\napiVersion: rockpool.dev/v1alpha1\nkind: Workspace\n"
                                    "metadata:\n  name: Bad_Name\nspec:\n  image: x\n");
  auto r = rpctl({"apply", "-f", file});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("nothing applied: 1 problem in the input"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("document 3"), std::string::npos) << r.err;
  EXPECT_EQ(store_.revision(), 0u) << "nothing was written";
  EXPECT_EQ(rpctl({"diff", "-f", file}).code, 2);
}

TEST_F(rpctl_test, diff_exits_zero_when_same_and_one_when_different) {
  auto file = write("ws.yaml", workspace_yaml);
  EXPECT_EQ(rpctl({"diff", "-f", file}).code, 1) << "not there yet";
  ASSERT_EQ(rpctl({"apply", "-f", file}).code, 0);
  EXPECT_EQ(rpctl({"diff", "-f", file}).code, 0);
  auto changed = write("ws2.yaml", workspace_yaml + "  state: Stopped\n");
  auto d = rpctl({"diff", "-f", changed});
  EXPECT_EQ(d.code, 1);
  EXPECT_NE(d.out.find("+  state: Stopped"), std::string::npos) << d.out;
}

TEST_F(rpctl_test, server_refusals_are_reported_per_document_and_the_rest_still_applies) {
  ASSERT_EQ(rpctl({"apply", "-f", write("ws.yaml", workspace_yaml)}).code, 0);
  // Owned by rpctl; another manager without --force-conflicts is refused.
  auto r = rpctl({"apply", "--field-manager", "other", "-f", write("ws.yaml", workspace_yaml)});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("Error from server (Conflict)"), std::string::npos) << r.err;
  r = rpctl({"delete", "ws", "demo"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(rpctl({"get", "ws"}).err, "No resources found\n");
}

TEST_F(rpctl_test, prune_deletes_only_what_this_manager_applied_and_the_input_dropped) {
  std::string labelled =
      "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n"
      "  name: NAME\n  labels:\n    app: x\nspec:\n  image: tiny\n";
  auto a = labelled, b = labelled;
  a.replace(a.find("NAME"), 4, "a");
  b.replace(b.find("NAME"), 4, "b");
  ASSERT_EQ(rpctl({"apply", "-f", write("ab.yaml", a + "---\n" + b)}).code, 0);
  auto r = rpctl({"apply", "--prune", "-l", "app=x", "-f", write("a.yaml", a)});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("workspace/b pruned"), std::string::npos) << r.out;
  EXPECT_EQ(rpctl({"get", "ws", "-o", "name"}).out, "workspace/a\n");
}

// Issue 9, item 12: a bad duration is a usage error, not an abort.
TEST_F(rpctl_test, bad_durations_are_usage_errors) {
  for (const char* bad : {"abc", "5x", "-3s", ""}) {
    auto r = rpctl({"--request-timeout", bad, "get", "ws"});
    if (std::string(bad).empty()) continue;  // empty means "none"
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_NE(r.err.find("is not a duration"), std::string::npos) << bad << ": " << r.err;
  }
  EXPECT_EQ(rpctl({"wait", "ws", "x", "--for", "delete", "--timeout", "soon"}).code, 2);
  EXPECT_EQ(rpctl({"--request-timeout", "1.5m", "get", "ws"}).code, 0) << "a valid duration";
}

// Issue 21, item 1: a kind module written by the test (echo_kind.hpp) — a
// reconciler with a subresource, and an rpctl command and a diff of its own —
// is reached end to end through the API server's and rpctl's registries,
// with no file of the server or the CLI naming it.
TEST_F(rpctl_test, a_kind_registers_a_subresource_and_a_command_and_rpctl_reaches_both) {
  actors::kind_registry kinds;
  kinds.add(std::make_unique<test_kinds::echo_kind>());
  actors::subresource_services services{store_, nullptr, ""};
  controller::api_options options;
  options.subresources = kinds.subresources(services);
  controller::api_handler handler(store_, metrics_, options);
  controller::api_server server(handler, controller::server_options{(dir_ / "echo.sock"), {}, {}});
  ASSERT_TRUE(server.start().ok());
  auto at = "--server=unix://" + (dir_ / "echo.sock");

  // Without the kind's commands rpctl has no such verb.
  auto r = rpctl({at, "echo", "t"});
  EXPECT_EQ(r.code, 2) << "a usage error";
  EXPECT_EQ(r.out, "");

  std::vector<cli::kind_commands> with_echo = actors::standard_commands();
  with_echo.push_back(test_kinds::echo_commands());
  kinds_ = &with_echo;
  ASSERT_EQ(rpctl({at, "apply", "-f",
                   write("t.yaml", "apiVersion: rockpool.dev/v1alpha1\nkind: WorkspaceTemplate\n"
                                   "metadata:\n  name: t\nspec: {}\n")})
                .code,
            0);
  r = rpctl({at, "echo", "t", "--say", "hello there"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "GET t hello there \n");
  r = rpctl({at, "echo", "missing"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("NotFound"), std::string::npos) << r.err;
  // The kind's diff, next to GitSync's.
  r = rpctl({at, "diff", "workspacetemplate/t"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "echo diff t\n");
  r = rpctl({at, "diff", "workspace/t"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("diff takes gitsync/NAME or workspacetemplate/NAME"), std::string::npos)
      << r.err;
  server.stop();
}
