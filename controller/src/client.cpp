#include "rockpool/controller/client.hpp"

#include <curl/curl.h>

#include <cctype>
#include <mutex>

namespace rockpool::controller {

using specs::make_error;
using specs::reason;

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

namespace {

struct transfer {
  std::string body;
  std::map<std::string, std::string> headers;
  const std::function<bool(std::string_view)>* on_line = nullptr;
  std::string pending;
  bool aborted = false;
  long status = 0;
  CURL* curl = nullptr;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  size_t len = size * n;
  if (t->on_line == nullptr) {
    t->body.append(data, len);
    return len;
  }
  if (t->status == 0) curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
  if (t->status != 200) {  // an error Status, not a stream
    t->body.append(data, len);
    return len;
  }
  t->pending.append(data, len);
  std::size_t start = 0;
  while (true) {
    auto nl = t->pending.find('\n', start);
    if (nl == std::string::npos) break;
    if (!(*t->on_line)(std::string_view(t->pending).substr(start, nl - start))) {
      t->aborted = true;
      return 0;  // tells curl to stop
    }
    start = nl + 1;
  }
  t->pending.erase(0, start);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string key = line.substr(0, colon);
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto value = line.substr(colon + 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front())))
      value.erase(0, 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
      value.pop_back();
    t->headers[key] = value;
  }
  return size * n;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

api_client::api_client(client_options options) : options_(std::move(options)) {
  global_init();
  const std::string unix_prefix = "unix://";
  if (options_.server.rfind(unix_prefix, 0) == 0) {
    unix_path_ = options_.server.substr(unix_prefix.size());
    base_url_ = "http://localhost";
  } else {
    base_url_ = options_.server;
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  }
}

api_client::~api_client() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

api_client::api_client(api_client&& other) noexcept
    : options_(std::move(other.options_)),
      curl_(other.curl_),
      unix_path_(std::move(other.unix_path_)),
      base_url_(std::move(other.base_url_)) {
  other.curl_ = nullptr;
}

void* api_client::handle() {
  if (curl_ == nullptr) {
    curl_ = curl_easy_init();
  } else {
    curl_easy_reset(static_cast<CURL*>(curl_));  // keeps the open connection
  }
  return curl_;
}

specs::result<client_response> api_client::request(const std::string& method,
                                                   const std::string& path, const std::string& body,
                                                   const std::string& content_type) {
  auto* curl = static_cast<CURL*>(handle());
  if (curl == nullptr) return make_error(reason::internal, "curl_easy_init failed");
  transfer t;
  t.curl = curl;
  std::string url = base_url_ + path;
  curl_slist* headers = nullptr;
  if (!content_type.empty())
    headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  if (!options_.token.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + options_.token).c_str());
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (!unix_path_.empty()) curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, unix_path_.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  auto rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK)
    return make_error(reason::unavailable, "cannot reach rockpoold at " + options_.server + ": " +
                                               curl_easy_strerror(rc));
  return client_response{status, std::move(t.body), std::move(t.headers)};
}

specs::result<long> api_client::stream(const std::string& path,
                                       const std::function<bool(std::string_view)>& on_line,
                                       std::string* error_body) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return make_error(reason::internal, "curl_easy_init failed");
  transfer t;
  t.curl = curl;
  t.on_line = &on_line;
  std::string url = base_url_ + path;
  curl_slist* headers = nullptr;
  if (!options_.token.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + options_.token).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (!unix_path_.empty()) curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, unix_path_.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  auto rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (error_body) *error_body = t.body;
  if (rc != CURLE_OK && !t.aborted && !(rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR))
    return make_error(reason::unavailable, "cannot reach rockpoold at " + options_.server + ": " +
                                               curl_easy_strerror(rc));
  return status;
}

}  // namespace rockpool::controller
