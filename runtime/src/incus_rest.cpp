#include "rockpool/runtime/incus_rest.hpp"

#include "incus_exec.hpp"
#include "incus_rest_detail.hpp"

#include "rockpool/specs/json.hpp"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>
#include "rockpool/runtime/http.hpp"

#include <mutex>
#include <regex>
#include <thread>

namespace rockpool::runtime {

namespace json = boost::json;
using detail::string_members;
using specs::make_error;
using specs::reason;
using specs::string_at;

namespace {

reason reason_for(long code) {
  if (code == 404) return reason::not_found;
  if (code == 409) return reason::already_exists;
  if (code == 412) return reason::conflict;
  if (code == 400) return reason::bad_request;
  return reason::unavailable;
}

}  // namespace

incus_rest::incus_rest(incus_rest_options options) : options_(std::move(options)) {}

std::string incus_rest::where() const {
  return options_.url.empty() ? options_.socket : options_.url;
}

std::string incus_rest::with_project(const std::string& path) const {
  return path + (path.find('?') == std::string::npos ? "?" : "&") + "project=" + options_.project;
}

http_call incus_rest::request(const std::string& method, const std::string& path) const {
  http_call c;
  c.method = method;
  c.url = (options_.url.empty() ? std::string("http://incus") : options_.url) + path;
  if (options_.url.empty()) {
    c.unix_socket = options_.socket;
  } else {
    c.client_cert = options_.client_cert;
    c.client_key = options_.client_key;
    c.pinned_server_cert = options_.server_cert;
  }
  c.connect_timeout_ms = 5000;
  return c;
}

specs::result<incus_rest::response> incus_rest::call(const std::string& method,
                                                     const std::string& path,
                                                     const std::string& body,
                                                     const std::string& if_match) {
  auto c = request(method, path);
  c.headers.push_back("Content-Type: application/json");
  if (!if_match.empty()) c.headers.push_back("If-Match: " + if_match);
  c.body = body;
  c.connect_timeout_ms = 5000;
  c.timeout_ms = (options_.operation_timeout.count() + 30) * 1000;
  auto reply = http_perform(c);
  if (!reply.ok()) {
    ++calls_->unanswered;
    return make_error(reason::unavailable,
                      "Incus at " + where() + " does not answer: " + reply.err().message);
  }
  long http = reply->status;
  auto etag = reply->headers["etag"];
  while (!etag.empty() && etag.front() == '"') etag.erase(0, 1);
  while (!etag.empty() && etag.back() == '"') etag.pop_back();
  const auto& out = reply->body;
  auto parsed = specs::parse_json(out);
  if (!parsed.ok()) {
    ++calls_->unanswered;
    return make_error(reason::unavailable,
                      "Incus answered HTTP " + std::to_string(http) + " with a malformed body");
  }
  if (string_at(*parsed, "type") == "error" || http >= 400) {
    auto code = specs::int_at(*parsed, "error_code").value_or(http);
    ++(code == 404 ? calls_->not_found : calls_->error);
    spdlog::debug("Incus {} {}: HTTP {} {}", method, path, http, string_at(*parsed, "error"));
    return classify_incus_error(make_error(reason_for(code), "Incus: " + string_at(*parsed, "error")));
  }
  ++calls_->ok;
  return response{http, std::move(*parsed), etag};
}

specs::status incus_rest::wait_operation(const response& r) {
  if (string_at(r.body, "type") != "async") return specs::done{};
  auto op = string_at(r.body, "operation");
  auto w = call("GET", op + "/wait?timeout=" + std::to_string(options_.operation_timeout.count()));
  if (!w.ok()) return w.err();
  auto status = string_at(w->body, "metadata.status");
  if (status == "Success") return specs::done{};
  auto err = string_at(w->body, "metadata.err");
  return classify_incus_error(make_error(
      reason::unavailable,
      "Incus operation " + (status.empty() ? std::string("timed out") : "failed: " + err)));
}

namespace {
json::value nic_json(const nic_device& nic) {
  json::object d{{"type", "nic"}, {"network", nic.network}, {"name", nic.name}};
  if (!nic.ipv4_address.empty()) d["ipv4.address"] = nic.ipv4_address;
  if (nic.port_isolation) d["security.port_isolation"] = "true";
  return d;
}
}  // namespace

instance_info detail::instance_of(const json::value& m) {
  instance_info info;
  info.name = string_at(m, "name");
  info.status = string_at(m, "status");
  info.type = string_at(m, "type");
  info.config = string_members(m, "config");
  if (const auto* devs = m.as_object().if_contains("devices"); devs && devs->is_object())
    for (const auto& kv : devs->get_object()) {
      if (string_at(kv.value(), "type") == "proxy")
        info.proxies.push_back({std::string(kv.key()), string_at(kv.value(), "listen"),
                                string_at(kv.value(), "connect")});
      if (kv.key() == "root") info.root_size = string_at(kv.value(), "size");
      if (kv.key() == "home" && string_at(kv.value(), "type") == "disk")
        info.home =
            disk_device{"home", string_at(kv.value(), "source"), string_at(kv.value(), "path")};
      if (kv.key() == "eth0" && string_at(kv.value(), "type") == "nic") {
        auto d = string_members(kv.value());
        info.nic = nic_device{d["name"].empty() ? "eth0" : d["name"], d["network"],
                              d["ipv4.address"], d["security.port_isolation"] == "true"};
      }
    }
  if (const auto* ps = m.as_object().if_contains("profiles"); ps && ps->is_array())
    for (const auto& p : ps->get_array())
      if (p.is_string()) info.profiles.emplace_back(p.get_string());
  if (const auto* addrs = specs::find_path(m, "state.network.eth0.addresses");
      addrs && addrs->is_array())
    for (const auto& a : addrs->get_array())
      if (string_at(a, "family") == "inet") info.address = string_at(a, "address");
  return info;
}

specs::result<std::optional<instance_info>> incus_rest::get_instance(const std::string& name) {
  auto r = call("GET", with_project("/1.0/instances/" + name + "?recursion=1"));
  if (!r.ok()) {
    if (r.err().why == reason::not_found) return std::optional<instance_info>{};
    return r.err();
  }
  return std::optional<instance_info>{detail::instance_of(r->body.at("metadata"))};
}

specs::result<bool> incus_rest::image_exists(const std::string& image) {
  static const std::regex fingerprint("[0-9a-f]{12,64}");
  auto path = std::regex_match(image, fingerprint) ? "/1.0/images/" + image
                                                   : "/1.0/images/aliases/" + image;
  auto r = call("GET", with_project(path));
  if (r.ok()) return true;
  if (r.err().why == reason::not_found) return false;
  return r.err();
}

specs::status incus_rest::create_instance(const instance_spec& spec) {
  static const std::regex fingerprint("[0-9a-f]{12,64}");
  json::object config;
  for (const auto& [k, v] : instance_config(spec)) config[k] = v;
  json::object source{{"type", "image"}};
  source[std::regex_match(spec.image, fingerprint) ? "fingerprint" : "alias"] = spec.image;
  json::object devices;
  if (!spec.source_snapshot.empty()) {
    // A copy of a snapshot takes its devices unless the request names them:
    // the other workspace's proxies and NIC are masked ("none").
    auto slash = spec.source_snapshot.find('/');
    auto snap = call("GET", with_project("/1.0/instances/" + spec.source_snapshot.substr(0, slash) +
                                         "/snapshots/" + spec.source_snapshot.substr(slash + 1)));
    if (!snap.ok()) return snap.err();
    if (const auto* d = specs::find_path(snap->body, "metadata.devices"); d && d->is_object())
      for (const auto& kv : d->get_object()) devices[kv.key()] = json::object{{"type", "none"}};
    source = {{"type", "copy"}, {"source", spec.source_snapshot}};
  }
  json::object root{{"type", "disk"},
                    {"path", "/"},
                    {"pool", options_.storage_pool},
                    {"size", incus_size(spec.disk)}};
  json::array profiles;
  for (const auto& p : spec.profiles) profiles.push_back(json::string(p));
  devices["root"] = root;
  if (spec.nic) devices[spec.nic->name] = nic_json(*spec.nic);
  if (spec.home) devices[spec.home->name] = disk_json(*spec.home);
  json::value body = {{"name", spec.name}, {"type", spec.type},    {"source", source},
                      {"config", config},  {"profiles", profiles}, {"devices", devices}};
  auto r = call("POST", with_project("/1.0/instances"), json::serialize(body));
  if (!r.ok()) return r.err();
  return wait_operation(*r);
}

specs::status incus_rest::change_state(const std::string& name, const std::string& action,
                                       bool force) {
  json::value body = {{"action", action},
                      {"force", force},
                      {"timeout", static_cast<std::int64_t>(options_.stop_timeout.count())}};
  // Incus runs one operation per instance at a time; "busy" is transient.
  for (int attempt = 0;; ++attempt) {
    auto r = call("PUT", with_project("/1.0/instances/" + name + "/state"), json::serialize(body));
    specs::status st = r.ok() ? wait_operation(*r) : specs::status(r.err());
    if (st.ok() || attempt >= 20 || !incus_busy(st.err())) return st;
    spdlog::debug("Incus: {} {}: {}; retrying", action, name, st.err().message);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

specs::status incus_rest::start_instance(const std::string& name) {
  return change_state(name, "start", false);
}

specs::status incus_rest::stop_instance(const std::string& name) {
  if (change_state(name, "stop", false).ok()) return specs::done{};
  return change_state(name, "stop", true);  // graceful stop timed out or failed: force it
}

specs::status incus_rest::delete_instance(const std::string& name) {
  auto inst = get_instance(name);
  if (!inst.ok()) return inst.err();
  if (!*inst) return make_error(reason::not_found, "instance \"" + name + "\" not found");
  if ((*inst)->status != "Stopped")
    if (auto st = change_state(name, "stop", true); !st.ok()) return st;
  auto r = call("DELETE", with_project("/1.0/instances/" + name));
  if (!r.ok()) return r.err();
  return wait_operation(*r);
}

specs::status incus_rest::edit_instance(const std::string& instance,
                                        const std::function<bool(json::object&)>& edit) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto r = call("GET", with_project("/1.0/instances/" + instance));
    if (!r.ok()) return r.err();
    const auto& m = r->body.at("metadata").as_object();
    json::object put;
    for (const char* k :
         {"architecture", "config", "devices", "ephemeral", "profiles", "stateful", "description"})
      if (auto* v = m.if_contains(k)) put[k] = *v;
    if (!edit(put)) return specs::done{};  // already as wanted
    auto w = call("PUT", with_project("/1.0/instances/" + instance), json::serialize(put), r->etag);
    if (w.ok()) return wait_operation(*w);
    bool busy = incus_busy(w.err());
    if (w.err().why != reason::conflict && !busy) return w.err();  // 412 or busy: retry
    if (busy) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return make_error(reason::conflict,
                    "instance " + instance + " kept changing while it was being edited");
}

specs::status incus_rest::update_instance(const std::string& name, const instance_update& u) {
  return edit_instance(name, [&](json::object& put) {
    bool changed = false;
    auto& config = specs::ensure_object(put, "config");
    for (const auto& [k, v] : u.config)
      if (auto* cur = config.if_contains(k); !cur || *cur != json::value(v)) {
        config[k] = v;
        changed = true;
      }
    if (u.profiles) {
      json::array want;
      for (const auto& p : *u.profiles) want.push_back(json::string(p));
      if (put["profiles"] != json::value(want)) {
        put["profiles"] = std::move(want);
        changed = true;
      }
    }
    if (!u.root_size.empty()) {
      auto& root = specs::ensure_object(specs::ensure_object(put, "devices"), "root");
      if (string_at(json::value(root), "size") != u.root_size) {
        root["size"] = u.root_size;
        changed = true;
      }
    }
    return changed;
  });
}

specs::status incus_rest::set_proxy_device(const std::string& instance, const proxy_device& d) {
  return edit_instance(instance, [&](json::object& put) {
    auto& devices = specs::ensure_object(put, "devices");
    json::value want = {
        {"type", "proxy"}, {"listen", d.listen}, {"connect", d.connect}, {"bind", "host"}};
    if (auto* cur = devices.if_contains(d.name); cur && *cur == want) return false;
    devices[d.name] = std::move(want);
    return true;
  });
}

specs::status incus_rest::remove_proxy_device(const std::string& instance, const std::string& d) {
  auto st = edit_instance(instance, [&](json::object& put) {
    return specs::ensure_object(put, "devices").erase(d) > 0;
  });
  if (!st.ok() && st.err().why == reason::not_found) return specs::done{};
  return st;
}

specs::status incus_rest::set_nic_device(const std::string& instance, const nic_device& nic) {
  return edit_instance(instance, [&](json::object& put) {
    auto& devices = specs::ensure_object(put, "devices");
    auto want = nic_json(nic);
    if (auto* cur = devices.if_contains(nic.name); cur && *cur == want) return false;
    devices[nic.name] = std::move(want);
    return true;
  });
}

json::value incus_rest::disk_json(const disk_device& d) const {
  return {
      {"type", "disk"}, {"pool", options_.storage_pool}, {"source", d.volume}, {"path", d.path}};
}

specs::status incus_rest::set_disk_device(const std::string& instance, const disk_device& disk) {
  return edit_instance(instance, [&](json::object& put) {
    auto& devices = specs::ensure_object(put, "devices");
    auto want = disk_json(disk);
    if (auto* cur = devices.if_contains(disk.name); cur && *cur == want) return false;
    devices[disk.name] = std::move(want);
    return true;
  });
}

specs::result<std::string> incus_rest::read_file(const std::string& instance,
                                                 const std::string& path, std::size_t max_bytes) {
  auto c = request("GET",
                   with_project("/1.0/instances/" + instance + "/files?path=" + url_encode(path)));
  c.timeout_ms = 30000;
  // Keep the file's tail: a log grows at its end. Past 64 MiB the transfer stops.
  std::string tail;
  long status = 0;
  c.on_data = [&](std::string_view chunk, long code) {
    status = code;
    tail.append(chunk);
    if (tail.size() > 2 * max_bytes) tail.erase(0, tail.size() - max_bytes);
    return tail.size() < (64u << 20);
  };
  auto reply = http_perform(c);
  if (!reply.ok())
    return make_error(reason::unavailable,
                      "Incus at " + where() + " does not answer: " + reply.err().message);
  if (reply->status == 0) reply->status = status;
  if (reply->status >= 400) {
    auto parsed = specs::parse_json(tail);
    auto message = parsed.ok() ? string_at(*parsed, "error") : tail.substr(0, 200);
    return make_error(reply->status == 404 ? reason::not_found : reason_for(reply->status),
                      "Incus: " + message + " (" + path + " in " + instance + ")");
  }
  if (tail.size() > max_bytes) tail.erase(0, tail.size() - max_bytes);
  return tail;
}

specs::result<std::unique_ptr<exec_session>> incus_rest::exec(const std::string& instance,
                                                              const exec_request& x) {
  if (!options_.url.empty())
    return make_error(reason::unavailable,
                      "exec reaches Incus only on its unix socket (not --incus-url) for now");
  json::array command;
  for (const auto& c : x.command) command.push_back(json::string(c));
  json::object env;
  for (const auto& [k, v] : x.environment) env[k] = v;
  json::object body{{"command", std::move(command)},
                    {"environment", std::move(env)},
                    {"interactive", x.tty},
                    {"wait-for-websocket", true},
                    {"record-output", false},
                    {"user", x.uid},
                    {"group", x.gid},
                    {"width", x.width},
                    {"height", x.height}};
  if (!x.cwd.empty()) body["cwd"] = x.cwd;
  spdlog::debug("Incus exec in {}: {}", instance, json::serialize(body));
  auto r =
      call("POST", with_project("/1.0/instances/" + instance + "/exec"), json::serialize(body));
  if (!r.ok()) return r.err();
  auto operation = string_at(r->body, "operation");
  const auto* fds = specs::find_path(r->body, "metadata.metadata.fds");
  if (operation.empty() || fds == nullptr || !fds->is_object())
    return make_error(reason::unavailable, "Incus exec answered without its websockets");
  auto op = operation.substr(0, operation.find('?'));
  auto wait_for_exit = [this, op]() -> specs::result<int> {
    // The command may run for hours: wait in rounds of the operation timeout.
    for (;;) {
      auto w = call(
          "GET",
          with_project(op + "/wait?timeout=" + std::to_string(options_.operation_timeout.count())));
      if (!w.ok()) return w.err();
      auto status = string_at(w->body, "metadata.status");
      if (status == "Running") continue;
      if (auto code = specs::int_at(w->body, "metadata.metadata.return"))
        return static_cast<int>(*code);
      return make_error(reason::unavailable, "Incus exec ended without an exit code: " +
                                                 string_at(w->body, "metadata.err"));
    }
  };
  return attach_exec(options_.socket, options_.project, op, fds->get_object(), x.tty,
                     std::move(wait_for_exit));
}

}  // namespace rockpool::runtime
