// libFuzzer target: arbitrary bytes as an HTTP/1.1 request, parsed by Beast
// with the server's header and body limits, then served by the API's router
// and verb handlers (watches included) over a memory store that keeps its
// state across inputs, as a long-running daemon's does.
#include "rockpool/actors/kind_rules.hpp"
#include "rockpool/controller/api_handler.hpp"
#include "rockpool/controller/api_server.hpp"
#include "rockpool/specs/memory_backend.hpp"

#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace {

namespace http = boost::beast::http;
using namespace rockpool;

class system_clock final : public specs::clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
};

// A watch client that has gone at once: the watch is parsed, started and
// its initial state built, then the watch thread drops it.
class gone_client final : public controller::watch_client {
 public:
  std::size_t pending_bytes() const override { return 0; }
  void send(std::string chunk) override { bytes_ += chunk.size(); }
  void finish() override {}
  bool gone() const override { return true; }

 private:
  std::size_t bytes_ = 0;
};

struct api_under_test {
  std::unique_ptr<specs::kv_backend> backend = specs::make_memory_backend(64);
  system_clock clock;
  specs::object_store store{*backend, clock, {"192.168.0.0/16"}, &actors::kind_rules()};
  controller::metrics m;
  controller::api_handler handler{store, m, {}};
};

api_under_test& api() {
  static auto* a = new api_under_test();  // lives for the whole run
  return *a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const controller::server_options limits;
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  auto& req = parser.get();
  controller::http_request r{std::string(req.method_string()), std::string(req.target()),
                             std::string(req[http::field::content_type]), req.body()};
  auto& a = api();
  if (a.handler.is_watch(r)) {
    auto refused = a.handler.watch(r, std::make_shared<gone_client>());
    if (refused && (refused->status < 400 || refused->body.empty())) __builtin_trap();
    return 0;
  }
  auto resp = a.handler.handle(r);
  // Every answer is a status code and, for errors, a Status body.
  if (resp.status < 200 || resp.status > 599) __builtin_trap();
  if (resp.status >= 400 && resp.body.find("\"kind\":\"Status\"") == std::string::npos)
    __builtin_trap();
  return 0;
}
