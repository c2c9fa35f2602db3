#pragma once

#include "rockpool/specs/object_store.hpp"

#include <deque>
#include <mutex>
#include <string>

namespace rockpool::actors {

/// Records Kubernetes-style Events about objects in the store: a repeat of the
/// same (object, reason, message) bumps `count` and `lastTimestamp` instead of
/// adding an event. At most `retention` events are kept; the oldest go first.
/// Thread safety: thread-safe.
class event_recorder {
 public:
  event_recorder(specs::object_store& store, const specs::clock& clock, std::size_t retention);

  /// type is "Normal" or "Warning"; reason is CamelCase. Failures are ignored
  /// (events are best-effort, as in Kubernetes).
  void record(const specs::json::value& object, const std::string& type, const std::string& reason,
              const std::string& message);

 private:
  /// The stored events' names, oldest first, read once.
  void load_names();

  specs::object_store& store_;
  const specs::clock& clock_;
  std::size_t retention_;
  std::mutex mu_;
  std::deque<std::string> names_;  // oldest first
  bool loaded_ = false;
};

}  // namespace rockpool::actors
