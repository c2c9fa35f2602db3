#pragma once

// A watch client for tests of the API handler's watches.

#include "rockpool/controller/api_handler.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

namespace rockpool::test_support {

// A watch client that keeps what it is sent. `drains` false: nothing it is
// sent is ever written, as with a client that stopped reading.
struct collected : controller::watch_client {
  explicit collected(bool drains = true) : drains_(drains) {}
  std::size_t pending_bytes() const override { return drains_ ? 0 : size(); }
  void send(std::string chunk) override {
    std::lock_guard lk(mu_);
    data_ += chunk;
    ++sends_;
    cv_.notify_all();
  }
  void finish() override {
    std::lock_guard lk(mu_);
    finished_ = true;
    cv_.notify_all();
  }
  bool gone() const override { return false; }

  std::string data() const {
    std::lock_guard lk(mu_);
    return data_;
  }
  std::size_t size() const {
    std::lock_guard lk(mu_);
    return data_.size();
  }
  /// Waits (bounded) until the stream ended; true iff it did.
  bool wait_finished(std::chrono::seconds limit = std::chrono::seconds(10)) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, limit, [&] { return finished_; });
  }
  /// Waits (bounded) until n events have arrived; true iff they did.
  bool wait_for_lines(std::size_t n, std::chrono::seconds limit = std::chrono::seconds(10)) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, limit, [&] {
      return static_cast<std::size_t>(std::count(data_.begin(), data_.end(), '\n')) >= n;
    });
  }
  /// Waits (bounded) until `text` has arrived; true iff it did.
  bool wait_for(const std::string& text, std::chrono::seconds limit = std::chrono::seconds(10)) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, limit, [&] { return data_.find(text) != std::string::npos; });
  }

 private:
  bool drains_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string data_;
  std::size_t sends_ = 0;
  bool finished_ = false;
};

}  // namespace rockpool::test_support
