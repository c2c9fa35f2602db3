#pragma once

// Internal to the API server: a connection after a WebSocket upgrade. The
// socket's reads and writes stay on the server's I/O thread; the handler's
// session runs on a thread of its own and talks to it through the
// message_stream interface, with both directions bounded in bytes.

#include "rockpool/specs/subresource.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace rockpool::controller::detail {

/// Bytes queued per direction before the other side waits: a client that
/// reads slowly holds the session's writer, one that floods it stops being read.
inline constexpr std::size_t websocket_queue_bytes = 1 << 20;
/// The largest message a client may send.
inline constexpr std::size_t websocket_max_message = 1 << 20;

template <class Stream>
class websocket_session final : public specs::message_stream,
                                public std::enable_shared_from_this<websocket_session<Stream>> {
 public:
  explicit websocket_session(Stream stream) : ws_(std::move(stream)) {
    ws_.binary(true);
    ws_.read_message_max(websocket_max_message);
  }

  /// Accepts the upgrade, then runs serve on a thread of its own (on a closed
  /// session when the handshake failed); done() is called (on that thread)
  /// once it returned and the socket is closed.
  template <class Request>
  void start(const Request& req, std::function<void(specs::message_stream&)> serve,
             std::function<void()> done) {
    auto self = this->shared_from_this();
    ws_.async_accept(req, [self, serve = std::move(serve),
                           done = std::move(done)](boost::beast::error_code ec) mutable {
      // A failed handshake still runs serve, on a closed session: whatever
      // the handler holds for the session (a slot) is given back by it.
      if (ec)
        self->abort();
      else
        self->read_next();
      std::thread([self, serve = std::move(serve), done = std::move(done)] {
        serve(*self);
        self->close();
        self->wait_closed();
        done();
      }).detach();
    });
  }

  read_result read(std::string& message, std::chrono::milliseconds timeout) override {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, timeout, [&] { return !inbox_.empty() || peer_gone_; }))
      return read_result::timed_out;
    if (inbox_.empty()) return read_result::closed;
    message = std::move(inbox_.front());
    inbox_.pop_front();
    inbox_bytes_ -= message.size();
    if (paused_ && inbox_bytes_ < websocket_queue_bytes) {
      paused_ = false;
      boost::asio::post(ws_.get_executor(), [self = this->shared_from_this()] { self->read_next(); });
    }
    return read_result::message;
  }

  bool write(std::string message) override {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return outbox_bytes_ < websocket_queue_bytes || finished_; });
    if (finished_ || closing_) return false;
    outbox_bytes_ += message.size();
    lk.unlock();
    boost::asio::post(ws_.get_executor(),
                      [self = this->shared_from_this(), m = std::move(message)]() mutable {
                        self->outbox_.push_back(std::move(m));
                        self->write_next();
                      });
    return true;
  }

  void close() override {
    {
      std::lock_guard lk(mu_);
      if (closing_) return;
      closing_ = true;
    }
    boost::asio::post(ws_.get_executor(), [self = this->shared_from_this()] { self->write_next(); });
  }

  /// Closes the socket at once (server stop). I/O thread only.
  void abort() {
    boost::beast::error_code ec;
    boost::beast::get_lowest_layer(ws_).close(ec);
    finish();
  }

 private:
  void read_next() {
    ws_.async_read(in_, [self = this->shared_from_this()](boost::beast::error_code ec, std::size_t) {
      std::lock_guard lk(self->mu_);
      if (ec) {
        // A close frame or a hang-up ends a session; anything else is logged,
        // so a session cut short says why (docs/operations.md, Known problems).
        if (ec != boost::beast::websocket::error::closed && !self->closing_)
          spdlog::info("WebSocket session: reading from the client ended: {}", ec.message());
        self->peer_gone_ = true;
        self->cv_.notify_all();
        return;
      }
      auto m = boost::beast::buffers_to_string(self->in_.data());
      self->in_.consume(self->in_.size());
      self->inbox_bytes_ += m.size();
      self->inbox_.push_back(std::move(m));
      self->cv_.notify_all();
      if (self->inbox_bytes_ >= websocket_queue_bytes)
        self->paused_ = true;
      else
        self->read_next();
    });
  }

  // I/O thread: the next queued message, or the close once all are written.
  void write_next() {
    if (writing_ || finished_flag_) return;
    if (outbox_.empty()) {
      bool closing;
      {
        std::lock_guard lk(mu_);
        closing = closing_;
      }
      if (!closing) return;
      writing_ = true;
      return ws_.async_close(boost::beast::websocket::close_code::normal,
                             [self = this->shared_from_this()](boost::beast::error_code) {
                               self->abort();
                             });
    }
    writing_ = true;
    ws_.async_write(boost::asio::buffer(outbox_.front()),
                    [self = this->shared_from_this()](boost::beast::error_code ec, std::size_t n) {
                      self->writing_ = false;
                      self->outbox_.pop_front();
                      {
                        std::lock_guard lk(self->mu_);
                        self->outbox_bytes_ -= n;
                        self->cv_.notify_all();
                      }
                      if (ec) {
                        spdlog::warn("WebSocket session: writing to the client failed: {}",
                                     ec.message());
                        return self->abort();
                      }
                      self->write_next();
                    });
  }

  void finish() {
    finished_flag_ = true;
    std::lock_guard lk(mu_);
    finished_ = true;
    peer_gone_ = true;
    outbox_bytes_ = 0;
    cv_.notify_all();
  }

  void wait_closed() {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, std::chrono::seconds(10), [&] { return finished_; });
  }

  boost::beast::websocket::stream<Stream> ws_;
  boost::beast::flat_buffer in_;
  std::deque<std::string> outbox_;  // I/O thread only
  bool writing_ = false;            // I/O thread only
  bool finished_flag_ = false;      // I/O thread only
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> inbox_;
  std::size_t inbox_bytes_ = 0, outbox_bytes_ = 0;
  bool paused_ = false, peer_gone_ = false, closing_ = false, finished_ = false;
};

}  // namespace rockpool::controller::detail
