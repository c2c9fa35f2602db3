#include "rockpool/actors/incus_events.hpp"

#include "atoms.hpp"
#include "rockpool/specs/codec.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <caf/all.hpp>

#include <regex>

namespace rockpool::actors {

namespace asio = boost::asio;
namespace beast = boost::beast;

std::string instance_of_event(const std::string& text) {
  auto ev = specs::parse_json(text);
  if (!ev.ok()) return {};
  auto action = specs::string_at(*ev, "metadata.action");
  auto source = specs::string_at(*ev, "metadata.source");  // /1.0/instances/NAME?project=P
  constexpr std::string_view prefix = "/1.0/instances/";
  if (action.rfind("instance-", 0) != 0 || source.rfind(prefix, 0) != 0) return {};
  auto name = source.substr(prefix.size());
  return name.substr(0, name.find_first_of("/?"));
}

namespace {

using unix_websocket = beast::websocket::stream<asio::local::stream_protocol::socket>;
using tls_websocket = beast::websocket::stream<asio::ssl::stream<asio::ip::tcp::socket>>;

struct incus_events_state {
  asio::io_context io;
  std::unique_ptr<asio::ssl::context> tls;
  std::unique_ptr<unix_websocket> ws;
  std::unique_ptr<tls_websocket> wss;
  beast::flat_buffer buffer;
  std::string broken;  // why the connection failed; empty while it is fine
  bool connected_before = false;
  std::chrono::milliseconds delay{100};
  static inline const char* name = "incus_events";
};

using events_actor = incus_follower::stateful_pointer<incus_events_state>;

template <class Websocket>
void read_next(events_actor self, Websocket& ws, const instance_listener& manager,
               const std::shared_ptr<incus_events_stats>& stats) {
  ws.async_read(self->state.buffer, [self, &ws, manager, stats](beast::error_code ec, std::size_t) {
    auto& st = self->state;
    if (ec) {
      st.broken = ec.message();
      return;
    }
    auto name = instance_of_event(beast::buffers_to_string(st.buffer.data()));
    st.buffer.consume(st.buffer.size());
    if (!name.empty()) {
      ++stats->events;
      self->send(manager, instance_atom::value, name);
    }
    read_next(self, ws, manager, stats);
  });
}

// Connects and starts reading. Throws on failure.
void connect(events_actor self, const runtime::incus_rest_options& where,
             const instance_listener& manager, const std::shared_ptr<incus_events_stats>& stats) {
  auto& st = self->state;
  auto target = "/1.0/events?type=lifecycle&project=" + where.project;
  if (where.url.empty()) {
    st.ws = std::make_unique<unix_websocket>(st.io);
    st.ws->next_layer().connect(asio::local::stream_protocol::endpoint(where.socket));
    st.ws->handshake("incus", target);
    read_next(self, *st.ws, manager, stats);
    return;
  }
  static const std::regex url_re("https://([^/:]+|\\[[^\\]]+\\]):([0-9]+)/?");
  std::smatch m;
  if (!std::regex_match(where.url, m, url_re))
    throw std::runtime_error("Incus URL " + where.url + " is not https://HOST:PORT");
  if (!st.tls) {
    st.tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    st.tls->use_certificate_chain_file(where.client_cert);
    st.tls->use_private_key_file(where.client_key, asio::ssl::context::pem);
    if (!where.server_cert.empty()) {
      // Pinned: exactly Incus's own certificate is trusted; the name is not checked.
      st.tls->load_verify_file(where.server_cert);
      st.tls->set_verify_mode(asio::ssl::verify_peer);
    }
  }
  st.wss = std::make_unique<tls_websocket>(st.io, *st.tls);
  asio::ip::tcp::resolver resolver(st.io);
  asio::connect(beast::get_lowest_layer(*st.wss), resolver.resolve(m[1].str(), m[2].str()));
  st.wss->next_layer().handshake(asio::ssl::stream_base::client);
  st.wss->handshake(m[1].str(), target);
  read_next(self, *st.wss, manager, stats);
}

incus_follower::behavior_type follow_incus_events(events_actor self,
                                                  runtime::incus_rest_options where,
                                                  instance_listener manager,
                                                  std::shared_ptr<incus_events_stats> stats) {
  self->send(self, pump_atom::value);
  auto retry_later = [self](const std::string& why) {
    auto& st = self->state;
    spdlog::warn("Incus events: {}; reconnecting in {} ms", why, st.delay.count());
    st.ws.reset();
    st.wss.reset();
    st.broken.clear();
    self->delayed_send(self, st.delay, pump_atom::value);
    st.delay = std::min(st.delay * 2, std::chrono::milliseconds(5000));
  };
  return {
      [=](pump_atom) {
        auto& st = self->state;
        if (!st.ws && !st.wss) {
          try {
            connect(self, where, manager, stats);
          } catch (const boost::system::system_error& e) {
            retry_later(e.code().message());  // what() adds Boost's source location
            return;
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

incus_events::incus_events(caf::actor_system& sys, runtime::incus_rest_options where,
                           const instance_listener& manager)
    : stats_(std::make_shared<incus_events_stats>()) {
  actor_ = std::make_unique<caf::actor>(caf::actor_cast<caf::actor>(
      sys.spawn<caf::detached>(follow_incus_events, std::move(where), manager, stats_)));
}

incus_events::~incus_events() {
  stop();
}

void incus_events::stop() {
  if (actor_ && *actor_) caf::anon_send_exit(*actor_, caf::exit_reason::user_shutdown);
  actor_.reset();
}

}  // namespace rockpool::actors
