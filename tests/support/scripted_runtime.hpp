#pragma once

// Test doubles of the runtime: the product fakes (runtime/fake.hpp) plus what
// only tests need — injected failures and crashes, operation hooks and
// journals, and changes made behind the controller's back.

#include "rockpool/runtime/fake.hpp"

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace rockpool::test_support {

/// fake_incus that tests can script. Thread safety: thread-safe.
class scripted_incus final : public runtime::fake_incus {
 public:
  /// The next n calls of operation (e.g. "create", "start") fail with
  /// reason::unavailable and message (a default one when empty).
  void fail_next(const std::string& operation, int n = 1, std::string message = {});
  /// The next call of operation throws std::runtime_error (a crashing reconcile).
  void throw_next(const std::string& operation);
  /// Called at the start of every operation, by name.
  void on_operation(std::function<void(const std::string&)> hook);
  /// Operations in call order ("create demo", "delete demo", ...).
  std::vector<std::string> journal() const;
  /// Changes behind the controller's back.
  void crash(const std::string& name);   // the instance stops
  void vanish(const std::string& name);  // the instance is deleted
  /// The instance's NIC is replaced (nullopt: removed), as `incus config device` would.
  void set_nic_behind(const std::string& name, std::optional<runtime::nic_device> nic);
  /// An instance the controller does not own.
  void add_foreign_instance(const std::string& name);

 protected:
  specs::status intercept(const std::string& op, const std::string& subject) override;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> failures_;  // count, message
  std::set<std::string> throws_;
  std::function<void(const std::string&)> hook_;
  std::vector<std::string> journal_;
};

/// fake_routes that tests can script. Thread safety: thread-safe.
class scripted_routes final : public runtime::fake_routes {
 public:
  /// The next n upserts fail.
  void fail_next(int n = 1);
  /// Called with "route-upsert ID" and "route-remove ID" (of routes that exist).
  void set_journal(std::function<void(const std::string&)> journal);

 protected:
  specs::status intercept(const std::string& op, const std::string& id) override;

 private:
  std::mutex mu_;
  int failures_ = 0;
  std::function<void(const std::string&)> journal_;
};

}  // namespace rockpool::test_support
