#include "rockpool/cli/cli.hpp"

#include "rockpool/specs/clock.hpp"
#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

namespace rockpool::cli {

namespace json = boost::json;

std::string resource_path(const specs::kind_info& k, const std::string& name,
                          const std::string& sub) {
  std::string p = std::string("/apis/") + specs::api_version + "/" + k.plural;
  if (!name.empty()) p += "/" + url_encode(name);
  if (!sub.empty()) p += "/" + sub;
  return p;
}

std::string server_error(const client_response& r) {
  auto parsed = specs::parse_json(r.body);
  if (parsed.ok() && specs::string_at(*parsed, "kind") == "Status")
    return "Error from server (" + specs::string_at(*parsed, "reason") +
           "): " + specs::string_at(*parsed, "message");
  return "Error from server (HTTP " + std::to_string(r.status) + "): " + r.body;
}

std::optional<std::string> request_ok(context& c, const std::string& method,
                                      const std::string& path, const std::string& body) {
  auto r = c.client.request(method, path, body);
  if (!r.ok()) {
    c.err << "error: " << r.err().message << "\n";
    return std::nullopt;
  }
  if (r->status < 200 || r->status > 299) {
    c.err << server_error(*r) << "\n";
    return std::nullopt;
  }
  return std::move(r->body);
}

std::optional<std::string> get_ok(context& c, const std::string& path) {
  return request_ok(c, "GET", path);
}

const specs::kind_info* require_kind(context& c, const std::string& name) {
  const auto* k = specs::find_kind(name);
  if (k == nullptr) {
    std::string known;
    for (const auto& kk : specs::kinds()) known += (known.empty() ? "" : ", ") + kk.singular;
    c.err << "error: the server doesn't have a resource type \"" << name << "\" (known: " << known
          << ")\n";
  }
  return k;
}

// "30s", "1.5m", "200ms", "2h" or a number of seconds; nothing for anything else.
std::optional<std::chrono::milliseconds> try_parse_duration(const std::string& s) {
  if (s.empty()) return std::chrono::milliseconds(0);
  std::size_t idx = 0;
  double v = 0;
  try {
    v = std::stod(s, &idx);
  } catch (...) {
    return std::nullopt;
  }
  auto unit = s.substr(idx);
  if (!(unit.empty() || unit == "s" || unit == "ms" || unit == "m" || unit == "h") || v < 0 ||
      v > 1e9)
    return std::nullopt;
  double ms = unit == "ms" ? v : unit == "m" ? v * 60000 : unit == "h" ? v * 3600000 : v * 1000;
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

// For flags already checked by duration_flag.
std::chrono::milliseconds parse_duration(const std::string& s) {
  return try_parse_duration(s).value_or(std::chrono::milliseconds(0));
}

// A resourceVersion from the server; 0 when it is not a number.
std::uint64_t revision_of(const std::string& s) {
  if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos)
    return 0;
  try {
    return std::stoull(s);
  } catch (...) {
    return 0;
  }
}

// One subcommand: its flags live in the closure; run() is called when it was given.

CLI::Validator duration_check() {
  return CLI::Validator(
      [](std::string& v) {
        return try_parse_duration(v) ? std::string()
                                     : "\"" + v + "\" is not a duration (e.g. 30s, 500ms, 2m)";
      },
      "DURATION");
}

specs::result<json::value> fetch(context& c, const specs::kind_info& k, const std::string& name) {
  auto r = c.client.request("GET", resource_path(k, name));
  if (!r.ok()) return r.err();
  if (r->status != 200)
    return specs::make_error(r->status == 404 ? specs::reason::not_found : specs::reason::internal,
                             server_error(*r));
  return specs::parse_json(r->body);
}

std::string request_token() {
  auto now = std::chrono::system_clock::now();
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()) %
               std::chrono::seconds(1);
  auto token = specs::format_rfc3339(now);
  token.insert(token.size() - 1, "." + std::to_string(1000000000 + nanos.count()).substr(1));
  return token;
}

std::optional<json::value> merge_patch(context& c, const specs::kind_info& k,
                                       const std::string& name, const json::value& patch) {
  auto r = c.client.request("PATCH", resource_path(k, name), json::serialize(patch),
                            "application/merge-patch+json");
  if (!r.ok()) {
    c.err << "error: " << r.err().message << "\n";
    return std::nullopt;
  }
  if (r->status != 200) {
    c.err << server_error(*r) << "\n";
    return std::nullopt;
  }
  auto obj = specs::parse_json(r->body);
  if (!obj.ok()) {
    c.err << "error: " << obj.err().message << "\n";
    return std::nullopt;
  }
  return std::move(*obj);
}

}  // namespace rockpool::cli
