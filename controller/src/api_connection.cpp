// One connection of the HTTP server: reading a request (header, body,
// limits, timeouts), authorising it, handing it to the handler's threads,
// writing the answer, watch streams, WebSocket upgrades, and draining a
// client that is refused. The listeners are in api_server.cpp.
#include "api_server_impl.hpp"

#include "websocket_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl.hpp>

#include <cstdio>

namespace rockpool::controller {

using specs::make_error;
using specs::reason;
using namespace server_detail;

namespace {

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

}  // namespace rockpool::controller
