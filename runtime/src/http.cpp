#include "rockpool/runtime/http.hpp"

#include "loaded_library.hpp"

#include <curl/curl.h>

#include <cctype>

namespace rockpool::runtime {

std::string dial_address(const std::string& listen) {
  if (listen.starts_with(":")) return "127.0.0.1" + listen;
  if (listen.starts_with("0.0.0.0:")) return "127.0.0.1" + listen.substr(7);
  return listen;
}
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

using specs::make_error;
using specs::reason;

namespace {

// The libcurl functions this helper calls, loaded at the first request.
// clang-format off
#define ROCKPOOL_CURL_FUNCTIONS(X)                                                 \
  X(global_init) X(easy_init) X(easy_setopt) X(easy_perform) X(easy_getinfo)       \
  X(easy_reset) X(easy_cleanup) X(easy_strerror) X(slist_append) X(slist_free_all)
#define CURL_MEMBER(name) ROCKPOOL_LOADED_MEMBER(curl_, name)
#define CURL_BIND(name) ROCKPOOL_LOADED_BIND(curl_, name)
// clang-format on

struct curl_functions {
  static constexpr const char* soname = ROCKPOOL_LIBCURL_SONAME;
  ROCKPOOL_CURL_FUNCTIONS(CURL_MEMBER)
  void bind(const loaded_library& lib) {
    ROCKPOOL_CURL_FUNCTIONS(CURL_BIND)
    global_init(CURL_GLOBAL_DEFAULT);
  }
};

const curl_functions& libcurl() {
  return library_functions<curl_functions>();
}

struct transfer {
  const http_call* call;
  const curl_functions* api;
  CURL* curl;
  http_reply reply;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  size_t len = size * n;
  if (!t->call->on_data) {
    t->reply.body.append(data, len);
    return len;
  }
  if (t->reply.status == 0) t->api->easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->reply.status);
  if (t->call->on_data(std::string_view(data, len), t->reply.status)) return len;
  t->reply.stopped = true;
  return 0;  // tells libcurl to stop
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<transfer*>(user);
  if (t->call->keep_going()) return 0;
  t->reply.stopped = true;
  return 1;  // tells libcurl to stop
}

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string key = line.substr(0, colon);
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    t->reply.headers[key] = trimmed(line.substr(colon + 1));
  }
  return size * n;
}

void configure(CURL* curl, const http_call& c, curl_slist* headers, transfer& t) {
  auto set = t.api->easy_setopt;
  set(curl, CURLOPT_URL, c.url.c_str());
  if (!c.unix_socket.empty()) set(curl, CURLOPT_UNIX_SOCKET_PATH, c.unix_socket.c_str());
  if (!c.client_cert.empty()) {
    set(curl, CURLOPT_SSLCERT, c.client_cert.c_str());
    set(curl, CURLOPT_SSLKEY, c.client_key.c_str());
  }
  if (!c.pinned_server_cert.empty()) {
    set(curl, CURLOPT_CAINFO, c.pinned_server_cert.c_str());
    set(curl, CURLOPT_SSL_VERIFYHOST, 0L);  // the certificate itself is pinned
  }
  if (!c.ca_file.empty()) set(curl, CURLOPT_CAINFO, c.ca_file.c_str());
  set(curl, CURLOPT_CUSTOMREQUEST, c.method.c_str());
  if (c.send_body || !c.body.empty()) {
    set(curl, CURLOPT_POSTFIELDS, c.body.data());
    set(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(c.body.size()));
  }
  set(curl, CURLOPT_HTTPHEADER, headers);
  set(curl, CURLOPT_WRITEFUNCTION, on_body);
  set(curl, CURLOPT_WRITEDATA, &t);
  set(curl, CURLOPT_HEADERFUNCTION, on_header);
  set(curl, CURLOPT_HEADERDATA, &t);
  set(curl, CURLOPT_NOSIGNAL, 1L);
  if (c.connect_timeout_ms > 0) set(curl, CURLOPT_CONNECTTIMEOUT_MS, c.connect_timeout_ms);
  if (c.timeout_ms > 0) set(curl, CURLOPT_TIMEOUT_MS, c.timeout_ms);
  if (c.on_data && c.keep_going) {
    set(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    set(curl, CURLOPT_XFERINFODATA, &t);
    set(curl, CURLOPT_NOPROGRESS, 0L);
  }
  if (c.on_data && c.idle_timeout_s > 0) {
    set(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    set(curl, CURLOPT_LOW_SPEED_TIME, c.idle_timeout_s);
  }
}

specs::result<http_reply> run(const curl_functions& api, CURL* curl, const http_call& c) {
  if (curl == nullptr) return make_error(reason::internal, "curl_easy_init failed");
  transfer t{&c, &api, curl, {}};
  curl_slist* headers = nullptr;
  for (const auto& h : c.headers) headers = api.slist_append(headers, h.c_str());
  configure(curl, c, headers, t);
  auto rc = api.easy_perform(curl);
  api.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t.reply.status);
  api.slist_free_all(headers);
  // A stream ends when the server closes it: not a failure once it answered.
  bool stream_ended =
      c.on_data && t.reply.status != 0 && (rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR);
  if (rc != CURLE_OK && !t.reply.stopped && !stream_ended)
    return make_error(reason::unavailable, api.easy_strerror(rc));
  return std::move(t.reply);
}

}  // namespace

http_session::http_session() = default;

http_session::~http_session() {
  if (curl_ != nullptr) libcurl().easy_cleanup(static_cast<CURL*>(curl_));
}

http_session::http_session(http_session&& other) noexcept : curl_(other.curl_) {
  other.curl_ = nullptr;
}

specs::result<http_reply> http_session::perform(const http_call& call) {
  auto api = loaded<curl_functions>();
  if (!api) return api.err();
  if (curl_ == nullptr)
    curl_ = (*api)->easy_init();
  else
    (*api)->easy_reset(static_cast<CURL*>(curl_));  // keeps the open connection
  return run(**api, static_cast<CURL*>(curl_), call);
}

specs::result<http_reply> http_perform(const http_call& call) {
  auto api = loaded<curl_functions>();
  if (!api) return api.err();
  CURL* curl = (*api)->easy_init();
  auto r = run(**api, curl, call);
  if (curl != nullptr) (*api)->easy_cleanup(curl);
  return r;
}

}  // namespace rockpool::runtime
