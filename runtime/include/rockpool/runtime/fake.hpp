#pragma once

#include "rockpool/runtime/incus.hpp"
#include "rockpool/runtime/routes.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>

namespace rockpool::runtime {

/// In-memory Incus for development (`rockpoold --runtime=fake`) and for the
/// deterministic tests. Latency and faults are injectable; operations are counted.
/// Thread safety: thread-safe.
class fake_incus final : public incus_client {
 public:
  fake_incus();

  specs::result<std::optional<instance_info>> get_instance(const std::string& name) override;
  specs::result<bool> image_exists(const std::string& image) override;
  specs::status create_instance(const instance_spec& spec) override;
  specs::status start_instance(const std::string& name) override;
  specs::status stop_instance(const std::string& name) override;
  specs::status delete_instance(const std::string& name) override;
  specs::status update_instance(const std::string& name, const instance_update& update) override;
  specs::status set_proxy_device(const std::string& instance, const proxy_device& d) override;
  specs::status remove_proxy_device(const std::string& instance, const std::string& d) override;

  // -- test and development controls --
  void add_image(const std::string& image);
  /// Every start_instance sleeps this long (blocking, as a real start does).
  void set_start_latency(std::chrono::milliseconds d) { start_latency_ = d; }
  /// The next n calls of operation (e.g. "create", "start") fail with
  /// reason::unavailable and message (a default one when empty).
  void fail_next(const std::string& operation, int n = 1, std::string message = {});
  /// The next call of operation throws std::runtime_error (a crashing reconcile).
  void throw_next(const std::string& operation);
  /// Called at the start of every operation, by name (test hook).
  void on_operation(std::function<void(const std::string&)> hook);
  /// Simulates changes made behind the controller's back.
  void crash(const std::string& name);   // instance stops
  void vanish(const std::string& name);  // instance is deleted
  /// Creates an instance the controller does not own.
  void add_foreign_instance(const std::string& name);

  std::uint64_t creates() const { return creates_; }
  std::uint64_t starts() const { return starts_; }
  std::uint64_t operations() const { return operations_; }
  std::size_t instance_count() const;
  /// Operations in call order ("create demo", "delete demo", ...).
  std::vector<std::string> journal() const;

 private:
  specs::status enter(const std::string& op, const std::string& name);

  mutable std::mutex mu_;
  std::map<std::string, instance_info> instances_;
  std::set<std::string> images_;
  std::map<std::string, std::pair<int, std::string>> failures_;  // count, message
  std::set<std::string> throws_;
  std::function<void(const std::string&)> hook_;
  std::vector<std::string> journal_;
  std::chrono::milliseconds start_latency_{0};
  std::atomic<std::uint64_t> creates_{0}, starts_{0}, operations_{0};
};

/// In-memory route table: a route "answers" when present and identical.
class fake_routes final : public route_table {
 public:
  specs::status upsert(const route& r) override;
  specs::status remove(const std::string& id) override;
  specs::result<bool> answers(const route& r) override;

  void fail_next(int n = 1) { failures_ = n; }
  std::size_t size() const;
  bool contains(const std::string& id) const;
  void set_journal(std::function<void(const std::string&)> j) { journal_ = std::move(j); }

 private:
  mutable std::mutex mu_;
  std::map<std::string, route> routes_;
  int failures_ = 0;
  std::function<void(const std::string&)> journal_;
};

}  // namespace rockpool::runtime
