// rpctl exec NAME [-i] [-t] [--user U] -- CMD ARGS... and rpctl shell
// [KIND/]NAME: a command in a workspace over the API's exec WebSocket
// (workspaces/NAME/exec; the protocol is in docs/api.md#exec). Every
// WebSocket operation runs on this thread's io_context; standard input is
// read on a thread of its own and handed over.
#include "rockpool/cli/cli.hpp"

#include "rockpool/specs/json.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>

#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <deque>
#include <iostream>
#include <thread>

namespace rockpool::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;

namespace {

struct exec_flags {
  std::string target, user;
  std::vector<std::string> command;
  bool stdin_open = false, tty = false;
};

// The local terminal in raw mode while a -t session runs.
class raw_terminal {
 public:
  raw_terminal() {
    if (::isatty(0) == 0 || ::tcgetattr(0, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(0, TCSANOW, &raw) == 0;
  }
  ~raw_terminal() {
    if (active_) ::tcsetattr(0, TCSANOW, &saved_);
  }
  raw_terminal(const raw_terminal&) = delete;
  raw_terminal& operator=(const raw_terminal&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

std::pair<unsigned, unsigned> terminal_size() {
  winsize w{};
  if (::ioctl(1, TIOCGWINSZ, &w) == 0 && w.ws_col > 0) return {w.ws_col, w.ws_row};
  return {80, 24};
}

// One session over any WebSocket stream type.
template <class Websocket>
class session {
 public:
  session(asio::io_context& io, Websocket& ws, const exec_flags& f)
      : io_(io), ws_(ws), flags_(f), winch_(io, SIGWINCH) {}

  int run(std::ostream& err) {
    auto [width, height] = terminal_size();
    json::array command;
    for (const auto& c : flags_.command) command.push_back(json::string(c));
    json::object start{
        {"command", std::move(command)}, {"tty", flags_.tty}, {"stdin", flags_.stdin_open},
        {"user", flags_.user},           {"width", width},    {"height", height}};
    if (const char* term = std::getenv("TERM"); flags_.tty && term && *term)
      start["env"] = json::object{{"TERM", term}};
    send(json::serialize(start));
    read_next();
    if (flags_.tty) watch_window();
    if (flags_.stdin_open) read_stdin();
    io_.run();
    if (!error_.empty()) {
      err << "error: " << error_ << "\n";
      return 1;
    }
    return exit_code_;
  }

 private:
  void read_next() {
    ws_.async_read(in_, [this](beast::error_code ec, std::size_t) {
      if (ec) return finish("reading", ec);
      auto m = beast::buffers_to_string(in_.data());
      in_.consume(in_.size());
      if (!m.empty()) deliver(m);
      read_next();
    });
  }

  void deliver(const std::string& m) {
    if (m[0] == '\x01' || m[0] == '\x02') {
      auto fd = m[0] == '\x01' ? 1 : 2;
      for (std::size_t at = 1; at < m.size();) {
        auto n = ::write(fd, m.data() + at, m.size() - at);
        if (n <= 0) break;
        at += static_cast<std::size_t>(n);
      }
    } else if (m[0] == '\x03') {
      auto end = specs::parse_json(m.substr(1));
      if (end.ok() && specs::int_at(*end, "exitCode")) {
        exit_code_ = static_cast<int>(*specs::int_at(*end, "exitCode"));
        error_.clear();
      } else {
        error_ = end.ok() ? specs::string_at(*end, "error") : "malformed end of the session";
      }
      ended_ = true;
    }
  }

  // The session's end: after the server's end message, any close is normal.
  void finish(const char* while_doing, beast::error_code ec) {
    if (!ended_ && error_.empty())
      error_ = std::string("the connection to rockpoold ended early (") + while_doing + ": " +
               ec.message() + ")";
    winch_.cancel();
    io_.stop();
  }

  void send(std::string message) {
    outbox_.push_back(std::move(message));
    if (outbox_.size() == 1) write_next();
  }
  void write_next() {
    ws_.async_write(asio::buffer(outbox_.front()), [this](beast::error_code ec, std::size_t) {
      outbox_.pop_front();
      if (ec) return finish("writing", ec);
      if (!outbox_.empty()) write_next();
    });
  }

  void watch_window() {
    winch_.async_wait([this](beast::error_code ec, int) {
      if (ec) return;
      auto [w, h] = terminal_size();
      send(std::string(1, '\x04') + json::serialize(json::object{{"width", w}, {"height", h}}));
      watch_window();
    });
  }

  // Standard input on a thread of its own (a file, a pipe or a terminal);
  // detached, since a read of a terminal cannot be interrupted.
  void read_stdin() {
    std::thread([this] {
      char buf[16384];
      for (;;) {
        auto n = ::read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        std::string m(1, '\0');
        if (n > 0) m.append(buf, static_cast<std::size_t>(n));
        asio::post(io_, [this, m = std::move(m)]() mutable { send(std::move(m)); });
        if (n <= 0) return;
      }
    }).detach();
  }

  asio::io_context& io_;
  Websocket& ws_;
  const exec_flags& flags_;
  asio::signal_set winch_;
  beast::flat_buffer in_;
  std::deque<std::string> outbox_;
  int exit_code_ = 1;
  bool ended_ = false;
  std::string error_;
};

// Where the server is: unix socket path, or host, port and TLS, and the
// path prefix before /apis (a nested host's /workspace/NH/port/8080/api).
struct server_address {
  std::string socket, host, port, prefix;
  bool tls = false;
};

specs::result<server_address> parse_server(const std::string& url) {
  server_address a;
  if (url.starts_with("unix://")) {
    a.socket = url.substr(7);
    return a;
  }
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    return specs::make_error(specs::reason::bad_request, "cannot use --server " + url);
  a.tls = url.substr(0, scheme_end) == "https";
  auto rest = url.substr(scheme_end + 3);
  auto slash = rest.find('/');
  auto hostport = rest.substr(0, slash);
  if (slash != std::string::npos) a.prefix = rest.substr(slash);
  while (!a.prefix.empty() && a.prefix.back() == '/') a.prefix.pop_back();
  auto colon = hostport.rfind(':');
  a.host = hostport.substr(0, colon);
  a.port = colon == std::string::npos ? (a.tls ? "443" : "80") : hostport.substr(colon + 1);
  return a;
}

// Upgrades to the exec WebSocket; a refusal prints the server's Status.
template <class Websocket>
bool handshake(Websocket& ws, const std::string& host, const std::string& target,
               const std::string& token, std::ostream& err) {
  ws.set_option(
      beast::websocket::stream_base::decorator([token](beast::websocket::request_type& r) {
        if (!token.empty()) r.set(beast::http::field::authorization, "Bearer " + token);
      }));
  ws.binary(true);
  beast::websocket::response_type res;
  beast::error_code ec;
  ws.handshake(res, host, target, ec);
  if (!ec) return true;
  if (res.result_int() != 0 && res.result_int() != 101)
    err << server_error(client_response{res.result_int(), res.body(), {}}) << "\n";
  else
    err << "error: cannot reach rockpoold: " << ec.message() << "\n";
  return false;
}

int run_exec(context& c, const exec_flags& f) {
  auto slash = f.target.find('/');
  auto name = slash == std::string::npos ? f.target : f.target.substr(slash + 1);
  // A nested host's instance is its workspace's: nestedhost/NAME is workspace NAME.
  if (slash != std::string::npos && specs::find_kind(f.target.substr(0, slash)) == nullptr) {
    c.err << "error: unknown kind in " << f.target << "\n";
    return 2;
  }
  auto where = parse_server(c.client.options().server);
  if (!where.ok()) {
    c.err << "error: " << where.err().message << "\n";
    return 2;
  }
  auto target = where->prefix + resource_path(*specs::find_kind("workspace"), name, "exec");
  const auto& token = c.client.options().token;
  asio::io_context io;
  std::optional<raw_terminal> raw;
  try {
    if (!where->socket.empty()) {
      beast::websocket::stream<asio::local::stream_protocol::socket> ws(io);
      beast::get_lowest_layer(ws).connect(asio::local::stream_protocol::endpoint(where->socket));
      if (!handshake(ws, "localhost", target, token, c.err)) return 1;
      if (f.tty) raw.emplace();
      return session(io, ws, f).run(c.err);
    }
    asio::ip::tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(where->host, where->port);
    if (!where->tls) {
      beast::websocket::stream<asio::ip::tcp::socket> ws(io);
      asio::connect(beast::get_lowest_layer(ws), endpoints);
      if (!handshake(ws, where->host, target, token, c.err)) return 1;
      if (f.tty) raw.emplace();
      return session(io, ws, f).run(c.err);
    }
    asio::ssl::context tls(asio::ssl::context::tls_client);
    if (!c.client.options().ca_file.empty())
      tls.load_verify_file(c.client.options().ca_file);
    else
      tls.set_default_verify_paths();
    tls.set_verify_mode(asio::ssl::verify_peer);
    beast::websocket::stream<asio::ssl::stream<asio::ip::tcp::socket>> ws(io, tls);
    ws.next_layer().set_verify_callback(asio::ssl::host_name_verification(where->host));
    asio::connect(beast::get_lowest_layer(ws), endpoints);
    ws.next_layer().handshake(asio::ssl::stream_base::client);
    if (!handshake(ws, where->host, target, token, c.err)) return 1;
    if (f.tty) raw.emplace();
    return session(io, ws, f).run(c.err);
  } catch (const boost::system::system_error& e) {
    raw.reset();
    c.err << "error: cannot reach rockpoold at " << c.client.options().server << ": "
          << e.code().message() << "\n";
    return 1;
  } catch (const std::exception& e) {
    raw.reset();
    c.err << "error: cannot reach rockpoold at " << c.client.options().server << ": " << e.what()
          << "\n";
    return 1;
  }
}

}  // namespace

command define_exec(CLI::App& app) {
  auto f = std::make_shared<exec_flags>();
  auto* sub = app.add_subcommand(
      "exec", "Run a command in a workspace: rpctl exec NAME [-i] [-t] [--user U] -- CMD ARGS...");
  sub->add_option("NAME", f->target, "The workspace (or nestedhost/NAME)")->required();
  sub->add_option("command", f->command, "The command and its arguments, after --")->required();
  sub->add_flag("-i,--stdin", f->stdin_open, "Pass standard input to the command");
  sub->add_flag("-t,--tty", f->tty, "Give the command a terminal (raw mode here)");
  sub->add_option("--user", f->user, "Run as this user (name or uid; default dev, else root)");
  return {sub, [f](context& c) {
            // CLI11 keeps the "--" that ends rpctl's own flags.
            if (!f->command.empty() && f->command.front() == "--")
              f->command.erase(f->command.begin());
            if (f->command.empty()) {
              c.err << "error: exec needs a command: rpctl exec NAME -- CMD ARGS...\n";
              return 2;
            }
            // A terminal is read from too (the server gives a tty its stdin).
            if (f->tty) f->stdin_open = true;
            return run_exec(c, *f);
          }};
}

command define_shell(CLI::App& app) {
  auto f = std::make_shared<exec_flags>();
  auto* sub = app.add_subcommand(
      "shell", "An interactive login shell in a workspace or nested host (as dev where it exists)");
  sub->add_option("NAME", f->target, "The workspace, or nestedhost/NAME")->required();
  sub->add_option("--user", f->user, "Run as this user (name or uid; default dev, else root)");
  return {sub, [f](context& c) {
            f->tty = ::isatty(0) != 0;
            f->stdin_open = true;
            f->command = {"/bin/sh", "-c", "exec \"$(command -v bash || echo /bin/sh)\" -l"};
            return run_exec(c, *f);
          }};
}

}  // namespace rockpool::cli
