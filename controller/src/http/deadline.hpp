#pragma once
// One connection's deadline: one timer, one deadline at a time. A new
// deadline replaces the old; a generation guards against a deadline that
// fired just before it was replaced or cancelled.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>

namespace rockpool::controller::server_detail {

class deadline {
 public:
  explicit deadline(boost::asio::io_context& io) : timer_(io) {}

  /// Calls on_expire after d, unless arm() or cancel() comes first.
  /// on_expire must keep the deadline's owner alive (hold a shared_ptr).
  template <class F>
  void arm(std::chrono::milliseconds d, F on_expire) {
    auto generation = ++generation_;
    timer_.expires_after(d);
    timer_.async_wait(
        [this, generation, f = std::move(on_expire)](boost::system::error_code ec) mutable {
          if (ec || generation != generation_) return;
          f();
        });
  }
  void cancel() {
    ++generation_;
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  std::uint64_t generation_ = 0;
};

}  // namespace rockpool::controller::server_detail
