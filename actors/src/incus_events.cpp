#include "rockpool/actors/incus_events.hpp"

#include "rockpool/actors/atoms.hpp"
#include "rockpool/specs/codec.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <caf/all.hpp>

namespace rockpool::actors {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

using websocket = beast::websocket::stream<asio::local::stream_protocol::socket>;

struct incus_events_state {
  asio::io_context io;
  std::unique_ptr<websocket> ws;
  beast::flat_buffer buffer;
  std::string broken;  // why the connection failed; empty while it is fine
  bool connected_before = false;
  std::chrono::milliseconds delay{100};
  static inline const char* name = "incus_events";
};

using events_actor = caf::stateful_actor<incus_events_state>;

// The name of the instance an instance-* event is about, or "".
std::string instance_of(const std::string& text) {
  auto ev = specs::parse_json(text);
  if (!ev.ok()) return {};
  auto action = specs::string_at(*ev, "metadata.action");
  auto source = specs::string_at(*ev, "metadata.source");  // /1.0/instances/NAME?project=P
  constexpr std::string_view prefix = "/1.0/instances/";
  if (action.rfind("instance-", 0) != 0 || source.rfind(prefix, 0) != 0) return {};
  auto name = source.substr(prefix.size());
  return name.substr(0, name.find_first_of("/?"));
}

void read_next(events_actor* self, const caf::actor& manager,
               const std::shared_ptr<incus_events_stats>& stats) {
  auto& st = self->state;
  st.ws->async_read(st.buffer, [self, manager, stats](beast::error_code ec, std::size_t) {
    auto& st = self->state;
    if (ec) {
      st.broken = ec.message();
      return;
    }
    auto name = instance_of(beast::buffers_to_string(st.buffer.data()));
    st.buffer.consume(st.buffer.size());
    if (!name.empty()) {
      ++stats->events;
      self->send(manager, poke_atom::value, "Workspace/" + name);
    }
    read_next(self, manager, stats);
  });
}

caf::behavior follow_incus_events(events_actor* self, std::string socket, std::string project,
                                  caf::actor manager, std::shared_ptr<incus_events_stats> stats) {
  self->send(self, pump_atom::value);
  auto retry_later = [self](const std::string& why) {
    auto& st = self->state;
    spdlog::warn("Incus events: {}; reconnecting in {} ms", why, st.delay.count());
    st.ws.reset();
    st.broken.clear();
    self->delayed_send(self, st.delay, pump_atom::value);
    st.delay = std::min(st.delay * 2, std::chrono::milliseconds(5000));
  };
  return {
      [=](pump_atom) {
        auto& st = self->state;
        if (!st.ws) {
          try {
            st.ws = std::make_unique<websocket>(st.io);
            st.ws->next_layer().connect(asio::local::stream_protocol::endpoint(socket));
            st.ws->handshake("incus", "/1.0/events?type=lifecycle&project=" + project);
          } catch (const std::exception& e) {
            retry_later(e.what());
            return;
          }
          ++stats->connections;
          if (st.connected_before) {
            spdlog::warn("Incus events: reconnected; sweeping for missed changes");
            self->send(manager, poke_atom::value);
          }
          st.connected_before = true;
          st.delay = std::chrono::milliseconds(100);
          st.buffer.clear();
          read_next(self, manager, stats);
        }
        st.io.restart();
        st.io.run_for(std::chrono::milliseconds(200));
        if (!st.broken.empty()) {
          retry_later(st.broken);
          return;
        }
        self->send(self, pump_atom::value);
      },
  };
}

}  // namespace

incus_events::incus_events(caf::actor_system& sys, std::string socket, std::string project,
                           const caf::actor& manager)
    : stats_(std::make_shared<incus_events_stats>()) {
  actor_ = std::make_unique<caf::actor>(sys.spawn<caf::detached>(
      follow_incus_events, std::move(socket), std::move(project), manager, stats_));
}

incus_events::~incus_events() {
  stop();
}

void incus_events::stop() {
  if (actor_ && *actor_) caf::anon_send_exit(*actor_, caf::exit_reason::user_shutdown);
  actor_.reset();
}

}  // namespace rockpool::actors
