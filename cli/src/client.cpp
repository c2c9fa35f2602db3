#include "rockpool/cli/client.hpp"

namespace rockpool::cli {

using specs::error;
using specs::make_error;
using specs::reason;

api_client::api_client(client_options options) : options_(std::move(options)) {
  const std::string unix_prefix = "unix://";
  if (options_.server.rfind(unix_prefix, 0) == 0) {
    unix_path_ = options_.server.substr(unix_prefix.size());
    base_url_ = "http://localhost";
  } else {
    base_url_ = options_.server;
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  }
}

api_client::~api_client() = default;
api_client::api_client(api_client&& other) noexcept = default;

runtime::http_call api_client::call_for(const std::string& method, const std::string& path) const {
  runtime::http_call c;
  c.method = method;
  c.url = base_url_ + path;
  c.unix_socket = unix_path_;
  c.ca_file = options_.ca_file;
  if (!options_.token.empty()) c.headers.push_back("Authorization: Bearer " + options_.token);
  return c;
}

error api_client::unreachable(const error& e) const {
  return make_error(reason::unavailable,
                    "cannot reach rockpoold at " + options_.server + ": " + e.message);
}

specs::result<client_response> api_client::request(const std::string& method,
                                                   const std::string& path, const std::string& body,
                                                   const std::string& content_type) {
  auto c = call_for(method, path);
  if (!content_type.empty()) c.headers.push_back("Content-Type: " + content_type);
  c.headers.push_back("Expect:");
  c.body = body;
  c.send_body = method == "POST" || method == "PUT" || method == "PATCH";
  c.timeout_ms = options_.timeout_ms;
  auto r = session_.perform(c);
  if (!r.ok()) return unreachable(r.err());
  return client_response{r->status, std::move(r->body), std::move(r->headers)};
}

specs::result<long> api_client::stream(const std::string& path,
                                       const std::function<bool(std::string_view)>& on_line,
                                       std::string* error_body) {
  auto c = call_for("GET", path);
  c.connect_timeout_ms = 10000;
  std::string pending, errors;
  c.on_data = [&](std::string_view chunk, long status) {
    if (status != 200) {  // an error Status, not a stream
      errors.append(chunk);
      return true;
    }
    pending.append(chunk);
    std::size_t start = 0;
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', start)) {
      if (!on_line(std::string_view(pending).substr(start, nl - start))) return false;
      start = nl + 1;
    }
    pending.erase(0, start);
    return true;
  };
  auto r = runtime::http_perform(c);
  if (error_body) *error_body = errors;
  if (!r.ok()) return unreachable(r.err());
  return r->status;
}

}  // namespace rockpool::cli
