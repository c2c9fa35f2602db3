#include "cli/cli.hpp"

#include "rockpool/specs/json.hpp"

namespace rockpool::controller::cli {

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

}  // namespace rockpool::controller::cli
