#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace rockpool::runtime {

/// Follows Incus's lifecycle events over a websocket on its unix socket
/// (`/1.0/events?type=lifecycle&project=P`) on a thread of its own, and calls
/// on_instance(name, action) for instance-* events (instance-stopped,
/// instance-shutdown, instance-deleted, instance-updated, ...). Reconnects
/// with backoff (100 ms doubling to 5 s) and calls on_reconnect() after every
/// connection but the first, since events may have been missed meanwhile.
class incus_event_listener {
 public:
  incus_event_listener(std::string socket, std::string project,
                       std::function<void(const std::string&, const std::string&)> on_instance,
                       std::function<void()> on_reconnect);
  ~incus_event_listener();
  void start();
  void stop();
  /// Connections made so far (tests).
  std::uint64_t connections() const { return connections_; }

 private:
  void run();
  std::string socket_, project_;
  std::function<void(const std::string&, const std::string&)> on_instance_;
  std::function<void()> on_reconnect_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> fd_{-1};
  std::atomic<std::uint64_t> connections_{0};
  std::thread thread_;
};

}  // namespace rockpool::runtime
