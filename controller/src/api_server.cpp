// The HTTP transport: asynchronous accept, read, write and timeouts on one
// I/O thread; request handlers on a thread pool; watch streams fed by the
// handler's watch thread through a byte-bounded queue per connection.
#include "rockpool/controller/api_server.hpp"

#include "websocket_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace rockpool::controller {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using specs::make_error;
using specs::reason;

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Length is not secret (tokens have a fixed format); contents are.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

namespace {

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
};

// A watch stream's write or end, on its way to the I/O thread.
struct stream_item {
  std::shared_ptr<connection_base> conn;
  std::string framed;
  std::size_t payload = 0;
  bool finish = false;
};

// Bytes a client may still send after we answered and stopped reading (so it
// reads our response instead of a reset), and for how long.
constexpr std::size_t drain_after_reject = 256 << 10;
constexpr std::size_t drain_after_too_large = 16 << 20;
constexpr auto drain_time = std::chrono::seconds(2);
// Connections being answered 503 at once; beyond that they are just closed.
constexpr std::size_t max_rejecting = 1024;

bool is_disconnect(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
         ec == asio::error::bad_descriptor || ec == asio::error::broken_pipe;
}

std::string chunk_frame(const std::string& data) {
  char size[20];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out;
  out.reserve(static_cast<std::size_t>(n) + data.size() + 2);
  out.append(size, static_cast<std::size_t>(n));
  out += data;
  out += "\r\n";
  return out;
}

}  // namespace

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
  listener_state unix_listener, tcp_listener;
  // Every open connection, so stop() can close them (I/O thread only).
  std::unordered_map<connection_base*, std::shared_ptr<connection_base>> live;
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
  std::vector<stream_item> handover;
  std::deque<stream_item> unsent;  // taken over, not yet queued (I/O thread only)
  // Stream items queued per turn of the I/O thread: a fan-out to 1,000
  // watchers gives way to responses (a writer's acknowledgement) in between.
  static constexpr std::size_t items_per_turn = 64;

  void hand_over(stream_item item) {
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
  void accept(typename Protocol::acceptor& acceptor, listener_state& l);
  void start_connection(asio::local::stream_protocol::socket s, listener_state& l);
  void start_connection(asio::ip::tcp::socket s, listener_state& l);
  void close_all() {
    std::vector<std::shared_ptr<connection_base>> all;
    for (auto& [_, c] : live) all.push_back(c);
    for (auto& c : all) c->close();
  }
};

namespace {

// A watch stream's end of a connection: called from the handler's threads,
// it frames chunks, counts bytes and hands them to the I/O thread.
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

template <class S>
struct is_tls : std::false_type {};
template <class S>
struct is_tls<beast::ssl_stream<S>> : std::true_type {};

// One connection over Stream: a unix or TCP socket, or TLS over TCP.
template <class Stream>
class connection final : public connection_base,
                         public std::enable_shared_from_this<connection<Stream>> {
 public:
  connection(api_server::impl& s, listener_state& l, Stream stream)
      : server_(s),
        listener_(l),
        stream_(std::move(stream)),
        timer_(s.io),
        buffer_(s.options.max_header_bytes + (16 << 10)) {}

  asio::io_context& io() { return server_.io; }

  void start() {
    server_.live.emplace(this, this->shared_from_this());
    if constexpr (is_tls<Stream>::value) {
      // The handshake is bounded like a request header.
      arm(server_.options.header_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                if (ec || self->closed_) return self->close();
                                self->admit();
                              });
    } else {
      admit();
    }
  }

  void admit() {
    if (listener_.open >= listener_.max_connections) {
      if (server_.rejecting >= max_rejecting) return close();
      rejecting_ = true;
      ++server_.rejecting;
      auto r = api_handler::status_response(make_error(
          reason::unavailable, "too many connections on the " + listener_.name +
                                   " listener (limit " + std::to_string(listener_.max_connections) +
                                   "); retry later"));
      r.headers["Retry-After"] = "1";
      return respond(r, 11, false, drain_after_reject);
    }
    counted_ = true;
    ++listener_.open;
    wait_for_request();
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    ++timer_generation_;
    timer_.cancel();
    if (upgraded_) {
      upgraded_->abort();  // the session owns the socket now (this stream_ is moved from)
    } else {
      error_code ec;
      raw().shutdown(asio::socket_base::shutdown_both, ec);
      raw().close(ec);
    }
    if (client_) {
      client_->mark_gone();
      client_.reset();
    }
    if (counted_) --listener_.open;
    if (rejecting_) --server_.rejecting;
    server_.live.erase(this);  // callers hold a reference
  }

  void queue_stream(std::string framed, std::size_t payload) override {
    if (closed_) return;
    if (!streaming_) {
      streaming_ = true;
      outbox_ =
          "HTTP/1.1 200 OK\r\nServer: rockpoold\r\nContent-Type: application/json\r\n"
          "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
      notice_hangup();
      if constexpr (!is_tls<Stream>::value) {
        error_code ec;  // write_stream's direct writes must never block
        raw().non_blocking(true, ec);
        direct_writes_ = !ec;
      }
    }
    outbox_ += framed;
    outbox_payload_ += payload;
    write_stream();
  }
  void finish_stream() override {
    if (closed_) return;
    if (!streaming_) return close();
    finishing_ = true;
    write_stream();
  }

 private:
  // Waits, without a buffer, for the first byte of the next request.
  // The socket under any TLS layer.
  auto& raw() { return beast::get_lowest_layer(stream_); }

  void wait_for_request() {
    if (buffer_.size() > 0) return read_header();
    arm(server_.options.idle_timeout);
    if constexpr (is_tls<Stream>::value) {
      // Request bytes may already sit decrypted-to-be in the TLS layer's
      // buffers (a TLS 1.3 client sends its request with its Finished), so
      // the socket's readability says nothing: read the first bytes instead.
      return stream_.async_read_some(
          buffer_.prepare(4096), [self = this->shared_from_this()](error_code ec, std::size_t n) {
            if (ec || self->closed_) return self->close();
            self->buffer_.commit(n);
            self->read_header();
          });
    }
    raw().async_wait(asio::socket_base::wait_read,
                     [self = this->shared_from_this()](error_code ec) {
                       if (ec || self->closed_) return self->close();
                       self->read_header();
                     });
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);
    arm(server_.options.header_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (closed_) return;
    // The parser refuses a Content-Length over the body limit with the header
    // (whose fields it has read): the token still comes first.
    if (ec == http::error::body_limit) {
      if (listener_.needs_token && !authorized(parser_->get())) return unauthorized();
      return too_large();
    }
    if (ec) {
      if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
        return reject(reason::too_large,
                      "request header exceeds " +
                          std::to_string(server_.options.max_header_bytes >> 10) + " KiB");
      if (is_disconnect(ec) || ec == http::error::partial_message) return close();
      return reject(reason::bad_request, "malformed HTTP request: " + ec.message());
    }
    auto& req = parser_->get();
    version_ = req.version();
    if (listener_.needs_token && !authorized(req)) return unauthorized();
    if (auto length = parser_->content_length(); length && *length > server_.options.max_body_bytes)
      return too_large();
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      // The client waits for this before it sends the body.
      interim_ = "HTTP/1.1 100 Continue\r\n\r\n";
      arm(server_.options.write_timeout);
      return asio::async_write(stream_, asio::buffer(interim_),
                               [self = this->shared_from_this()](error_code wec, std::size_t) {
                                 if (wec || self->closed_) return self->close();
                                 self->read_body();
                               });
    }
    read_body();
  }

  void read_body() {
    arm(server_.options.body_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(error_code ec) {
    if (closed_) return;
    if (ec == http::error::body_limit) return too_large();
    if (ec) {
      if (is_disconnect(ec) || ec == http::error::partial_message) return close();
      return reject(reason::bad_request, "malformed HTTP request: " + ec.message());
    }
    disarm();  // the handler's time is bounded by the store, not by the client
    auto req = parser_->release();
    parser_.reset();
    keep_alive_ = req.keep_alive();
    http_request hreq{std::string(req.method_string()), std::string(req.target()),
                      std::string(req[http::field::content_type]), std::move(req.body()),
                      std::string(req[http::field::accept])};
    // The gateway's inputs, for a handler that reads them.
    if (server_.handler.reads_headers())
      for (const char* name : {"cookie", "x-forwarded-uri", "x-forwarded-method",
                               "x-forwarded-prefix", "x-forwarded-proto", "x-rockpool-public",
                               "x-rockpool-probe"})
        if (auto v = req[name]; !v.empty()) hreq.headers[name] = std::string(v);
    auto self = this->shared_from_this();
    if (server_.handler.takes_websockets() && beast::websocket::is_upgrade(req))
      return upgrade(std::move(req), std::move(hreq));
    if (server_.handler.is_watch(hreq)) {
      client_ = std::make_shared<stream_client>(server_, self);
      asio::post(server_.workers, [self, client = client_, hreq = std::move(hreq)] {
        auto refused = self->server_.handler.watch(hreq, client);
        if (refused)
          asio::post(self->io(), [self, r = std::move(*refused)] {
            if (self->client_) {
              self->client_->mark_gone();
              self->client_.reset();
            }
            self->respond(r, self->version_, self->keep_alive_, 0);
          });
      });
      return;
    }
    asio::post(server_.workers, [self, hreq = std::move(hreq)] {
      auto r = self->server_.handler.handle(hreq);
      asio::post(self->io(), [self, r = std::move(r)] {
        self->respond(r, self->version_, self->keep_alive_, 0);
      });
    });
  }

  // A WebSocket: the handler decides on a worker (it may read the store);
  // then the socket moves to a websocket_session, which this connection
  // keeps counted (and closes at a server stop) until the session ends.
  void upgrade(http::request<http::string_body> req, http_request hreq) {
    auto self = this->shared_from_this();
    asio::post(server_.workers, [self, req = std::move(req), hreq = std::move(hreq)]() mutable {
      auto served = self->server_.handler.upgrade(hreq);
      asio::post(self->io(), [self, req = std::move(req), served = std::move(served)]() mutable {
        if (self->closed_) return;
        if (!served.ok())
          return self->respond(api_handler::status_response(served.err()), self->version_, false,
                               0);
        {
          std::lock_guard lk(self->server_.sessions_mu);
          ++self->server_.sessions;
        }
        self->upgraded_ = std::make_shared<detail::websocket_session<Stream>>(std::move(self->stream_));
        auto& server = self->server_;
        self->upgraded_->start(req, std::move(*served), [self, &server] {
          asio::post(server.io, [self] { self->close(); });
          std::lock_guard lk(server.sessions_mu);
          --server.sessions;
          server.sessions_done.notify_all();
        });
      });
    });
  }

  void unauthorized() {
    auto r = api_handler::status_response(
        make_error(reason::unauthorized, "a valid bearer token is required"));
    r.headers["WWW-Authenticate"] = "Bearer";
    respond(r, version_, false, drain_after_reject);
  }

  void too_large() {
    auto r = api_handler::status_response(make_error(
        reason::too_large,
        "request body exceeds " + std::to_string(server_.options.max_body_bytes >> 20) + " MiB"));
    respond(r, version_, false, drain_after_too_large);
  }

  void reject(reason why, const std::string& message) {
    respond(api_handler::status_response(make_error(why, message)), version_, false,
            drain_after_reject);
  }

  // Writes a complete response; then reads the next request, or (closing)
  // drains up to `drain` bytes the client is still sending and closes.
  void respond(const http_response& r, unsigned version, bool keep_alive, std::size_t drain) {
    if (closed_) return;
    parser_.reset();
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version);
    res->set(http::field::server, "rockpoold");
    res->set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res->set(k, v);
    res->keep_alive(keep_alive);
    res->body() = r.body;
    res->prepare_payload();
    arm(server_.options.write_timeout);
    http::async_write(
        stream_, *res,
        [self = this->shared_from_this(), res, keep_alive, drain](error_code ec, std::size_t) {
          if (ec || self->closed_) return self->close();
          if (keep_alive) return self->wait_for_request();
          self->drain_and_close(drain);
        });
  }

  // Stops sending; reads and drops up to `budget` bytes the client still
  // sends (for at most drain_time), so it reads our response, then closes.
  void drain_and_close(std::size_t budget) {
    error_code ec;
    raw().shutdown(asio::socket_base::shutdown_send, ec);
    if (budget == 0 || ec) return close();
    arm(drain_time);
    drain(budget);
  }
  void drain(std::size_t budget) {
    stream_.async_read_some(asio::buffer(server_.discard), [self = this->shared_from_this(),
                                                            budget](error_code ec, std::size_t n) {
      if (ec || self->closed_ || n >= budget) return self->close();
      self->drain(budget - n);
    });
  }

  // During a watch the client sends nothing; a readable socket means it
  // closed (or misbehaves), and either way the stream ends.
  void notice_hangup() {
    raw().async_wait(asio::socket_base::wait_read,
                     [self = this->shared_from_this()](error_code ec) {
                       if (self->closed_ || ec == asio::error::operation_aborted) return;
                       self->close();
                     });
  }

  void write_stream() {
    if (writing_ || closed_) return;
    if (outbox_.empty()) {
      if (!finishing_) return disarm();
      if (terminated_) return drain_and_close(0);
      terminated_ = true;
      outbox_ = "0\r\n\r\n";
    }
    std::size_t payload = outbox_payload_;
    if (direct_writes_) {
      // Most writes fit the socket's buffer: made at once, they need no
      // timer and no completion handler, which halves a fan-out's time to
      // 1,000 watchers. What does not fit goes on asynchronously.
      error_code ec;
      auto n = raw().write_some(asio::buffer(outbox_), ec);
      if (ec && ec != asio::error::would_block && ec != asio::error::try_again) return close();
      if (n == outbox_.size()) {
        outbox_.clear();
        outbox_payload_ = 0;
        if (client_) client_->written(payload);
        return write_stream();
      }
      outbox_.erase(0, n);
    }
    writing_ = true;
    in_flight_.swap(outbox_);
    outbox_.clear();
    outbox_payload_ = 0;
    arm(server_.options.write_timeout);
    asio::async_write(stream_, asio::buffer(in_flight_),
                      [self = this->shared_from_this(), payload](error_code ec, std::size_t) {
                        self->writing_ = false;
                        self->in_flight_.clear();
                        if (self->client_) self->client_->written(payload);
                        if (ec || self->closed_) return self->close();
                        self->write_stream();
                      });
  }

  template <class Request>
  bool authorized(const Request& req) const {
    auto target = req.target();
    // Probes carry no secrets and must work for health checkers without the token.
    if (target == "/healthz" || target == "/readyz") return true;
    // The UI's files carry no data (the page asks for the token itself).
    if (target == "/app" || target.starts_with("/app/")) return true;
    auto auth = req[http::field::authorization];
    // The scheme is case-insensitive (RFC 9110, 11.1): "bearer" works too.
    constexpr std::string_view bearer = "bearer ";
    if (auth.size() <= bearer.size()) return false;
    if (!beast::iequals(auth.substr(0, bearer.size()), bearer)) return false;
    auto given = auth.substr(bearer.size());
    return !server_.options.token.empty() &&
           constant_time_equal(std::string_view(given.data(), given.size()), server_.options.token);
  }

  // One deadline at a time; a new one replaces the old. A generation guards
  // against a deadline that fired just before it was replaced.
  void arm(std::chrono::milliseconds d) {
    auto generation = ++timer_generation_;
    timer_.expires_after(d);
    timer_.async_wait([self = this->shared_from_this(), generation](error_code ec) {
      if (ec || generation != self->timer_generation_) return;
      self->close();
    });
  }
  void disarm() {
    ++timer_generation_;
    timer_.cancel();
  }

  api_server::impl& server_;
  listener_state& listener_;
  Stream stream_;
  asio::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool counted_ = false, rejecting_ = false, closed_ = false;
  std::string interim_;
  // The watch stream.
  bool direct_writes_ = false;  // plain socket in non-blocking mode: write at once
  std::shared_ptr<stream_client> client_;
  std::shared_ptr<detail::websocket_session<Stream>> upgraded_;  // after a WebSocket upgrade
  bool streaming_ = false, writing_ = false, finishing_ = false, terminated_ = false;
  std::string outbox_, in_flight_;
  std::size_t outbox_payload_ = 0;
};

}  // namespace

template <class Protocol>
void api_server::impl::accept(typename Protocol::acceptor& acceptor, listener_state& l) {
  acceptor.async_accept([this, &acceptor, &l](error_code ec, typename Protocol::socket s) {
    if (stopping) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // A persistent error (no file descriptors left) must not spin a core.
      spdlog::warn("accept on the {} listener failed: {}", l.name, ec.message());
      auto timer = std::make_shared<asio::steady_timer>(io, l.backoff);
      l.backoff = std::min(l.backoff * 2, std::chrono::milliseconds(1000));
      timer->async_wait([this, &acceptor, &l, timer](error_code) {
        if (!stopping) accept<Protocol>(acceptor, l);
      });
      return;
    }
    l.backoff = std::chrono::milliseconds(10);
    start_connection(std::move(s), l);
    accept<Protocol>(acceptor, l);
  });
}

void api_server::impl::start_connection(asio::local::stream_protocol::socket s, listener_state& l) {
  std::make_shared<connection<asio::local::stream_protocol::socket>>(*this, l, std::move(s))
      ->start();
}

void api_server::impl::start_connection(asio::ip::tcp::socket s, listener_state& l) {
  if (!tls)
    return std::make_shared<connection<asio::ip::tcp::socket>>(*this, l, std::move(s))->start();
  using tls_stream = beast::ssl_stream<asio::ip::tcp::socket>;
  std::make_shared<connection<tls_stream>>(*this, l, tls_stream(std::move(s), *tls))->start();
}

api_server::api_server(http_handler& handler, server_options options)
    : impl_(std::make_unique<impl>(handler, std::move(options))) {}

api_server::~api_server() {
  stop();
}

// The unix socket: refused when another process serves it, else created 0600.
specs::status api_server::bind_unix() {
  auto& o = impl_->options;
  namespace fs = std::filesystem;
  asio::local::stream_protocol::endpoint ep(o.socket_path);
  if (fs::exists(o.socket_path)) {
    asio::local::stream_protocol::socket probe(impl_->io);
    error_code ec;
    probe.connect(ep, ec);
    if (!ec)
      return make_error(reason::unavailable,
                        "socket " + o.socket_path + " is served by a running process");
    fs::remove(o.socket_path);
  }
  auto old_mask = ::umask(0177);  // the socket is born owner-only
  impl_->unix_acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(impl_->io);
  impl_->unix_acceptor->open(ep.protocol());
  error_code ec;
  impl_->unix_acceptor->bind(ep, ec);
  ::umask(old_mask);
  if (ec)
    return make_error(reason::unavailable, "cannot bind " + o.socket_path + ": " + ec.message());
  ::chmod(o.socket_path.c_str(), 0600);
  impl_->bound_socket = true;
  if (!o.socket_group.empty()) {
    struct group* g = ::getgrnam(o.socket_group.c_str());
    if (g == nullptr)
      return make_error(reason::bad_request, "--socket-group " + o.socket_group + ": no such group");
    if (::chown(o.socket_path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0 ||
        ::chmod(o.socket_path.c_str(), 0660) != 0)
      return make_error(reason::unavailable, "cannot give " + o.socket_path + " to group " +
                                                 o.socket_group + ": " + std::strerror(errno));
  }
  impl_->unix_acceptor->listen(asio::socket_base::max_listen_connections);
  return specs::done{};
}

// The loopback TCP listener: 127.0.0.1 or ::1 only, a port in 1-65535, a token.
specs::status api_server::bind_tcp() {
  auto& o = impl_->options;
  auto colon = o.listen->rfind(':');
  if (colon == std::string::npos)
    return make_error(reason::bad_request, o.listen_flag + " must be 127.0.0.1:PORT, got " + *o.listen);
  auto host = o.listen->substr(0, colon);
  if (host != "127.0.0.1" && host != "localhost" && host != "[::1]" && host != "::1")
    return make_error(reason::bad_request,
                      o.listen_flag + " binds loopback only (127.0.0.1 or ::1), got " + host);
  if (o.token.empty() && o.require_token)
    return make_error(reason::bad_request, "--listen needs a bearer token (--token-file)");
  auto addr =
      asio::ip::make_address(host == "localhost" ? "127.0.0.1" : (host == "[::1]" ? "::1" : host));
  auto port_text = o.listen->substr(colon + 1);
  unsigned long port = 0;
  bool digits = !port_text.empty() && port_text.size() <= 5 &&
                port_text.find_first_not_of("0123456789") == std::string::npos;
  if (digits) port = std::stoul(port_text);
  if (!digits || port > 65535)  // 0: any free port (tcp_port() tells which)
    return make_error(reason::bad_request,
                      o.listen_flag + " port must be 1-65535, got \"" + port_text + "\"");
  if (!o.tls_cert_file.empty()) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    error_code tec;
    ctx->use_certificate_chain_file(o.tls_cert_file, tec);
    if (!tec) ctx->use_private_key_file(o.tls_key_file, asio::ssl::context::pem, tec);
    if (tec)
      return make_error(reason::bad_request, "cannot use the TLS certificate " + o.tls_cert_file +
                                                 " and key " + o.tls_key_file + ": " +
                                                 tec.message());
    impl_->tls = std::move(ctx);
  }
  asio::ip::tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  impl_->tcp_acceptor = std::make_unique<asio::ip::tcp::acceptor>(impl_->io);
  impl_->tcp_acceptor->open(ep.protocol());
  impl_->tcp_acceptor->set_option(asio::socket_base::reuse_address(true));
  error_code ec;
  impl_->tcp_acceptor->bind(ep, ec);
  if (ec)
    return make_error(reason::unavailable, "cannot listen on " + *o.listen + " (" + o.listen_flag + ")" + ": " + ec.message());
  impl_->tcp_acceptor->listen(asio::socket_base::max_listen_connections);
  return specs::done{};
}

specs::status api_server::start() {
  try {
    // TCP first: its flags can be refused, and a daemon that fails must not
    // have made its unix socket connectable, even for a moment.
    if (impl_->options.listen)
      if (auto st = bind_tcp(); !st.ok()) return st;
    if (!impl_->options.socket_path.empty())
      if (auto st = bind_unix(); !st.ok()) return st;
  } catch (const std::exception& e) {
    return make_error(reason::unavailable, std::string("cannot start the API server: ") + e.what());
  }
  auto& i = *impl_;
  if (i.unix_acceptor) i.accept<asio::local::stream_protocol>(*i.unix_acceptor, i.unix_listener);
  if (i.tcp_acceptor) i.accept<asio::ip::tcp>(*i.tcp_acceptor, i.tcp_listener);
  i.work.emplace(i.io.get_executor());
  i.io_thread = std::thread([&i] {
    while (true) {
      try {
        i.io.run();
        return;
      } catch (const std::exception& e) {
        // A handler that throws must not take the server down with it.
        spdlog::error("API server I/O handler failed: {}", e.what());
      }
    }
  });
  return specs::done{};
}

unsigned short api_server::tcp_port() const {
  return impl_->tcp_acceptor ? impl_->tcp_acceptor->local_endpoint().port() : 0;
}

void api_server::stop() {
  auto& i = *impl_;
  if (i.stopping.exchange(true)) return;
  // Watches end first (their thread posts to the I/O thread, still running).
  i.handler.stop();
  if (i.io_thread.joinable()) {
    asio::post(i.io, [&i] {
      error_code ec;
      if (i.unix_acceptor) i.unix_acceptor->close(ec);
      if (i.tcp_acceptor) i.tcp_acceptor->close(ec);
      i.close_all();
    });
    // WebSocket sessions end (their sockets are closed above), then handlers
    // still running finish (their responses go nowhere); none start.
    {
      std::unique_lock lk(i.sessions_mu);
      i.sessions_done.wait_for(lk, std::chrono::seconds(15), [&i] { return i.sessions == 0; });
    }
    i.workers.join();
    asio::post(i.io, [&i] { i.close_all(); });
    i.work.reset();
    i.io.stop();
    i.io_thread.join();
  } else {
    i.workers.join();
  }
  // Only a socket this process bound: a daemon that failed to start must not
  // take the running daemon's socket away.
  error_code ec;
  if (i.bound_socket) std::filesystem::remove(i.options.socket_path, ec);
}

}  // namespace rockpool::controller
