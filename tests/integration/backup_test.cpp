// Backup and restore end to end (issue 26): `rpctl backup` from a daemon
// under a steady write load, `rockpoold restore` into a new directory, and a
// second daemon on it that serves exactly the source's objects at the
// backup's revision. Damaged files are refused and change nothing.
#include "rockpool/cli/client.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

using namespace rockpool;
using test_support::daemon_process;
using test_support::run_command;
using test_support::temp_dir;
namespace json = boost::json;

namespace {

const std::string workspaces = "/apis/rockpool.dev/v1alpha1/workspaces";

cli::api_client client_of(const daemon_process& d) {
  return cli::api_client({d.server_url(), "", 10000});
}

// name -> the object as served.
std::map<std::string, json::value> list(const daemon_process& d) {
  auto c = client_of(d);
  auto r = c.request("GET", workspaces);
  std::map<std::string, json::value> out;
  if (!r.ok() || r->status != 200) return out;
  auto body = json::parse(r->body);
  for (auto& item : body.at("items").as_array())
    out[json::value_to<std::string>(item.at("metadata").at("name"))] = item;
  return out;
}

std::uint64_t revision_of(const json::value& obj) {
  return std::stoull(json::value_to<std::string>(obj.at("metadata").at("resourceVersion")));
}

}  // namespace

TEST(backup_e2e, a_backup_taken_under_500_writes_a_second_restores_the_source_at_its_revision) {
  temp_dir tmp;
  daemon_process source(ROCKPOOLD_PATH, tmp / "db", tmp / "api.sock");
  ASSERT_TRUE(source.start()) << source.log();

  // Creates only (distinct names), paced at 500 a second for 3 seconds: the
  // objects the source holds with resourceVersion <= R are exactly its state
  // at revision R.
  std::atomic<int> written{0};
  std::atomic<bool> failed{false};
  std::thread writer([&] {
    auto c = client_of(source);
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 1500; ++i) {
      std::this_thread::sleep_until(start + std::chrono::milliseconds(2 * i));
      auto body = R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"w)" +
                  std::to_string(i) + R"("},"spec":{"image":"tiny"}})";
      auto r = c.request("POST", workspaces, body, "application/json");
      if (!r.ok() || r->status != 201) {
        failed = true;
        return;
      }
      ++written;
    }
  });
  while (written < 300 && !failed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto file = tmp / "store.backup";
  auto backup =
      run_command("ROCKPOOL_SERVER=" + source.server_url() + " " RPCTL_PATH " backup -o " + file);
  int during = written;
  writer.join();
  ASSERT_FALSE(failed) << source.log();
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  std::uint64_t at = 0;
  ASSERT_EQ(std::sscanf(backup.out.c_str(), "backup of revision %lu", &at), 1) << backup.out;
  EXPECT_LT(during, 1500) << "the writer was still writing when the backup was taken";

  auto restored_dir = tmp / "restored";
  auto restore = run_command(std::string(ROCKPOOLD_PATH) + " restore --from " + file +
                             " --data-dir " + restored_dir);
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_NE(restore.out.find("restored revision " + std::to_string(at)), std::string::npos)
      << restore.out;

  auto all = list(source);
  ASSERT_EQ(all.size(), 1500u);
  std::map<std::string, json::value> expected;
  for (auto& [name, obj] : all)
    if (revision_of(obj) <= at) expected[name] = obj;
  ASSERT_GT(expected.size(), 0u);
  ASSERT_LT(expected.size(), all.size()) << "writes went on after the backup's revision";
  ASSERT_EQ(source.stop(), 0);

  daemon_process copy(ROCKPOOLD_PATH, restored_dir, tmp / "restored.sock");
  ASSERT_TRUE(copy.start()) << copy.log();
  auto got = list(copy);
  EXPECT_EQ(got.size(), expected.size());
  for (auto& [name, obj] : expected) {
    auto it = got.find(name);
    ASSERT_NE(it, got.end()) << name << " is missing";
    // Every field: uid, resourceVersion, creationTimestamp, spec.
    EXPECT_EQ(json::serialize(it->second), json::serialize(obj)) << name;
  }
  // The restored control plane goes on from the backup's revision.
  auto c = client_of(copy);
  auto r = c.request("POST", workspaces,
                     R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace",)"
                     R"("metadata":{"name":"after"},"spec":{"image":"tiny"}})",
                     "application/json");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 201);
  EXPECT_EQ(revision_of(json::parse(r->body)), at + 1);
  EXPECT_EQ(copy.stop(), 0);
}

TEST(backup_e2e, a_damaged_or_truncated_backup_is_refused_and_nothing_is_written) {
  temp_dir tmp;
  daemon_process source(ROCKPOOLD_PATH, tmp / "db", tmp / "api.sock");
  ASSERT_TRUE(source.start()) << source.log();
  auto c = client_of(source);
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(c.request("POST", workspaces,
                        R"({"apiVersion":"rockpool.dev/v1alpha1","kind":"Workspace","metadata":{"name":"w)" +
                            std::to_string(i) + R"("},"spec":{"image":"tiny"}})",
                        "application/json")
                  ->status,
              201);
  auto file = tmp / "store.backup";
  ASSERT_EQ(
      run_command("ROCKPOOL_SERVER=" + source.server_url() + " " RPCTL_PATH " backup -o " + file)
          .exit_code,
      0);
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GT(bytes.size(), 1000u);

  auto flipped = bytes;
  flipped[bytes.size() / 2] = static_cast<char>(flipped[bytes.size() / 2] ^ 1);
  auto truncated = bytes.substr(0, bytes.size() - 100);
  for (auto [name, content] : {std::pair{"flipped", flipped}, std::pair{"truncated", truncated}}) {
    auto path = tmp / name;
    std::ofstream(path, std::ios::binary) << content;
    auto target = tmp / (std::string(name) + "-restored");
    auto r = run_command(std::string(ROCKPOOLD_PATH) + " restore --from " + path +
                         " --data-dir " + target);
    EXPECT_EQ(r.exit_code, 1) << name;
    EXPECT_NE(r.err.find("checksum does not match"), std::string::npos) << name << ": " << r.err;
    EXPECT_NE(r.err.find(path), std::string::npos) << "names the file: " << r.err;
    EXPECT_FALSE(std::filesystem::exists(target)) << name;
  }
  // Never over an existing store.
  auto r = run_command(std::string(ROCKPOOLD_PATH) + " restore --from " + file + " --data-dir " +
                       (tmp / "db"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is not empty"), std::string::npos) << r.err;
  EXPECT_EQ(source.stop(), 0);
}

// Upgrade (issue 26, item 4): a data directory written by the previous
// release (tests/fixtures/store-917179a, store format 1) opens in this
// rockpoold with every object as it was, and its allocations kept; the
// migration runs once.
TEST(upgrade_e2e, a_store_written_by_the_previous_release_opens_with_every_object_intact) {
  temp_dir tmp;
  const std::string fixture = std::string(REPO_DIR) + "/tests/fixtures/store-917179a";
  auto data = tmp / "data";
  std::filesystem::create_directories(data);
  ASSERT_EQ(run_command("tar -C " + data + " -xzf " + fixture + "/data.tar.gz").exit_code, 0);
  std::ifstream in(fixture + "/expected.json");
  auto expected = json::parse(std::string((std::istreambuf_iterator<char>(in)), {}));

  daemon_process d(ROCKPOOLD_PATH, data, tmp / "api.sock", {"--log-level", "info"});
  ASSERT_TRUE(d.start()) << d.log();
  auto c = client_of(d);
  int compared = 0;
  for (const auto& [plural, items] : expected.as_object()) {
    auto path = plural == "events" ? std::string("/api/v1/events")
                                   : "/apis/rockpool.dev/v1alpha1/" + std::string(plural);
    auto r = c.request("GET", path);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200) << path;
    auto got = json::parse(r->body).at("items").as_array();
    ASSERT_EQ(got.size(), items.as_array().size()) << plural;
    for (std::size_t i = 0; i < got.size(); ++i, ++compared)
      EXPECT_TRUE(got[i] == items.as_array()[i])  // every field, in any order
          << plural << ": " << json::serialize(got[i]) << "\nwas " << json::serialize(items.as_array()[i]);
  }
  EXPECT_EQ(compared, 9);  // 2 workspaces, a port route, a template, the Host, 4 events
  auto backup = run_command("ROCKPOOL_SERVER=" + d.server_url() + " " RPCTL_PATH " backup -o " +
                            (tmp / "b.backup"));
  EXPECT_NE(backup.out.find("backup of revision 15: 9 objects, 3 allocations"),
            std::string::npos)
      << backup.out << backup.err;
  EXPECT_EQ(d.stop(), 0);
  EXPECT_NE(d.log().find("store format 1 -> 2"), std::string::npos) << d.log();

  daemon_process again(ROCKPOOLD_PATH, data, tmp / "api2.sock", {"--log-level", "info"});
  ASSERT_TRUE(again.start()) << again.log();
  EXPECT_EQ(again.stop(), 0);
  // (The log file is per data directory and appended to: both runs are in it.)
  auto log = again.log();
  auto first = log.find("store format 1 -> 2");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("store format", first + 1), std::string::npos) << "migrated once: " << log;
}
