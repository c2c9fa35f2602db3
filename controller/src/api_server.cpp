#include "rockpool/controller/api_server.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <sys/stat.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

namespace rockpool::controller {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
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

template <class Stream>
class beast_chunk_sink final : public chunk_sink {
 public:
  explicit beast_chunk_sink(Stream& s) : stream_(s) {}
  bool send(std::string_view data) override {
    boost::system::error_code ec;
    asio::write(stream_, http::make_chunk(asio::buffer(data.data(), data.size())), ec);
    return !ec;
  }
  void finish() {
    boost::system::error_code ec;
    asio::write(stream_, http::make_chunk_last(), ec);
  }

 private:
  Stream& stream_;
};

http::response<http::string_body> to_beast(const http_response& r, unsigned version,
                                           bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "rockpoold");
  res.set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.keep_alive(keep_alive);
  res.body() = r.body;
  res.prepare_payload();
  return res;
}

}  // namespace

// Counts connection threads. Each thread co-owns it, so the thread can report
// its end after the server it served may already be gone.
struct thread_count {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t running = 0;
};

struct api_server::impl {
  api_handler& handler;
  server_options options;
  asio::io_context io;
  std::unique_ptr<asio::local::stream_protocol::acceptor> unix_acceptor;
  std::unique_ptr<asio::ip::tcp::acceptor> tcp_acceptor;
  std::vector<std::thread> accept_threads;
  bool bound_socket = false;  // the socket path is ours to remove

  std::mutex mu;
  std::condition_variable cv;
  std::set<int> open_fds;  // native handles, shut down on stop
  std::size_t live_connections = 0;
  bool stopping = false;
  std::shared_ptr<thread_count> threads = std::make_shared<thread_count>();

  impl(api_handler& h, server_options o) : handler(h), options(std::move(o)) {}

  bool track(int fd) {
    std::lock_guard lk(mu);
    if (stopping || live_connections >= options.max_connections) return false;
    open_fds.insert(fd);
    ++live_connections;
    return true;
  }
  void untrack(int fd) {
    std::lock_guard lk(mu);
    open_fds.erase(fd);
    --live_connections;
    cv.notify_all();
  }

  template <class Socket>
  void serve(Socket socket, bool tcp) {
    int fd = socket.native_handle();
    if (!track(fd)) return;
    try {
      session(socket, tcp);
    } catch (const std::exception& e) {
      spdlog::debug("connection ended: {}", e.what());
    }
    boost::system::error_code ec;
    socket.shutdown(Socket::shutdown_both, ec);
    untrack(fd);
    socket.close(ec);
  }

  template <class Socket>
  void session(Socket& socket, bool tcp) {
    beast::flat_buffer buffer;
    while (true) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options.max_body_bytes);
      parser.header_limit(64 * 1024);
      boost::system::error_code ec;
      http::read(socket, buffer, parser, ec);
      if (ec == http::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
          ec == asio::error::bad_descriptor)
        return;
      if (ec == http::error::body_limit) {
        auto r = api_handler::status_response(make_error(
            reason::too_large,
            "request body exceeds " + std::to_string(options.max_body_bytes >> 20) + " MiB"));
        auto res = to_beast(r, 11, false);
        http::write(socket, res, ec);
        // Let the client finish sending (bounded) so it reads the 413 instead
        // of a connection reset.
        socket.shutdown(Socket::shutdown_send, ec);
        char sink[65536];
        std::size_t drained = 0;
        while (!ec && drained < (16u << 20)) drained += socket.read_some(asio::buffer(sink), ec);
        return;
      }
      if (ec) {
        auto r = api_handler::status_response(
            make_error(reason::bad_request, "malformed HTTP request: " + ec.message()));
        auto res = to_beast(r, 11, false);
        http::write(socket, res, ec);
        return;
      }
      auto& req = parser.get();
      http_request hreq{std::string(req.method_string()), std::string(req.target()),
                        std::string(req[http::field::content_type]), std::move(req.body())};
      bool keep_alive = req.keep_alive();
      if (tcp && !authorized(req)) {
        auto r = api_handler::status_response(
            make_error(reason::unauthorized, "a valid bearer token is required"));
        r.headers["WWW-Authenticate"] = "Bearer";
        auto res = to_beast(r, req.version(), keep_alive);
        http::write(socket, res, ec);
        if (ec || !keep_alive) return;
        continue;
      }
      if (handler.is_watch(hreq)) {
        beast_chunk_sink<Socket> sink(socket);
        bool streaming = false;
        handler.stream(
            hreq,
            [&](const http_response& head) {
              if (head.status != 200) {
                auto res = to_beast(head, req.version(), false);
                boost::system::error_code wec;
                http::write(socket, res, wec);
                return false;
              }
              http::response<http::empty_body> res{http::status::ok, req.version()};
              res.set(http::field::server, "rockpoold");
              res.set(http::field::content_type, "application/json");
              res.chunked(true);
              res.keep_alive(false);
              http::response_serializer<http::empty_body> sr{res};
              boost::system::error_code wec;
              http::write_header(socket, sr, wec);
              streaming = !wec;
              return streaming;
            },
            sink);
        if (streaming) sink.finish();
        return;
      }
      auto resp = handler.handle(hreq);
      auto res = to_beast(resp, req.version(), keep_alive);
      http::write(socket, res, ec);
      if (ec || !keep_alive) return;
    }
  }

  template <class Request>
  bool authorized(const Request& req) const {
    auto target = req.target();
    // Probes carry no secrets and must work for health checkers without the token.
    if (target == "/healthz" || target == "/readyz") return true;
    auto auth = req[http::field::authorization];
    // The scheme is case-insensitive (RFC 9110, 11.1): "bearer" works too.
    constexpr std::string_view bearer = "bearer ";
    if (auth.size() <= bearer.size()) return false;
    for (std::size_t i = 0; i < bearer.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(auth[i])) != bearer[i]) return false;
    auto given = auth.substr(bearer.size());
    return !options.token.empty() &&
           constant_time_equal(std::string_view(given.data(), given.size()), options.token);
  }

  template <class Acceptor>
  void accept_loop(Acceptor& acceptor, bool tcp) {
    auto backoff = std::chrono::milliseconds(10);
    while (true) {
      boost::system::error_code ec;
      auto socket = acceptor.accept(ec);
      if (ec) {
        {
          std::lock_guard lk(mu);
          if (stopping) return;
        }
        // A persistent error (no file descriptors left) must not spin a core.
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
        continue;
      }
      backoff = std::chrono::milliseconds(10);
      {
        std::lock_guard lk(mu);
        if (stopping) return;  // the socket closes as it goes out of scope
      }
      {
        std::lock_guard lk(threads->mu);
        ++threads->running;
      }
      std::thread([this, count = threads, s = std::move(socket), tcp]() mutable {
        serve(std::move(s), tcp);
        // From here on `this` may be destroyed; only count is touched.
        std::lock_guard lk(count->mu);
        --count->running;
        count->cv.notify_all();
      }).detach();
    }
  }
};

api_server::api_server(api_handler& handler, server_options options)
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
    boost::system::error_code ec;
    probe.connect(ep, ec);
    if (!ec)
      return make_error(reason::unavailable,
                        "socket " + o.socket_path + " is served by a running process");
    fs::remove(o.socket_path);
  }
  auto old_mask = ::umask(0177);  // the socket is born owner-only
  impl_->unix_acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(impl_->io);
  impl_->unix_acceptor->open(ep.protocol());
  boost::system::error_code ec;
  impl_->unix_acceptor->bind(ep, ec);
  ::umask(old_mask);
  if (ec)
    return make_error(reason::unavailable, "cannot bind " + o.socket_path + ": " + ec.message());
  ::chmod(o.socket_path.c_str(), 0600);
  impl_->bound_socket = true;
  impl_->unix_acceptor->listen(128);
  return specs::done{};
}

// The loopback TCP listener: 127.0.0.1 or ::1 only, a port in 1-65535, a token.
specs::status api_server::bind_tcp() {
  auto& o = impl_->options;
  auto colon = o.listen->rfind(':');
  if (colon == std::string::npos)
    return make_error(reason::bad_request, "--listen must be 127.0.0.1:PORT, got " + *o.listen);
  auto host = o.listen->substr(0, colon);
  if (host != "127.0.0.1" && host != "localhost" && host != "[::1]" && host != "::1")
    return make_error(reason::bad_request,
                      "--listen binds loopback only (127.0.0.1 or ::1), got " + host);
  if (o.token.empty())
    return make_error(reason::bad_request, "--listen needs a bearer token (--token-file)");
  auto addr =
      asio::ip::make_address(host == "localhost" ? "127.0.0.1" : (host == "[::1]" ? "::1" : host));
  auto port_text = o.listen->substr(colon + 1);
  unsigned long port = 0;
  bool digits = !port_text.empty() && port_text.size() <= 5 &&
                port_text.find_first_not_of("0123456789") == std::string::npos;
  if (digits) port = std::stoul(port_text);
  if (!digits || port == 0 || port > 65535)
    return make_error(reason::bad_request,
                      "--listen port must be 1-65535, got \"" + port_text + "\"");
  asio::ip::tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  impl_->tcp_acceptor = std::make_unique<asio::ip::tcp::acceptor>(impl_->io);
  impl_->tcp_acceptor->open(ep.protocol());
  impl_->tcp_acceptor->set_option(asio::socket_base::reuse_address(true));
  boost::system::error_code ec;
  impl_->tcp_acceptor->bind(ep, ec);
  if (ec)
    return make_error(reason::unavailable, "cannot listen on " + *o.listen + ": " + ec.message());
  impl_->tcp_acceptor->listen(128);
  return specs::done{};
}

specs::status api_server::start() {
  try {
    if (!impl_->options.socket_path.empty())
      if (auto st = bind_unix(); !st.ok()) return st;
    if (impl_->options.listen)
      if (auto st = bind_tcp(); !st.ok()) return st;
  } catch (const std::exception& e) {
    return make_error(reason::unavailable, std::string("cannot start the API server: ") + e.what());
  }
  if (impl_->unix_acceptor)
    impl_->accept_threads.emplace_back(
        [this] { impl_->accept_loop(*impl_->unix_acceptor, false); });
  if (impl_->tcp_acceptor)
    impl_->accept_threads.emplace_back([this] { impl_->accept_loop(*impl_->tcp_acceptor, true); });
  return specs::done{};
}

unsigned short api_server::tcp_port() const {
  return impl_->tcp_acceptor ? impl_->tcp_acceptor->local_endpoint().port() : 0;
}

void api_server::stop() {
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->handler.stop();
  boost::system::error_code ec;
  // Closing a blocking acceptor from another thread does not wake accept();
  // shutting the listening fd down does.
  if (impl_->unix_acceptor) ::shutdown(impl_->unix_acceptor->native_handle(), SHUT_RDWR);
  if (impl_->tcp_acceptor) ::shutdown(impl_->tcp_acceptor->native_handle(), SHUT_RDWR);
  for (auto& t : impl_->accept_threads) t.join();
  if (impl_->unix_acceptor) impl_->unix_acceptor->close(ec);
  if (impl_->tcp_acceptor) impl_->tcp_acceptor->close(ec);
  {
    // No connection is tracked from now on (track() refuses while stopping);
    // the tracked ones are shut down, which ends their reads and writes.
    std::lock_guard lk(impl_->mu);
    for (int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);
  }
  // Every connection thread must be gone before the server is: they use it.
  auto count = impl_->threads;
  std::unique_lock lk(count->mu);
  count->cv.wait(lk, [&] { return count->running == 0; });
  // Only a socket this process bound: a daemon that failed to start must not
  // take the running daemon's socket away.
  if (impl_->bound_socket) std::filesystem::remove(impl_->options.socket_path, ec);
}

}  // namespace rockpool::controller
