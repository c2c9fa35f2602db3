// The HTTP transport: asynchronous accept, read, write and timeouts on one
// I/O thread; request handlers on a thread pool; watch streams fed by the
// handler's watch thread through a byte-bounded queue per connection. This
// file: the listeners (unix socket, loopback TCP with TLS), start and stop;
// a connection's work is in connection.cpp.
#include "server_state.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace rockpool::controller {

using server_detail::listener_state;
using specs::make_error;
using specs::reason;

// How long stop() lets watch streams write their last chunks.
constexpr std::chrono::milliseconds stream_grace{5000};

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
      return make_error(reason::bad_request,
                        "--socket-group " + o.socket_group + ": no such group");
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
    return make_error(reason::bad_request,
                      o.listen_flag + " must be 127.0.0.1:PORT, got " + *o.listen);
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
    return make_error(reason::unavailable, "cannot listen on " + *o.listen + " (" + o.listen_flag +
                                               ")" + ": " + ec.message());
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
      i.close_all(true);
    });
    // WebSocket sessions end (their sockets are closed above), then handlers
    // still running finish (their responses go nowhere); none start.
    {
      std::unique_lock lk(i.sessions_mu);
      i.sessions_done.wait_for(lk, std::chrono::seconds(15), [&i] { return i.sessions == 0; });
    }
    i.workers.join();
    // The watches, ended above, write what they hold and their terminating
    // chunk (a client sees a clean end, not a cut), for a bounded time.
    std::promise<void> settled;
    asio::steady_timer timer(i.io);
    auto until = std::chrono::steady_clock::now() +
                 std::min<std::chrono::milliseconds>(i.options.write_timeout, stream_grace);
    asio::post(i.io, [&] { i.settle(timer, until, settled); });
    settled.get_future().wait();
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
