// One connection of the HTTP server: the TLS handshake and admission,
// reading a request (header, body, limits, timeouts), authorising it, handing
// it to the handler's threads, writing the answer, WebSocket upgrades, and
// draining a client that is refused. Beside it: deadline.hpp (its one
// timer), watch_stream.hpp (a watch's chunked writes), websocket_session.hpp
// (after an upgrade); the listeners are in server.cpp.
#include "deadline.hpp"
#include "server_state.hpp"
#include "watch_stream.hpp"
#include "websocket_session.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl.hpp>

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

// A request on a listener that needs the token: probes and the UI's files
// carry no secrets; everything else needs "Bearer TOKEN".
bool authorized(const http::request_header<>& req, const std::string& token) {
  auto target = req.target();
  if (target == "/healthz" || target == "/readyz") return true;
  // The UI's files carry no data (the page asks for the token itself).
  if (target == "/app" || target.starts_with("/app/")) return true;
  auto auth = req[http::field::authorization];
  // The scheme is case-insensitive (RFC 9110, 11.1): "bearer" works too.
  constexpr std::string_view bearer = "bearer ";
  if (auth.size() <= bearer.size()) return false;
  if (!beast::iequals(auth.substr(0, bearer.size()), bearer)) return false;
  auto given = auth.substr(bearer.size());
  return !token.empty() && constant_time_equal(std::string_view(given.data(), given.size()), token);
}

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
        deadline_(s.io),
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
    deadline_.cancel();
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
    if (!writer_.started()) {
      notice_hangup();
      bool direct = false;
      if constexpr (!is_tls<Stream>::value) {
        error_code ec;  // direct writes must never block
        raw().non_blocking(true, ec);
        direct = !ec;
      }
      writer_.start(direct);
    }
    writer_.append(framed, payload);
    writer_.pump();
  }
  bool streaming() const override { return !closed_ && writer_.started(); }
  void finish_stream() override {
    if (closed_) return;
    if (!writer_.started()) return close();
    writer_.finish();
    writer_.pump();
  }

  // What the chunked_writer asks of its connection.
  Stream& stream() { return stream_; }
  // The socket under any TLS layer.
  auto& raw() { return beast::get_lowest_layer(stream_); }
  bool closed() const { return closed_; }
  void arm_write() { arm(server_.options.write_timeout); }
  void streamed(std::size_t payload) {
    if (client_) client_->written(payload);
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
  void disarm() { deadline_.cancel(); }

 private:
  // Waits, without a buffer, for the first byte of the next request.

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
      if (listener_.needs_token && !authorized(parser_->get(), server_.options.token))
        return unauthorized();
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
    if (listener_.needs_token && !authorized(req, server_.options.token)) return unauthorized();
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
      for (const char* name :
           {"cookie", "x-forwarded-uri", "x-forwarded-method", "x-forwarded-prefix",
            "x-forwarded-proto", "x-rockpool-public", "x-rockpool-probe"})
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
    if (server_.handler.answers_at_once(hreq))
      return respond(server_.handler.handle(hreq), version_, keep_alive_, 0);
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
        self->upgraded_ =
            std::make_shared<detail::websocket_session<Stream>>(std::move(self->stream_));
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

  void arm(std::chrono::milliseconds d) {
    deadline_.arm(d, [self = this->shared_from_this()] { self->close(); });
  }

  api_server::impl& server_;
  listener_state& listener_;
  Stream stream_;
  deadline deadline_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool counted_ = false, rejecting_ = false, closed_ = false;
  std::string interim_;
  std::shared_ptr<stream_client> client_;                        // a watch's handler end
  chunked_writer<connection> writer_{*this};                     // a watch's connection end
  std::shared_ptr<detail::websocket_session<Stream>> upgraded_;  // after a WebSocket upgrade
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
