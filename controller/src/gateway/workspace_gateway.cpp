// The workspace server's sign-in gateway: Caddy's forward_auth target and the
// /.rockpool/ pages (docs/security.md).
#include "api/api.hpp"
#include "rockpool/controller/workspace_signin.hpp"

namespace rockpool::controller {

namespace {

// A path we will send a browser to, or put in a cookie's Path: under
// /workspace/, printable, no backslash (some browsers read it as a slash), no
// dot segments.
bool safe_workspace_path(std::string_view p) {
  if (p.size() > 2048 || !p.starts_with("/workspace/") || p.find("..") != std::string_view::npos)
    return false;
  for (unsigned char c : p)
    if (c < 0x21 || c == 0x7f || c == '\\' || c == '"' || c == ';' || c == ',') return false;
  return true;
}

std::string escape_html(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

http_response page(int status, const std::string& title, const std::string& html_body) {
  http_response r{status, "text/html; charset=utf-8",
                  "<!doctype html><html><head><meta charset=\"utf-8\"><title>" +
                      escape_html(title) + "</title></head><body><h1>" + escape_html(title) +
                      "</h1>" + html_body + "</body></html>\n",
                  {}};
  r.headers["Cache-Control"] = "no-store";
  r.headers["X-Content-Type-Options"] = "nosniff";
  r.headers["Referrer-Policy"] = "no-referrer";
  r.headers["Content-Security-Policy"] = "default-src 'none'";
  return r;
}

}  // namespace

workspace_gateway::workspace_gateway(workspace_signin* signin, std::string control_url,
                                     admit_hook admitted)
    : signin_(signin), control_url_(std::move(control_url)), admitted_(std::move(admitted)) {}

http_response workspace_gateway::refused(int status, const std::string& title,
                                         const std::string& text) const {
  auto ui = control_url_ + "/app/";
  return page(status, title,
              "<p>" + escape_html(text) + "</p><p>Open the workspace from the Rockpool UI at <a href=\"" +
                  escape_html(ui) + "\">" + escape_html(ui) +
                  "</a>, or with <code>rpctl open NAME</code>.</p>");
}

http_response workspace_gateway::handle(const http_request& req) {
  auto t = api::parse_target(req.target);
  const auto& s = t.segments;
  if (s.size() != 2 || s[0] != ".rockpool" || req.method != "GET")
    return page(404, "Not found", "");
  if (s[1] == "auth") {
    // Caddy sets X-Rockpool-Public on every route (1 on a public port route),
    // so a client cannot claim it.
    if (signin_ == nullptr || req.header("x-rockpool-public") == "1" ||
        signin_->signed_in(req.header("cookie"))) {
      // The controller's own probes (X-Rockpool-Probe) are not activity.
      if (admitted_ && req.header("x-rockpool-probe").empty())
        if (auto st = admitted_(req.header("x-forwarded-uri")); !st.ok()) {
          auto r = refused(specs::http_code(st.err().why), "Workspace not available",
                           st.err().message);
          if (st.err().why == specs::reason::unavailable) r.headers["Retry-After"] = "5";
          return r;
        }
      return http_response{200, "text/plain", "", {}};
    }
    auto r = refused(401, "Sign-in required",
                     "This workspace is reached only from a browser that has signed in to "
                     "Rockpool.");
    r.headers["WWW-Authenticate"] = "Cookie";
    return r;
  }
  if (signin_ == nullptr) return page(404, "Not found", "<p>Sign-in is off here.</p>");
  if (s[1] == "signin") return signin(req);
  if (s[1] == "signout") {
    auto prefix = req.header("x-forwarded-prefix");
    auto r = page(200, "Signed out", "<p>This browser is signed out of the workspaces.</p>");
    r.headers["Set-Cookie"] = signin_->cookie_name() + "=; Path=" +
                              (safe_workspace_path(prefix) ? prefix + "/" : std::string("/")) +
                              "; Max-Age=0; HttpOnly; SameSite=Lax";
    return r;
  }
  return page(404, "Not found", "");
}

http_response workspace_gateway::signin(const http_request& req) {
  auto t = api::parse_target(req.target);
  auto to = api::query(t, "to");
  if (to.empty()) to = "/workspace/";
  if (!safe_workspace_path(to))
    return refused(400, "Bad sign-in link", "A sign-in link may lead only to a /workspace/ path.");
  if (!signin_->redeem(api::query(t, "code")))
    return refused(401, "Sign-in link not valid",
                   "This sign-in link was used already, has expired (links last a minute) or "
                   "was never issued.");
  // Behind an outer Rockpool, this one is reached under the outer route's
  // prefix: the cookie and the redirect go under it.
  auto prefix = req.header("x-forwarded-prefix");
  if (!safe_workspace_path(prefix)) prefix.clear();
  http_response r{303, "text/plain", "", {}};
  r.headers["Location"] = prefix + to;
  r.headers["Cache-Control"] = "no-store";
  r.headers["Referrer-Policy"] = "no-referrer";
  r.headers["Set-Cookie"] = signin_->cookie_name() + "=" + signin_->new_session() +
                            "; Path=" + (prefix.empty() ? "/" : prefix + "/") +
                            "; Max-Age=" + std::to_string(signin_->session_ttl().count()) +
                            "; HttpOnly; SameSite=Lax" +
                            (req.header("x-forwarded-proto") == "https" ? "; Secure" : "");
  return r;
}

}  // namespace rockpool::controller
