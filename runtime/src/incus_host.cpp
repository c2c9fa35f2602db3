// The Incus client's host-wide calls: the server, managed networks,
// projects, and listing the project's instances.
#include "rockpool/runtime/incus_rest.hpp"

#include "incus_rest_detail.hpp"

#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

namespace rockpool::runtime {

namespace json = boost::json;
using detail::string_members;
using specs::make_error;
using specs::reason;
using specs::string_at;

specs::result<std::string> incus_rest::server_version() {
  auto r = call("GET", "/1.0");
  if (!r.ok()) return r.err();
  return string_at(r->body, "metadata.environment.server_version");
}

specs::result<json::value> incus_rest::server_info() {
  auto r = call("GET", "/1.0");
  if (!r.ok()) return r.err();
  return r->body.at("metadata");
}

std::map<std::string, std::string> detail::string_members(const json::value& obj, const char* key) {
  std::map<std::string, std::string> out;
  const json::value* v = key ? obj.as_object().if_contains(key) : &obj;
  if (v && v->is_object())
    for (const auto& kv : v->get_object())
      if (kv.value().is_string()) out[std::string(kv.key())] = std::string(kv.value().get_string());
  return out;
}

specs::result<std::optional<network_info>> incus_rest::get_network(const std::string& name) {
  auto r = call("GET", "/1.0/networks/" + name);
  if (!r.ok()) {
    if (r.err().why == reason::not_found) return std::optional<network_info>{};
    return r.err();
  }
  const auto& m = r->body.at("metadata");
  network_info n;
  n.name = string_at(m, "name");
  n.type = string_at(m, "type");
  n.status = string_at(m, "status");
  n.description = string_at(m, "description");
  if (const auto* managed = m.as_object().if_contains("managed"); managed && managed->is_bool())
    n.managed = managed->get_bool();
  n.config = string_members(m, "config");
  return std::optional<network_info>{std::move(n)};
}

specs::status incus_rest::create_network(const network_spec& spec) {
  json::object config{
      {"ipv4.address", spec.address}, {"ipv4.nat", "true"}, {"ipv6.address", "none"}};
  for (const auto& [k, v] : spec.config) config[k] = v;
  json::value body = {{"name", spec.name},
                      {"type", "bridge"},
                      {"description", spec.description},
                      {"config", std::move(config)}};
  auto r = call("POST", "/1.0/networks", json::serialize(body));
  if (!r.ok()) return r.err();
  return specs::done{};
}

specs::status incus_rest::create_project(const std::string& name) {
  if (call("GET", "/1.0/projects/" + name).ok()) return specs::done{};
  json::value body = {{"name", name},
                      {"config",
                       {{"features.images", "false"},
                        {"features.profiles", "false"},
                        {"features.storage.volumes", "false"}}}};
  auto r = call("POST", "/1.0/projects", json::serialize(body));
  if (!r.ok() && r.err().why != reason::already_exists) return r.err();
  return specs::done{};
}

specs::status incus_rest::delete_project(const std::string& name) {
  auto r = call("DELETE", "/1.0/projects/" + name);
  if (!r.ok() && r.err().why != reason::not_found) return r.err();
  return specs::done{};
}

specs::result<std::vector<instance_info>> incus_rest::managed_instances() {
  auto r = call("GET", with_project("/1.0/instances?recursion=1"));
  if (!r.ok()) return r.err();
  std::vector<instance_info> out;
  if (const auto* list = r->body.as_object().if_contains("metadata"); list && list->is_array())
    for (const auto& m : list->get_array())
      if (auto info = detail::instance_of(m); info.config.count(owner_kind_key))
        out.push_back(std::move(info));
  return out;
}

specs::result<std::vector<std::string>> incus_rest::list_instances() {
  return list_names(with_project("/1.0/instances"));
}

// The names at the end of the URLs a collection GET lists
// (".../NAME[?project=P]"; Rockpool's names need no decoding).
specs::result<std::vector<std::string>> incus_rest::list_names(const std::string& path) {
  auto r = call("GET", path);
  if (!r.ok()) return r.err();
  std::vector<std::string> names;
  if (const auto* list = r->body.as_object().if_contains("metadata"); list && list->is_array())
    for (const auto& url : list->get_array())
      if (url.is_string()) {
        std::string u(url.get_string());
        u = u.substr(0, u.find('?'));
        names.push_back(u.substr(u.rfind('/') + 1));
      }
  return names;
}

}  // namespace rockpool::runtime
