#include "rockpool/runtime/fake.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace rockpool::runtime {

using specs::make_error;
using specs::reason;

fake_incus::fake_incus() {
  images_.insert("rockpool-tiny");
}

specs::status fake_incus::enter(const std::string& op, const std::string& name) {
  std::function<void(const std::string&)> hook;
  {
    std::lock_guard lk(mu_);
    ++operations_;
    journal_.push_back(op + " " + name);
    hook = hook_;
    if (throws_.erase(op) > 0) throw std::runtime_error("injected crash in " + op);
    if (auto it = failures_.find(op); it != failures_.end() && it->second.first > 0) {
      --it->second.first;
      return make_error(reason::unavailable, it->second.second.empty() ? "injected failure of " + op
                                                                       : it->second.second);
    }
  }
  if (hook) hook(op);
  return specs::done{};
}

specs::result<std::optional<instance_info>> fake_incus::get_instance(const std::string& name) {
  if (auto st = enter("get", name); !st.ok()) return st.err();
  std::lock_guard lk(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return std::optional<instance_info>{};
  return std::optional<instance_info>{it->second};
}

specs::result<bool> fake_incus::image_exists(const std::string& image) {
  if (auto st = enter("image", image); !st.ok()) return st.err();
  std::lock_guard lk(mu_);
  return images_.count(image) > 0;
}

specs::status fake_incus::create_instance(const instance_spec& spec) {
  if (auto st = enter("create", spec.name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  if (!images_.count(spec.image))
    return make_error(reason::not_found, "image \"" + spec.image + "\" not found");
  if (instances_.count(spec.name))
    return make_error(reason::already_exists, "instance \"" + spec.name + "\" already exists");
  instances_[spec.name] = instance_info{
      spec.name,    "Stopped", spec.type, instance_config(spec), {}, {}, incus_size(spec.disk),
      spec.profiles};
  ++creates_;
  return specs::done{};
}

specs::status fake_incus::start_instance(const std::string& name) {
  if (auto st = enter("start", name); !st.ok()) return st;
  if (start_latency_.count() > 0) std::this_thread::sleep_for(start_latency_);
  std::lock_guard lk(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end())
    return make_error(reason::not_found, "instance \"" + name + "\" not found");
  it->second.status = "Running";
  ++starts_;
  return specs::done{};
}

specs::status fake_incus::stop_instance(const std::string& name) {
  if (auto st = enter("stop", name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end())
    return make_error(reason::not_found, "instance \"" + name + "\" not found");
  it->second.status = "Stopped";
  return specs::done{};
}

specs::status fake_incus::delete_instance(const std::string& name) {
  if (auto st = enter("delete", name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  if (instances_.erase(name) == 0)
    return make_error(reason::not_found, "instance \"" + name + "\" not found");
  return specs::done{};
}

specs::status fake_incus::update_instance(const std::string& name, const instance_update& u) {
  if (auto st = enter("update", name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end())
    return make_error(reason::not_found, "instance \"" + name + "\" not found");
  for (const auto& [k, v] : u.config) it->second.config[k] = v;
  if (!u.root_size.empty()) it->second.root_size = u.root_size;
  if (u.profiles) it->second.profiles = *u.profiles;
  return specs::done{};
}

specs::status fake_incus::set_proxy_device(const std::string& instance, const proxy_device& d) {
  if (auto st = enter("proxy-add", instance + "/" + d.name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  auto it = instances_.find(instance);
  if (it == instances_.end())
    return make_error(reason::not_found, "instance \"" + instance + "\" not found");
  auto& p = it->second.proxies;
  std::erase_if(p, [&](const proxy_device& x) { return x.name == d.name; });
  p.push_back(d);
  return specs::done{};
}

specs::status fake_incus::remove_proxy_device(const std::string& instance, const std::string& d) {
  if (auto st = enter("proxy-remove", instance + "/" + d); !st.ok()) return st;
  std::lock_guard lk(mu_);
  auto it = instances_.find(instance);
  if (it != instances_.end())
    std::erase_if(it->second.proxies, [&](const proxy_device& x) { return x.name == d; });
  return specs::done{};
}

void fake_incus::add_image(const std::string& image) {
  std::lock_guard lk(mu_);
  images_.insert(image);
}

void fake_incus::fail_next(const std::string& operation, int n, std::string message) {
  std::lock_guard lk(mu_);
  failures_[operation] = {n, std::move(message)};
}

void fake_incus::throw_next(const std::string& operation) {
  std::lock_guard lk(mu_);
  throws_.insert(operation);
}

void fake_incus::on_operation(std::function<void(const std::string&)> hook) {
  std::lock_guard lk(mu_);
  hook_ = std::move(hook);
}

void fake_incus::crash(const std::string& name) {
  std::lock_guard lk(mu_);
  if (auto it = instances_.find(name); it != instances_.end()) it->second.status = "Stopped";
}

void fake_incus::vanish(const std::string& name) {
  std::lock_guard lk(mu_);
  instances_.erase(name);
}

void fake_incus::add_foreign_instance(const std::string& name) {
  std::lock_guard lk(mu_);
  instances_[name] = instance_info{name, "Running", "container", {}, {}, {}, {}, {"default"}};
}

std::size_t fake_incus::instance_count() const {
  std::lock_guard lk(mu_);
  return instances_.size();
}

std::vector<std::string> fake_incus::journal() const {
  std::lock_guard lk(mu_);
  return journal_;
}

specs::status fake_routes::upsert(const route& r) {
  std::lock_guard lk(mu_);
  if (failures_ > 0) {
    --failures_;
    return make_error(reason::unavailable, "injected route table failure");
  }
  if (journal_) journal_("route-upsert " + r.id);
  routes_[r.id] = r;
  return specs::done{};
}

specs::status fake_routes::remove(const std::string& id) {
  std::lock_guard lk(mu_);
  if (journal_ && routes_.count(id)) journal_("route-remove " + id);
  routes_.erase(id);
  return specs::done{};
}

specs::result<bool> fake_routes::answers(const route& r) {
  std::lock_guard lk(mu_);
  auto it = routes_.find(r.id);
  return it != routes_.end() && it->second == r;
}

std::size_t fake_routes::size() const {
  std::lock_guard lk(mu_);
  return routes_.size();
}

bool fake_routes::contains(const std::string& id) const {
  std::lock_guard lk(mu_);
  return routes_.count(id) > 0;
}

}  // namespace rockpool::runtime
