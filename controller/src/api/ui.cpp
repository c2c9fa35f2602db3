// /app/: the web UI, served from the files compiled into the binary
// (ui/*.html, *.js, *.css). At first use every asset gets a name with a hash
// of its content, imports between modules are rewritten to those names (so
// a module's hash covers what it imports), and index.html is filled in:
// assets are cached for a year, index.html is revalidated on every load.
// No inline script or style anywhere, so the Content-Security-Policy allows
// 'self' only (docs/api.md#the-web-ui).
#include "api/api.hpp"
#include "rockpool/ui/embedded.hpp"

#include <map>
#include <mutex>

namespace rockpool::controller {

using namespace api;

namespace {

struct asset {
  std::string body, content_type;
};

struct site {
  std::string index;                    // filled in
  std::map<std::string, asset> assets;  // by hashed name
};

std::string content_type_of(std::string_view name) {
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  return "text/html; charset=utf-8";
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

std::string escape_html(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

// Hashed names, leaves first: a module's name is known once every module it
// imports (`from "./x.js"`) has one.
site build_site(const api_options& o) {
  std::map<std::string, std::string> source, hashed;
  std::string index;
  for (const auto& f : ui::embedded_files()) {
    if (f.name == "index.html")
      index = std::string(f.text);
    else
      source[std::string(f.name)] = std::string(f.text);
  }
  site out;
  for (bool progress = true; progress && hashed.size() < source.size();) {
    progress = false;
    for (const auto& [name, text] : source) {
      if (hashed.count(name)) continue;
      bool ready = true;
      std::string body = text;
      for (const auto& [dep, _] : source) {
        if (dep == name || body.find("\"./" + dep + "\"") == std::string::npos) continue;
        if (!hashed.count(dep)) {
          ready = false;
          break;
        }
        replace_all(body, "\"./" + dep + "\"", "\"./" + hashed[dep] + "\"");
      }
      if (!ready) continue;
      auto dot = name.rfind('.');
      auto named = name.substr(0, dot) + "." + content_hash(body).substr(0, 12) + name.substr(dot);
      hashed[name] = named;
      out.assets[named] = {std::move(body), content_type_of(name)};
      progress = true;
    }
  }
  bool inner = o.role == "inner";
  auto who = o.nested_host.empty() ? std::string("?") : o.nested_host;
  replace_all(index, "{{TITLE}}",
              inner ? "Inner Rockpool — nested host " + escape_html(who) : "Rockpool");
  replace_all(index, "{{ROLE}}", escape_html(o.role));
  replace_all(index, "{{NESTED_HOST}}", escape_html(o.nested_host));
  replace_all(index, "{{WORKSPACE_URL}}", escape_html(o.workspace_url));
  replace_all(index, "{{BANNER}}",
              inner ? "<div class=\"inner-banner\" role=\"banner\">Inner Rockpool — nested host " +
                          escape_html(who) + "</div>"
                    : "");
  for (const auto& [name, named] : hashed)
    replace_all(index, "{{" + name + "}}", "assets/" + named);
  out.index = std::move(index);
  return out;
}

// The same for every response of the UI.
std::map<std::string, std::string> ui_headers(const std::string& cache) {
  return {{"Cache-Control", cache},
          {"Content-Security-Policy",
           "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
           "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
          {"X-Content-Type-Options", "nosniff"},
          {"Referrer-Policy", "no-referrer"},
          {"X-Frame-Options", "DENY"}};
}

}  // namespace

http_response api_handler::ui(const http_request& req, const std::vector<std::string>& segments) {
  static std::once_flag once;
  static site s;
  std::call_once(once, [&] { s = build_site(options_); });
  if (req.method != "GET" && req.method != "HEAD")
    return status_response(
        make_error(reason::method_not_allowed, req.method + " is not supported"));
  // /app/ and /app/index.html: the page; /app/assets/NAME: an asset.
  if (segments.size() == 1 || (segments.size() == 2 && segments[1] == "index.html"))
    return http_response{200, "text/html; charset=utf-8", s.index, ui_headers("no-cache")};
  if (segments.size() == 3 && segments[1] == "assets")
    if (auto it = s.assets.find(segments[2]); it != s.assets.end())
      return http_response{200, it->second.content_type, it->second.body,
                           ui_headers("public, max-age=31536000, immutable")};
  // Every error of this server is a Status, the UI's included (the HTTP fuzzer checks it).
  auto r = status_response(make_error(
      reason::not_found, "no such file of the web UI: " + segments.back().substr(0, 64)));
  for (auto& [k, v] : ui_headers("no-cache")) r.headers[k] = v;
  return r;
}

}  // namespace rockpool::controller
