// incus_rest, the storage part: custom volumes (a workspace's home), and
// snapshots of instances and volumes with the freeze that makes them
// consistent.
#include "incus_rest_detail.hpp"

#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

namespace rockpool::runtime {

namespace json = boost::json;
using detail::string_members;
using specs::reason;

std::string incus_rest::volume_path(const std::string& name) const {
  return "/1.0/storage-pools/" + options_.storage_pool + "/volumes/custom/" + name;
}

specs::result<std::optional<volume_info>> incus_rest::get_volume(const std::string& name) {
  auto r = call("GET", with_project(volume_path(name)));
  if (!r.ok()) {
    if (r.err().why == reason::not_found) return std::optional<volume_info>{};
    return r.err();
  }
  return std::optional<volume_info>{
      volume_info{name, string_members(r->body.at("metadata"), "config")}};
}

specs::status incus_rest::create_volume(const std::string& name, const std::string& size,
                                        const std::map<std::string, std::string>& config) {
  json::object c;
  for (const auto& [k, v] : config) c[k] = v;
  if (!size.empty()) c["size"] = incus_size(size);
  json::value body = {
      {"name", name}, {"type", "custom"}, {"content_type", "filesystem"}, {"config", c}};
  auto r =
      call("POST", with_project("/1.0/storage-pools/" + options_.storage_pool + "/volumes/custom"),
           json::serialize(body));
  if (!r.ok()) return r.err();
  return wait_operation(*r);
}

specs::status incus_rest::copy_volume(const std::string& name, const std::string& from_volume,
                                      const std::string& snapshot,
                                      const std::map<std::string, std::string>& config) {
  json::object c;
  for (const auto& [k, v] : config) c[k] = v;
  json::value body = {{"name", name},
                      {"type", "custom"},
                      {"content_type", "filesystem"},
                      {"config", c},
                      {"source",
                       {{"type", "copy"},
                        {"pool", options_.storage_pool},
                        {"name", from_volume + "/" + snapshot}}}};
  auto r =
      call("POST", with_project("/1.0/storage-pools/" + options_.storage_pool + "/volumes/custom"),
           json::serialize(body));
  if (!r.ok()) return r.err();
  return wait_operation(*r);
}

specs::status incus_rest::update_volume(const std::string& name,
                                        const std::map<std::string, std::string>& config) {
  auto r = call("GET", with_project(volume_path(name)));
  if (!r.ok()) return r.err();
  json::object put;
  put["description"] = r->body.at("metadata").as_object().contains("description")
                           ? r->body.at("metadata").at("description")
                           : json::value("");
  json::object c;
  for (const auto& [k, v] : string_members(r->body.at("metadata"), "config")) c[k] = v;
  for (const auto& [k, v] : config) {
    if (v.empty())
      c.erase(k);
    else
      c[k] = v;
  }
  put["config"] = std::move(c);
  auto w = call("PUT", with_project(volume_path(name)), json::serialize(put), r->etag);
  if (!w.ok()) return w.err();
  return wait_operation(*w);
}

specs::status incus_rest::delete_volume(const std::string& name) {
  auto r = call("DELETE", with_project(volume_path(name)));
  if (!r.ok()) return r.err().why == reason::not_found ? specs::done{} : specs::status(r.err());
  return wait_operation(*r);
}

specs::status incus_rest::freeze_instance(const std::string& name) {
  return change_state(name, "freeze", false);
}

specs::status incus_rest::unfreeze_instance(const std::string& name) {
  return change_state(name, "unfreeze", false);
}

// An instance's or a custom volume's API path.
std::string incus_rest::snapshot_owner_path(snapshot_of what, const std::string& name) const {
  return what == snapshot_of::instance ? "/1.0/instances/" + name : volume_path(name);
}

specs::result<std::vector<std::string>> incus_rest::list_snapshots(snapshot_of what,
                                                                   const std::string& name) {
  return list_names(with_project(snapshot_owner_path(what, name) + "/snapshots"));
}

specs::status incus_rest::create_snapshot(snapshot_of what, const std::string& name,
                                          const std::string& snapshot) {
  json::value body = {{"name", snapshot}};
  auto r = call("POST", with_project(snapshot_owner_path(what, name) + "/snapshots"),
                json::serialize(body));
  if (!r.ok())
    return r.err().why == reason::already_exists ? specs::done{} : specs::status(r.err());
  auto st = wait_operation(*r);
  if (!st.ok() && st.err().why == reason::already_exists) return specs::done{};
  return st;
}

specs::status incus_rest::delete_snapshot(snapshot_of what, const std::string& name,
                                          const std::string& snapshot) {
  auto r = call("DELETE", with_project(snapshot_owner_path(what, name) + "/snapshots/" + snapshot));
  if (!r.ok()) return r.err().why == reason::not_found ? specs::done{} : specs::status(r.err());
  auto st = wait_operation(*r);
  return !st.ok() && st.err().why == reason::not_found ? specs::done{} : st;
}

specs::status incus_rest::restore_snapshot(snapshot_of what, const std::string& name,
                                           const std::string& snapshot) {
  json::value body = {{"restore", snapshot}};
  if (what == snapshot_of::volume) {
    // A volume's PUT replaces its config too: send the one it has.
    auto cur = call("GET", with_project(volume_path(name)));
    if (!cur.ok()) return cur.err();
    json::object c;
    for (const auto& [k, v] : string_members(cur->body.at("metadata"), "config")) c[k] = v;
    body.as_object()["config"] = std::move(c);
  }
  auto r = call("PUT", with_project(snapshot_owner_path(what, name)), json::serialize(body));
  if (!r.ok()) return r.err();
  return wait_operation(*r);
}

specs::result<std::optional<std::int64_t>> incus_rest::snapshot_size(const std::string& instance,
                                                                   const std::string& snapshot) {
  auto r = call("GET", with_project("/1.0/instances/" + instance + "/snapshots/" + snapshot));
  if (!r.ok()) return r.err();
  auto size = specs::int_at(r->body, "metadata.size");  // -1: the driver does not say
  return size && *size >= 0 ? std::optional<std::int64_t>(*size) : std::nullopt;
}

}  // namespace rockpool::runtime
