#pragma once

#include "rockpool/specs/object_store.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace rockpool::actors {

/// Records Kubernetes-style Events about objects in the store: a repeat of the
/// same (object, reason, message) bumps `count` and `lastTimestamp` instead of
/// adding an event. At most `retention` events are kept; the oldest go first.
///
/// The oldest are removed off the recording path, as Kubernetes expires its
/// events by a TTL rather than in the write that adds one: trim() removes
/// the surplus, and a thread started by trim_every() calls it once per
/// period while there is any. Only past a ceiling (a trimmer that cannot
/// keep up) does record() itself remove events: the oldest beyond it.
/// Thread safety: thread-safe.
class event_recorder {
 public:
  /// ceiling 0: default_ceiling(retention).
  event_recorder(specs::object_store& store, const specs::clock& clock, std::size_t retention,
                 std::size_t ceiling = 0);
  /// Ten retentions, at least 50,000.
  static std::size_t default_ceiling(std::size_t retention);
  /// Stops the trimming thread.
  ~event_recorder();

  /// type is "Normal" or "Warning"; reason is CamelCase. Failures are ignored
  /// (events are best-effort, as in Kubernetes).
  void record(const specs::json::value& object, const std::string& type, const std::string& reason,
              const std::string& message);

  /// Removes the oldest events beyond the retention; returns how many.
  std::size_t trim();
  /// Starts a thread that trims `period` after a surplus appears. Once.
  void trim_every(std::chrono::milliseconds period);
  /// Events recorded and not yet removed.
  std::size_t size();

 private:
  /// The stored events' names, oldest first, read once.
  void load_names();
  /// Takes the oldest names beyond `keep` off the list.
  std::vector<std::string> take_surplus(std::size_t keep);
  void remove(const std::vector<std::string>& names);

  specs::object_store& store_;
  const specs::clock& clock_;
  std::size_t retention_;
  std::size_t ceiling_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::string> names_;  // oldest first
  bool loaded_ = false;
  std::atomic<bool> stopping_{false};
  std::thread trimmer_;
};

}  // namespace rockpool::actors
