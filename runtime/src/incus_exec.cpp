// Incus exec over its unix socket: POST /1.0/instances/NAME/exec with
// wait-for-websocket, then one websocket per stream (0, 1, 2, or 0 alone with
// a terminal) and one for control (window size, signals). Every websocket
// operation runs on the session's own I/O thread; callers post to it.
#include "incus_exec.hpp"

#include "rockpool/specs/json.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

namespace rockpool::runtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using specs::make_error;
using specs::reason;

namespace {

using websocket = beast::websocket::stream<asio::local::stream_protocol::socket>;

// One websocket of the session, with its queue of messages to write.
struct channel {
  explicit channel(asio::io_context& io) : ws(io) {}
  websocket ws;
  beast::flat_buffer in;
  std::deque<std::string> out;
  bool writing = false, close_after = false, closed = false;
};

class incus_exec_session final : public exec_session {
 public:
  incus_exec_session(std::string socket, std::string operation,
                     std::function<specs::result<int>()> wait_for_exit)
      : socket_(std::move(socket)),
        operation_(std::move(operation)),
        wait_for_exit_(std::move(wait_for_exit)) {}

  ~incus_exec_session() override {
    close_all();
    work_.reset();
    if (thread_.joinable()) thread_.join();
    if (waiter_.joinable()) waiter_.join();
  }

  // Connects the websockets named by fds (blocking, before the I/O thread
  // starts) and starts reading the output ones.
  specs::status connect(const json::object& fds, bool tty, const std::string& project) {
    for (const auto& kv : fds) {
      if (!kv.value().is_string()) continue;
      auto c = std::make_unique<channel>(io_);
      beast::error_code ec;
      beast::get_lowest_layer(c->ws).connect(asio::local::stream_protocol::endpoint(socket_), ec);
      if (!ec) {
        c->ws.binary(true);
        c->ws.handshake("incus", operation_ + "/websocket?secret=" +
                                     std::string(kv.value().get_string()) + "&project=" + project,
                        ec);
      }
      if (ec)
        return make_error(reason::unavailable,
                          "cannot attach to Incus exec (" + std::string(kv.key()) +
                              "): " + ec.message());
      channels_[std::string(kv.key())] = std::move(c);
    }
    // Output: the terminal (fd 0, both ways) or stdout and stderr.
    for (const char* fd : tty ? std::vector<const char*>{"0"} : std::vector<const char*>{"1", "2"})
      if (auto it = channels_.find(fd); it != channels_.end()) {
        ++reading_;
        read_next(fd[0] == '2' ? 2 : 1, *it->second);
      }
    if (!tty)
      if (auto it = channels_.find("0"); it != channels_.end()) stdin_ = it->second.get();
    if (tty) stdin_ = channels_["0"].get();
    control_ = channels_.count("control") ? channels_["control"].get() : nullptr;
    thread_ = std::thread([this] { io_.run(); });
    // Incus keeps a terminal's websocket open after the command ended: the
    // operation's end is what ends the session (its output gets a moment to
    // arrive first).
    waiter_ = std::thread([this] {
      auto code = wait_for_exit_();
      {
        std::unique_lock lk(mu_);
        exit_ = std::move(code);
        ready_.wait_for(lk, std::chrono::milliseconds(300), [&] { return reading_ == 0; });
      }
      close_all();
      std::lock_guard lk(mu_);
      reading_ = 0;
      ready_.notify_all();
    });
    return specs::done{};
  }

  void write_stdin(std::string bytes) override { send(stdin_, std::move(bytes), false); }
  void close_stdin() override {
    // Incus reads the close of a non-terminal stdin websocket as EOF; a
    // terminal gets Ctrl-D instead (its websocket carries the output too).
    if (stdin_ != nullptr && stdin_ == channels_["0"].get() && channels_.count("1"))
      send(stdin_, {}, true);
    else
      send(stdin_, "\x04", false);
  }
  void resize(unsigned width, unsigned height) override {
    json::value m = {{"command", "window-resize"},
                     {"args", {{"width", std::to_string(width)}, {"height", std::to_string(height)}}}};
    send(control_, json::serialize(m), false);
  }
  void signal(int signal_number) override {
    json::value m = {{"command", "signal"}, {"signal", signal_number}};
    send(control_, json::serialize(m), false);
  }

  bool read(int& fd, std::string& bytes) override {
    std::unique_lock lk(mu_);
    ready_.wait(lk, [&] { return !output_.empty() || reading_ == 0; });
    if (output_.empty()) return false;
    fd = output_.front().first;
    bytes = std::move(output_.front().second);
    output_.pop_front();
    return true;
  }

  specs::result<int> wait() override {
    std::unique_lock lk(mu_);
    ready_.wait(lk, [&] { return exit_.has_value() && reading_ == 0; });
    return *exit_;
  }

 private:
  void close_all() {
    asio::post(io_, [this] {
      for (auto& [fd, c] : channels_) {
        beast::error_code ec;
        c->closed = true;
        beast::get_lowest_layer(c->ws).close(ec);
      }
    });
  }

  void read_next(int fd, channel& c) {
    c.ws.async_read(c.in, [this, fd, &c](beast::error_code ec, std::size_t) {
      std::lock_guard lk(mu_);
      if (ec) {
        if (reading_ > 0) --reading_;
        ready_.notify_all();
        return;
      }
      // An empty message is Incus's end of a stream ("barrier"): this side
      // closes it, which a terminal's operation waits for before it ends.
      if (c.in.size() == 0) {
        if (reading_ > 0) --reading_;
        ready_.notify_all();
        c.close_after = true;
        return write_next(c);
      }
      output_.emplace_back(fd, beast::buffers_to_string(c.in.data()));
      c.in.consume(c.in.size());
      ready_.notify_all();
      read_next(fd, c);
    });
  }

  void send(channel* c, std::string message, bool close_after) {
    if (c == nullptr) return;
    asio::post(io_, [this, c, message = std::move(message), close_after]() mutable {
      if (c->closed) return;
      if (!message.empty()) c->out.push_back(std::move(message));
      c->close_after = c->close_after || close_after;
      write_next(*c);
    });
  }

  void write_next(channel& c) {
    if (c.writing || c.closed) return;
    if (c.out.empty()) {
      if (!c.close_after) return;
      c.closed = true;
      return c.ws.async_close(beast::websocket::close_code::normal, [](beast::error_code) {});
    }
    c.writing = true;
    c.ws.async_write(asio::buffer(c.out.front()), [this, &c](beast::error_code ec, std::size_t) {
      c.writing = false;
      c.out.pop_front();
      if (ec) {
        c.closed = true;
        c.out.clear();
        return;
      }
      write_next(c);
    });
  }

  std::string socket_, operation_;
  std::function<specs::result<int>()> wait_for_exit_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  std::thread thread_, waiter_;
  std::optional<specs::result<int>> exit_;
  std::map<std::string, std::unique_ptr<channel>> channels_;
  channel* stdin_ = nullptr;
  channel* control_ = nullptr;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::pair<int, std::string>> output_;
  int reading_ = 0;
};

}  // namespace

specs::result<std::unique_ptr<exec_session>> attach_exec(
    const std::string& socket, const std::string& project, const std::string& operation,
    const json::object& fds, bool tty, std::function<specs::result<int>()> wait_for_exit) {
  auto s = std::make_unique<incus_exec_session>(socket, operation, std::move(wait_for_exit));
  if (auto st = s->connect(fds, tty, project); !st.ok()) return st.err();
  return std::unique_ptr<exec_session>(std::move(s));
}

}  // namespace rockpool::runtime
