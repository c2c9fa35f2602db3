#pragma once

// Sign-in on the workspace server (docs/security.md). The API hands out
// single-use codes; the gateway turns a code into a session cookie on the
// workspace origin and checks that cookie before Caddy proxies any
// /workspace/... request. The API itself never accepts the cookie.

#include "rockpool/controller/api_handler.hpp"
#include "rockpool/specs/clock.hpp"
#include "rockpool/specs/result.hpp"

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace rockpool::controller {

/// Issues single-use codes and signs and checks session cookies. The key
/// (32 random bytes in KEY_FILE, mode 0600, made on first use) makes cookies
/// survive a restart; deleting it signs every browser out. The cookie's name
/// carries a hash of the key, so an inner and an outer Rockpool reached on
/// one host name set cookies apart. Thread safety: thread-safe.
class workspace_signin {
 public:
  static constexpr std::chrono::seconds code_ttl{60};
  static constexpr std::size_t max_outstanding_codes = 1024;
  static constexpr std::size_t code_length = 64;  // hex digits

  /// Reads KEY_FILE, or makes it (unless make is false: then a missing
  /// file is not_found). Fails when it is unreadable or malformed.
  static specs::result<std::unique_ptr<workspace_signin>> open(const std::string& key_file,
                                                               std::chrono::seconds session_ttl,
                                                               const specs::clock& clock,
                                                               bool make = true);
  /// A fresh single-use code, valid for code_ttl.
  specs::result<std::string> issue_code();
  /// Uses up code; true iff it was issued, unused and unexpired.
  bool redeem(const std::string& code);
  /// A session cookie value valid for the session TTL.
  std::string new_session() const;
  /// Whether value is a session this Rockpool signed and that has not expired.
  bool valid_session(std::string_view value) const;
  /// Whether a Cookie header carries a valid session.
  bool signed_in(std::string_view cookie_header) const;
  const std::string& cookie_name() const { return cookie_name_; }
  std::chrono::seconds session_ttl() const { return session_ttl_; }

 private:
  workspace_signin(std::string key, std::chrono::seconds ttl, const specs::clock& clock);
  std::string sign(std::string_view payload) const;

  std::string key_;
  std::string cookie_name_;
  std::chrono::seconds session_ttl_;
  const specs::clock& clock_;
  std::mutex mu_;
  std::map<std::string, std::chrono::system_clock::time_point> codes_;  // code -> expiry
};

/// The gateway's HTTP endpoints, served on their own loopback listener that
/// only Caddy's workspace server talks to (no bearer token, no API):
///   GET /.rockpool/auth     200 with a valid session cookie, else a 401 page
///   GET /.rockpool/signin?code=C&to=/workspace/...   cookie set, 303 to `to`
///   GET /.rockpool/signout  cookie cleared
class workspace_gateway final : public http_handler {
 public:
  /// Called for every request the gateway lets through (signed in, or on a
  /// public route), with its forwarded URI ("/workspace/NAME/..."): the
  /// daemon counts it as its workspace's activity and wakes the workspace if
  /// it sleeps, returning once it is up. An error refuses the request with
  /// its reason's status (503 with Retry-After when the wake takes too long).
  /// May block for as long as a wake takes. Empty: nothing is done.
  using admit_hook = std::function<specs::status(const std::string& uri)>;
  /// control_url: where the UI is, for the 401 page (e.g. http://127.0.0.1:8080).
  /// signin null: every request is let through (--workspace-signin=false),
  /// still counted and woken.
  workspace_gateway(workspace_signin* signin, std::string control_url, admit_hook admitted = {});
  http_response handle(const http_request& req) override;
  bool reads_headers() const override { return true; }

 private:
  http_response signin(const http_request& req);
  http_response refused(int status, const std::string& title, const std::string& text) const;

  workspace_signin* signin_;
  std::string control_url_;
  admit_hook admitted_;
};

}  // namespace rockpool::controller
