#pragma once
// A watch stream's two ends. stream_client is the handler's end: called from
// the handler's threads, it frames chunks, counts the bytes not yet written
// and hands them to the I/O thread. chunked_writer is the connection's end,
// on the I/O thread: it writes the response head, then the chunks, at once
// when the socket takes them, else asynchronously under the write deadline,
// and the terminating chunk when the stream ends.
#include "server_state.hpp"

#include <boost/asio/write.hpp>

#include <cstdio>

namespace rockpool::controller::server_detail {

inline std::string chunk_frame(const std::string& data) {
  char size[20];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out;
  out.reserve(static_cast<std::size_t>(n) + data.size() + 2);
  out.append(size, static_cast<std::size_t>(n));
  out += data;
  out += "\r\n";
  return out;
}

class stream_client final : public watch_client {
 public:
  stream_client(api_server::impl& server, std::shared_ptr<connection_base> c)
      : server_(server), conn_(std::move(c)) {}
  std::size_t pending_bytes() const override { return pending_; }
  void send(std::string chunk) override {
    pending_ += chunk.size();
    auto size = chunk.size();
    server_.hand_over({conn_, chunk.empty() ? std::string() : chunk_frame(chunk), size, false});
  }
  void finish() override { server_.hand_over({conn_, {}, 0, true}); }
  bool gone() const override { return gone_; }

  void written(std::size_t n) { pending_ -= n; }
  void mark_gone() { gone_ = true; }

 private:
  api_server::impl& server_;
  std::shared_ptr<connection_base> conn_;
  std::atomic<std::size_t> pending_{0};
  std::atomic<bool> gone_{false};
};

/// Owner (the connection) provides: stream() and raw() (the socket under any
/// TLS layer), closed(), close(), arm_write() and disarm() (its deadline),
/// streamed(bytes) (payload written), drain_and_close(0), and
/// shared_from_this(). Plain sockets write directly when `direct`.
template <class Owner>
class chunked_writer {
 public:
  explicit chunked_writer(Owner& owner) : owner_(owner) {}

  bool started() const { return started_; }
  /// The response head goes before the first chunk. `direct`: the socket is
  /// in non-blocking mode, so pump() may write without waiting.
  void start(bool direct) {
    started_ = true;
    direct_ = direct;
    outbox_ =
        "HTTP/1.1 200 OK\r\nServer: rockpoold\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  }
  void append(const std::string& framed, std::size_t payload) {
    outbox_ += framed;
    outbox_payload_ += payload;
  }
  /// The stream ends once what is queued is written.
  void finish() { finishing_ = true; }

  void pump() {
    if (writing_ || owner_.closed()) return;
    if (outbox_.empty()) {
      if (!finishing_) return owner_.disarm();
      if (terminated_) return owner_.drain_and_close(0);
      terminated_ = true;
      outbox_ = "0\r\n\r\n";
    }
    std::size_t payload = outbox_payload_;
    if (direct_) {
      // Most writes fit the socket's buffer: made at once, they need no
      // timer and no completion handler, which halves a fan-out's time to
      // 1,000 watchers. What does not fit goes on asynchronously.
      boost::system::error_code ec;
      auto n = owner_.raw().write_some(boost::asio::buffer(outbox_), ec);
      if (ec && ec != boost::asio::error::would_block && ec != boost::asio::error::try_again)
        return owner_.close();
      if (n == outbox_.size()) {
        outbox_.clear();
        outbox_payload_ = 0;
        owner_.streamed(payload);
        return pump();
      }
      outbox_.erase(0, n);
    }
    writing_ = true;
    in_flight_.swap(outbox_);
    outbox_.clear();
    outbox_payload_ = 0;
    owner_.arm_write();
    boost::asio::async_write(owner_.stream(), boost::asio::buffer(in_flight_),
                             [self = owner_.shared_from_this(), this, payload](
                                 boost::system::error_code ec, std::size_t) {
                               writing_ = false;
                               in_flight_.clear();
                               owner_.streamed(payload);
                               if (ec || owner_.closed()) return owner_.close();
                               pump();
                             });
  }

 private:
  Owner& owner_;
  bool started_ = false, direct_ = false, writing_ = false, finishing_ = false, terminated_ = false;
  std::string outbox_, in_flight_;
  std::size_t outbox_payload_ = 0;
};

}  // namespace rockpool::controller::server_detail
