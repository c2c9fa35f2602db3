// GitOps end to end (issue 13): a real rockpoold on the fake runtime syncing
// directories and real Git repositories made by the test — a bare repository
// over file:// and one served by `git daemon` on loopback — driven by rpctl.
#include "rockpool/cli/client.hpp"
#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/object_model.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

using namespace rockpool;
using specs::string_at;
using test_support::command_result;
using test_support::daemon_process;
using test_support::run_command;
using test_support::temp_dir;
namespace json = boost::json;

namespace {

using steady = std::chrono::steady_clock;

std::string ws(const std::string& name, int cpu = 1) {
  return "apiVersion: rockpool.dev/v1alpha1\nkind: Workspace\nmetadata:\n  name: " + name +
         "\nspec:\n  image: tiny\n  resources:\n    cpu: " + std::to_string(cpu) + "\n";
}
std::string route(const std::string& name, const std::string& workspace, int port) {
  return "apiVersion: rockpool.dev/v1alpha1\nkind: PortRoute\nmetadata:\n  name: " + name +
         "\nspec:\n  workspace: " + workspace + "\n  port: " + std::to_string(port) + "\n";
}

class gitsync_e2e : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(tmp_.path() / "work");
    git("init -q -b main");
    ASSERT_EQ(run_command("git init -q --bare -b main " + (tmp_ / "origin.git")).exit_code, 0);
    git("remote add origin " + (tmp_ / "origin.git"));
    start();
  }
  void TearDown() override {
    if (daemon_) {
      EXPECT_EQ(daemon_->stop(), 0) << daemon_->log();
    }
    if (!git_daemon_pid_.empty()) run_command("kill " + git_daemon_pid_);
  }
  void start() {
    daemon_ = std::make_unique<daemon_process>(
        ROCKPOOLD_PATH, tmp_ / "db", tmp_ / "api.sock",
        std::vector<std::string>{"--runtime", "fake", "--sweep-interval", "0", "--host-ports",
                                 std::to_string(test_support::host_port_base(50)) + "-" +
                                     std::to_string(test_support::host_port_base(50) + 49)});
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }
  // git in the working repository; commits are pushed to origin.git.
  std::string git(const std::string& args) {
    auto r = run_command("cd " + (tmp_ / "work") + " && git -c user.email=t@t -c user.name=t " +
                         args + " 2>&1");
    EXPECT_EQ(r.exit_code, 0) << "git " << args << ": " << r.out;
    return r.out;
  }
  void write(const std::string& rel, const std::string& text) {
    auto p = tmp_.path() / "work" / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::string commit(const std::string& message) {
    git("add -A");
    git("commit -q --allow-empty -m '" + message + "'");
    git("push -q -f origin HEAD:main");
    auto head = git("rev-parse HEAD");
    head.pop_back();
    return head;
  }
  command_result rpctl(const std::string& args) {
    return run_command("ROCKPOOL_SERVER=" + daemon_->server_url() + " " RPCTL_PATH " " + args);
  }
  command_result apply(const std::string& yaml) {
    auto path = tmp_ / "apply.yaml";
    std::ofstream(path) << yaml;
    return rpctl("apply -f " + path);
  }
  std::string git_sync(const std::string& name, const std::string& url,
                       const std::string& extra = "") {
    return "apiVersion: rockpool.dev/v1alpha1\nkind: GitSync\nmetadata:\n  name: " + name +
           "\nspec:\n  git:\n    url: " + url + "\n    ref: main\n    path: specs\n" + extra;
  }
  std::optional<json::value> get(const std::string& plural, const std::string& name) {
    cli::api_client c({daemon_->server_url(), "", 10000});
    auto r = c.request("GET", "/apis/rockpool.dev/v1alpha1/" + plural + "/" + name);
    if (!r.ok() || r->status != 200) return std::nullopt;
    auto v = specs::parse_json(r->body);
    return v.ok() ? std::optional<json::value>(*v) : std::nullopt;
  }
  std::string condition(const json::value& obj, const std::string& type,
                        const char* field = "status") {
    const auto* conds = specs::find_path(obj, "status.conditions");
    if (conds && conds->is_array())
      for (const auto& c : conds->get_array())
        if (string_at(c, "type") == type) return string_at(c, field);
    return "";
  }
  // Polls until pred holds for the sync (bounded); returns the last object seen.
  json::value wait_sync(const std::string& name,
                        const std::function<bool(const json::value&)>& pred,
                        std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    auto until = steady::now() + timeout;
    json::value last;
    while (steady::now() < until) {
      if (auto gs = get("gitsyncs", name)) {
        last = *gs;
        if (pred(last)) return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "gitsync/" << name << " never got there: " << json::serialize(last);
    return last;
  }
  json::value wait_applied(const std::string& name, const std::string& revision) {
    return wait_sync(name, [&](const json::value& gs) {
      return string_at(gs, "status.lastAppliedRevision") == revision &&
             condition(gs, "Synced") == "True";
    });
  }
  // Whether the daemon has this shared library mapped (soname prefix, e.g. "libgit2.so").
  bool daemon_maps(const std::string& library) {
    auto maps = test_support::read_file("/proc/" + std::to_string(daemon_->pid()) + "/maps");
    return maps.find("/" + library) != std::string::npos;
  }
  std::int64_t cpu_of(const std::string& name) {
    auto w = get("workspaces", name);
    return w ? specs::int_at(*w, "spec.resources.cpu").value_or(-1) : -1;
  }

  temp_dir tmp_;
  std::unique_ptr<daemon_process> daemon_;
  std::string git_daemon_pid_;
};

}  // namespace

// 1. A directory: every object created, Synced with the content hash; a second
// sync changes nothing.
TEST_F(gitsync_e2e, a_directory_is_applied_then_a_second_sync_changes_nothing) {
  write("specs/a.yaml", ws("a") + "---\n" + route("a-80", "a", 80));
  write("specs/more/b.yaml", ws("b"));
  write("specs/.draft.yaml", ws("hidden"));
  write("specs/.rockpoolignore", "ignored/\n");
  write("specs/ignored/c.yaml", ws("ignored"));
  ASSERT_EQ(apply("apiVersion: rockpool.dev/v1alpha1\nkind: GitSync\nmetadata:\n  name: dir\n"
                  "spec:\n  path: " +
                  (tmp_ / "work/specs") + "\n")
                .exit_code,
            0);
  auto gs =
      wait_sync("dir", [&](const json::value& g) { return condition(g, "Synced") == "True"; });
  EXPECT_EQ(string_at(gs, "status.lastAppliedRevision").rfind("sha1:", 0), 0u);
  EXPECT_EQ(specs::int_at(gs, "status.objects"), 3);
  EXPECT_TRUE(get("workspaces", "a") && get("workspaces", "b") && get("portroutes", "a-80"));
  EXPECT_FALSE(get("workspaces", "hidden") || get("workspaces", "ignored"));
  auto again = rpctl("sync dir --wait --timeout 10s");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("0 applied, 3 unchanged, 0 pruned"), std::string::npos) << again.out;
  auto table = rpctl("get gs").out;
  EXPECT_NE(table.find(string_at(gs, "status.lastAppliedRevision")), std::string::npos) << table;
  EXPECT_NE(table.find("InSync"), std::string::npos) << table;
  // Opened when first needed: a directory source needs neither libgit2 nor,
  // on the fake runtime, libcurl.
  EXPECT_FALSE(daemon_maps("libgit2.so"));
  EXPECT_FALSE(daemon_maps("libcurl.so"));
}

// 2. A commit is applied within the interval, or at once after rpctl sync; the
// revision is the commit. Over file:// and over git:// from `git daemon`.
TEST_F(gitsync_e2e, commits_are_applied_at_the_interval_or_at_once_on_request) {
  write("specs/a.yaml", ws("a"));
  auto first = commit("one");
  ASSERT_EQ(
      apply(git_sync("fast", "file://" + (tmp_ / "origin.git"), "  interval: 1s\n")).exit_code, 0);
  wait_applied("fast", first);
  EXPECT_TRUE(daemon_maps("libgit2.so"));  // opened by the first fetch
  write("specs/a.yaml", ws("a", 2));
  auto second = commit("two");
  auto t0 = steady::now();
  wait_applied("fast", second);
  EXPECT_LT(steady::now() - t0, std::chrono::seconds(4));  // the 1 s interval, and a pass
  EXPECT_EQ(cpu_of("a"), 2);

  // git daemon on loopback, a long interval: only rpctl sync brings the change.
  auto port = std::to_string(test_support::free_port());
  auto pid_file = tmp_ / "git-daemon.pid";
  ASSERT_EQ(run_command("git daemon --detach --reuseaddr --export-all --listen=127.0.0.1 --port=" +
                        port + " --base-path=" + tmp_.path().string() + " --pid-file=" + pid_file +
                        " " + tmp_.path().string())
                .exit_code,
            0);
  for (int i = 0; i < 100 && !std::filesystem::exists(pid_file); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  git_daemon_pid_ = test_support::read_file(pid_file);
  while (!git_daemon_pid_.empty() &&
         std::isspace(static_cast<unsigned char>(git_daemon_pid_.back())))
    git_daemon_pid_.pop_back();
  write("specs/b.yaml", ws("b"));
  auto third = commit("three");
  ASSERT_EQ(apply(git_sync("remote", "git://127.0.0.1:" + port + "/origin.git",
                           "  interval: 1h\n  force: true\n"))
                .exit_code,
            0);
  wait_applied("remote", third);
  write("specs/b.yaml", ws("b", 3));
  auto fourth = commit("four");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(string_at(*get("gitsyncs", "remote"), "status.lastAppliedRevision"), third);
  auto r = rpctl("sync remote --wait --timeout 20s");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(string_at(*get("gitsyncs", "remote"), "status.lastAppliedRevision"), fourth);
}

// 3. An owned object deleted or changed by hand is put back within a second.
TEST_F(gitsync_e2e, drift_is_reverted_within_a_second) {
  write("specs/a.yaml", ws("a", 2));
  auto head = commit("one");
  ASSERT_EQ(apply(git_sync("s", tmp_ / "origin.git", "  interval: 1h\n")).exit_code, 0);
  wait_applied("s", head);
  // Timed from just before the change is sent to the moment the Git state is back.
  auto time_to_revert = [&](const std::string& change, const std::function<bool()>& reverted) {
    auto t0 = steady::now();
    auto r = run_command(change);
    EXPECT_EQ(r.exit_code, 0) << change << ": " << r.err;
    while (!reverted() && steady::now() - t0 < std::chrono::seconds(5))
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0);
  };
  auto rp = "ROCKPOOL_SERVER=" + daemon_->server_url() + " " RPCTL_PATH;
  auto old_uid = string_at(*get("workspaces", "a"), "metadata.uid");
  auto after_delete = time_to_revert(rp + " delete ws a", [&] {
    auto w = get("workspaces", "a");
    return w && string_at(*w, "metadata.uid") != old_uid && cpu_of("a") == 2;
  });
  EXPECT_LE(after_delete.count(), 1000) << "recreated after " << after_delete.count() << " ms";
  auto after_apply =
      time_to_revert("printf '" + ws("a", 7) + "' | " + rp + " apply --force-conflicts -f -", [&] {
        auto w = get("workspaces", "a");
        return w && specs::annotation(*w, specs::managed_by_annotation) == "gitsync/s" &&
               cpu_of("a") == 2;
      });
  EXPECT_LE(after_apply.count(), 1000) << "put back after " << after_apply.count() << " ms";
  std::cout << "drift reverted: delete " << after_delete.count() << " ms, apply "
            << after_apply.count() << " ms\n";
  EXPECT_NE(rpctl("events").out.find("DriftReverted"), std::string::npos);
}

// 4. Removed objects are pruned; an empty source or a missing path prunes nothing.
TEST_F(gitsync_e2e, prune_is_ordered_and_never_comes_from_an_empty_or_missing_source) {
  write("specs/a.yaml", ws("a") + "---\n" + route("a-80", "a", 80));
  write("specs/b.yaml", ws("b"));
  write("specs/c.yaml", ws("c"));
  write("specs/d.yaml", ws("d"));
  auto head = commit("one");
  ASSERT_EQ(apply(git_sync("s", tmp_ / "origin.git", "  interval: 1h\n")).exit_code, 0);
  wait_applied("s", head);
  std::filesystem::remove(tmp_.path() / "work/specs/a.yaml");
  auto pruned = commit("drop a");
  ASSERT_EQ(rpctl("sync s --wait --timeout 10s").exit_code, 0);
  EXPECT_FALSE(get("portroutes", "a-80"));
  EXPECT_TRUE(rpctl("wait ws a --for=delete --timeout 10s").exit_code == 0);
  EXPECT_EQ(string_at(*get("gitsyncs", "s"), "status.lastAppliedRevision"), pruned);

  for (const char* f : {"b.yaml", "c.yaml", "d.yaml"})
    std::filesystem::remove(tmp_.path() / "work/specs" / f);
  write("specs/README.md", "no manifests any more");
  commit("empty");
  auto r = rpctl("sync s --wait --timeout 10s");
  EXPECT_EQ(r.exit_code, 1);
  auto gs = *get("gitsyncs", "s");
  EXPECT_EQ(condition(gs, "Synced", "reason"), "EmptySource") << json::serialize(gs);
  EXPECT_TRUE(get("workspaces", "b") && get("workspaces", "c") && get("workspaces", "d"));

  auto missing = git_sync("s", tmp_ / "origin.git", "  interval: 1h\n");
  missing.replace(missing.find("path: specs"), 11, "path: gone");
  ASSERT_EQ(apply(missing).exit_code, 0);
  gs = wait_sync("s", [&](const json::value& g) {
    return condition(g, "SourceReady", "reason") == "SourceUnavailable";
  });
  EXPECT_NE(condition(gs, "SourceReady", "message").find("gone"), std::string::npos);
  EXPECT_TRUE(get("workspaces", "b") && get("workspaces", "c") && get("workspaces", "d"));
  EXPECT_EQ(specs::int_at(gs, "status.objects"), 3);
}

// 4b. A revision that would prune more than maxPrune stops until allowed once.
TEST_F(gitsync_e2e, mass_prune_waits_for_allow_mass_prune) {
  write("specs/a.yaml", ws("a") + "---\n" + ws("b") + "---\n" + ws("c") + "---\n" + ws("d"));
  auto head = commit("one");
  ASSERT_EQ(apply(git_sync("s", tmp_ / "origin.git", "  interval: 1h\n")).exit_code, 0);
  wait_applied("s", head);
  write("specs/a.yaml", ws("a"));
  auto fewer = commit("three fewer");
  auto r = rpctl("sync s --wait --timeout 10s");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--allow-mass-prune"), std::string::npos) << r.err;
  EXPECT_TRUE(get("workspaces", "d"));
  auto d = rpctl("diff gitsync/s");
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_NE(d.err.find("would prune 3 of 4"), std::string::npos) << d.err;
  r = rpctl("sync s --wait --allow-mass-prune --timeout 10s");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(rpctl("wait ws d --for=delete --timeout 10s").exit_code, 0);
  EXPECT_EQ(string_at(*get("gitsyncs", "s"), "status.lastAppliedRevision"), fewer);
}

// 5. One bad document among many: nothing of that commit is applied, the error
// is located, the previous revision stays live.
TEST_F(gitsync_e2e, one_bad_document_keeps_the_whole_commit_out) {
  write("specs/a.yaml", ws("a"));
  auto good = commit("good");
  ASSERT_EQ(apply(git_sync("s", tmp_ / "origin.git", "  interval: 1h\n")).exit_code, 0);
  wait_applied("s", good);
  write("specs/a.yaml", ws("a", 4));
  for (int i = 0; i < 10; ++i)
    write("specs/n" + std::to_string(i) + ".yaml", ws("n" + std::to_string(i)));
  write("specs/deep/bad.yaml", ws("fine") + "---\n" + ws("bad", 1000));
  auto bad = commit("bad");
  auto r = rpctl("sync s --wait --timeout 10s");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("deep/bad.yaml: document 2 (Workspace \"bad\"): spec.resources.cpu"),
            std::string::npos)
      << r.err;
  auto gs = *get("gitsyncs", "s");
  EXPECT_EQ(string_at(gs, "status.lastAppliedRevision"), good);
  EXPECT_EQ(string_at(gs, "status.lastAttemptedRevision"), bad);
  const auto& e = gs.at_pointer("/status/errors/0");
  EXPECT_EQ(string_at(e, "file"), "deep/bad.yaml");
  EXPECT_EQ(specs::int_at(e, "document"), 2);
  EXPECT_EQ(string_at(e, "field"), "spec.resources.cpu");
  EXPECT_GT(specs::int_at(e, "line").value_or(0), 0);
  EXPECT_EQ(cpu_of("a"), 1);
  EXPECT_FALSE(get("workspaces", "n0") || get("workspaces", "fine"));
  EXPECT_NE(rpctl("events").out.find("ValidationFailed"), std::string::npos);
  // The last good revision is still kept: drift from it is reverted.
  ASSERT_EQ(rpctl("delete ws a --wait --timeout 10s").exit_code, 0);
  auto t0 = steady::now();
  while (cpu_of("a") != 1 && steady::now() - t0 < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(cpu_of("a"), 1);
}

// 6. An object rpctl owns is a conflict, not taken over; with force it is.
TEST_F(gitsync_e2e, an_object_owned_by_rpctl_is_a_conflict_until_force) {
  ASSERT_EQ(apply(ws("a", 5)).exit_code, 0);
  write("specs/a.yaml", ws("a", 1) + "---\n" + ws("b"));
  auto head = commit("one");
  ASSERT_EQ(apply(git_sync("s", tmp_ / "origin.git", "  interval: 1h\n")).exit_code, 0);
  auto gs = wait_sync(
      "s", [&](const json::value& g) { return condition(g, "Synced", "reason") == "Conflict"; });
  EXPECT_NE(json::serialize(gs.at_pointer("/status/errors")).find("Workspace/a"),
            std::string::npos);
  EXPECT_EQ(cpu_of("a"), 5);
  EXPECT_EQ(cpu_of("b"), 1);
  ASSERT_EQ(apply(git_sync("s", tmp_ / "origin.git", "  interval: 1h\n  force: true\n")).exit_code,
            0);
  wait_applied("s", head);
  EXPECT_EQ(cpu_of("a"), 1);
}

// 7. A force-pushed branch is followed; a deleted one is SourceUnavailable
// with nothing pruned.
TEST_F(gitsync_e2e, force_pushed_and_deleted_branches) {
  write("specs/a.yaml", ws("a"));
  commit("one");
  write("specs/b.yaml", ws("b"));
  auto two = commit("two");
  ASSERT_EQ(apply(git_sync("s", tmp_ / "origin.git", "  interval: 1h\n")).exit_code, 0);
  wait_applied("s", two);
  git("reset -q --hard HEAD~1");
  write("specs/c.yaml", ws("c"));
  auto rewritten = commit("rewritten history");  // pushed with -f
  ASSERT_EQ(rpctl("sync s --wait --timeout 10s").exit_code, 0);
  EXPECT_EQ(string_at(*get("gitsyncs", "s"), "status.lastAppliedRevision"), rewritten);
  EXPECT_TRUE(get("workspaces", "c"));
  EXPECT_EQ(rpctl("wait ws b --for=delete --timeout 10s").exit_code, 0);
  ASSERT_EQ(
      run_command("git --git-dir=" + (tmp_ / "origin.git") + " branch -q -m main gone").exit_code,
      0);
  auto r = rpctl("sync s --wait --timeout 10s");
  EXPECT_EQ(r.exit_code, 1);
  auto gs = *get("gitsyncs", "s");
  EXPECT_EQ(condition(gs, "SourceReady", "reason"), "SourceUnavailable");
  EXPECT_TRUE(get("workspaces", "a") && get("workspaces", "c"));
}

// 8. kill -9 in the middle of a sync: after the restart it converges to the
// Git state with its inventory whole and nothing orphaned.
TEST_F(gitsync_e2e, kill9_mid_sync_converges_after_restart) {
  std::string all;
  for (int i = 0; i < 600; ++i) all += (i ? "---\n" : "") + ws("w" + std::to_string(i));
  write("specs/many.yaml", all);
  auto head = commit("many");
  ASSERT_EQ(apply(git_sync("s", tmp_ / "origin.git", "  interval: 1h\n")).exit_code, 0);
  cli::api_client c({daemon_->server_url(), "", 10000});
  auto count = [&] {
    auto r = c.request("GET", "/apis/rockpool.dev/v1alpha1/workspaces?labelSelector=" +
                                  cli::url_encode("rockpool.dev/gitsync=s"));
    if (!r.ok() || r->status != 200) return std::size_t{0};
    auto v = specs::parse_json(r->body);
    return v.ok() ? v->at("items").as_array().size() : std::size_t{0};
  };
  auto t0 = steady::now();
  while (count() < 50 && steady::now() - t0 < std::chrono::seconds(20))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto before = count();
  daemon_->kill9();
  EXPECT_GT(before, 0u);
  EXPECT_LT(before, 600u) << "the sync finished before the kill: nothing was interrupted";
  start();
  auto gs = wait_applied("s", head);
  EXPECT_EQ(count(), 600u);
  EXPECT_EQ(specs::int_at(gs, "status.objects"), 600);
}
