#pragma once
// What the HTTP server's parts share (server.cpp: listeners, start and stop;
// connection.cpp: one connection's reads, writes and upgrades;
// watch_stream.hpp: a watch's chunked writes): the server's state and what it
// knows of a connection.
#include "rockpool/controller/api_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace rockpool::controller {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace server_detail {

// One listening socket's limit and count (touched on the I/O thread only).
struct listener_state {
  std::string name;  // "unix" or "tcp", for messages
  bool needs_token = false;
  std::size_t max_connections = 0;
  std::size_t open = 0;
  std::chrono::milliseconds backoff{10};  // after a failed accept
};

// What stop() needs of a connection, whatever its socket type.
class connection_base {
 public:
  virtual ~connection_base() = default;
  virtual void close() = 0;
  /// Watch stream: writes `framed` (chunk-encoded bytes carrying `payload`
  /// bytes of events) after what is queued, the response head first.
  virtual void queue_stream(std::string framed, std::size_t payload) = 0;
  /// Watch stream: ends it once the queue is written.
  virtual void finish_stream() = 0;
  /// An open watch stream (it closes itself once finished and written).
  virtual bool streaming() const = 0;
};

// A watch stream's write or end, on its way to the I/O thread.
struct stream_item {
  std::shared_ptr<connection_base> conn;
  std::string framed;
  std::size_t payload = 0;
  bool finish = false;
};

}  // namespace server_detail

struct api_server::impl {
  http_handler& handler;
  server_options options;
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  asio::thread_pool workers;
  std::thread io_thread;
  std::unique_ptr<asio::local::stream_protocol::acceptor> unix_acceptor;
  std::unique_ptr<asio::ip::tcp::acceptor> tcp_acceptor;
  std::unique_ptr<asio::ssl::context> tls;  // HTTPS on TCP; null: plain HTTP
  server_detail::listener_state unix_listener, tcp_listener;
  // Every open connection, so stop() can close them (I/O thread only).
  std::unordered_map<server_detail::connection_base*,
                     std::shared_ptr<server_detail::connection_base>>
      live;
  std::size_t rejecting = 0;
  std::atomic<bool> stopping{false};
  // WebSocket sessions whose threads still run (stop() waits for them).
  std::mutex sessions_mu;
  std::condition_variable sessions_done;
  std::size_t sessions = 0;
  bool bound_socket = false;  // the socket path is ours to remove
  char discard[64 << 10];     // drained bytes land here (I/O thread only)

  impl(http_handler& h, server_options o)
      : handler(h),
        options(std::move(o)),
        workers(std::max<std::size_t>(options.handler_threads, 1)) {
    unix_listener = {"unix", false, options.max_unix_connections};
    tcp_listener = {"tcp", options.require_token, options.max_tcp_connections};
  }

  // Watch output from other threads, handed to the I/O thread in batches:
  // one wake-up for a round of the watch thread, not one per watcher.
  std::mutex handover_mu;
  std::vector<server_detail::stream_item> handover;
  std::deque<server_detail::stream_item> unsent;  // taken over, not yet queued (I/O thread only)
  // Stream items queued per turn of the I/O thread: a fan-out to 1,000
  // watchers gives way to responses (a writer's acknowledgement) in between.
  static constexpr std::size_t items_per_turn = 64;

  void hand_over(server_detail::stream_item item) {
    bool first = false;
    {
      std::lock_guard lk(handover_mu);
      first = handover.empty();
      handover.push_back(std::move(item));
    }
    if (first) asio::post(io, [this] { queue_unsent(); });  // else one is on its way
  }

  void queue_unsent() {
    {
      std::lock_guard lk(handover_mu);
      for (auto& i : handover) unsent.push_back(std::move(i));
      handover.clear();
    }
    for (std::size_t n = 0; n < items_per_turn && !unsent.empty(); ++n) {
      auto i = std::move(unsent.front());
      unsent.pop_front();
      if (i.finish)
        i.conn->finish_stream();
      else
        i.conn->queue_stream(std::move(i.framed), i.payload);
    }
    if (!unsent.empty()) asio::post(io, [this] { queue_unsent(); });
  }

  template <class Protocol>
  void accept(typename Protocol::acceptor& acceptor, server_detail::listener_state& l);
  void start_connection(asio::local::stream_protocol::socket s, server_detail::listener_state& l);
  void start_connection(asio::ip::tcp::socket s, server_detail::listener_state& l);
  // spare_streams: watch streams stay open to write their last chunks.
  void close_all(bool spare_streams = false) {
    std::vector<std::shared_ptr<server_detail::connection_base>> all;
    for (auto& [_, c] : live)
      if (!spare_streams || !c->streaming()) all.push_back(c);
    for (auto& c : all) c->close();
  }
  // Closes every connection once the watch streams have written their
  // terminating chunks, or at `until`; then fulfils `done`.
  void settle(asio::steady_timer& timer, std::chrono::steady_clock::time_point until,
              std::promise<void>& done) {
    close_all(true);
    bool streams =
        std::any_of(live.begin(), live.end(), [](const auto& c) { return c.second->streaming(); });
    if (!streams || std::chrono::steady_clock::now() >= until) {
      close_all();
      return done.set_value();
    }
    timer.expires_after(std::chrono::milliseconds(10));
    timer.async_wait(
        [this, &timer, until, &done](boost::system::error_code) { settle(timer, until, done); });
  }
};

}  // namespace rockpool::controller
