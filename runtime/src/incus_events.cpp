#include "rockpool/runtime/incus_events.hpp"

#include "rockpool/specs/codec.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

namespace rockpool::runtime {

namespace asio = boost::asio;
namespace beast = boost::beast;

incus_event_listener::incus_event_listener(
    std::string socket, std::string project,
    std::function<void(const std::string&, const std::string&)> on_instance,
    std::function<void()> on_reconnect)
    : socket_(std::move(socket)),
      project_(std::move(project)),
      on_instance_(std::move(on_instance)),
      on_reconnect_(std::move(on_reconnect)) {}

incus_event_listener::~incus_event_listener() {
  stop();
}

void incus_event_listener::start() {
  thread_ = std::thread([this] { run(); });
}

void incus_event_listener::stop() {
  stopping_ = true;
  if (int fd = fd_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);  // wakes a blocked read
  if (thread_.joinable()) thread_.join();
}

void incus_event_listener::run() {
  auto delay = std::chrono::milliseconds(100);
  bool connected_before = false;
  while (!stopping_) {
    try {
      asio::io_context io;
      beast::websocket::stream<asio::local::stream_protocol::socket> ws(io);
      ws.next_layer().connect(asio::local::stream_protocol::endpoint(socket_));
      fd_ = ws.next_layer().native_handle();
      if (stopping_) break;
      ws.handshake("incus", "/1.0/events?type=lifecycle&project=" + project_);
      ++connections_;
      if (connected_before) {
        spdlog::warn("Incus events: reconnected; sweeping for missed changes");
        on_reconnect_();
      }
      connected_before = true;
      delay = std::chrono::milliseconds(100);
      beast::flat_buffer buffer;
      while (!stopping_) {
        buffer.clear();
        ws.read(buffer);
        auto text = beast::buffers_to_string(buffer.data());
        auto ev = specs::parse_json(text);
        if (!ev.ok()) continue;
        auto action = specs::string_at(*ev, "metadata.action");
        auto source = specs::string_at(*ev, "metadata.source");  // /1.0/instances/NAME?project=P
        constexpr std::string_view prefix = "/1.0/instances/";
        if (action.rfind("instance-", 0) != 0 || source.rfind(prefix, 0) != 0) continue;
        auto name = source.substr(prefix.size());
        name = name.substr(0, name.find_first_of("/?"));
        on_instance_(name, action);
      }
    } catch (const std::exception& e) {
      if (stopping_) break;
      spdlog::warn("Incus events: {}; reconnecting in {} ms", e.what(), delay.count());
    }
    fd_ = -1;
    for (auto waited = std::chrono::milliseconds(0); waited < delay && !stopping_;
         waited += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    delay = std::min(delay * 2, std::chrono::milliseconds(5000));
  }
}

}  // namespace rockpool::runtime
