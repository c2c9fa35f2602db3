#include "rockpool/runtime/fake.hpp"

#include <condition_variable>
#include <cstdlib>
#include <deque>

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace rockpool::runtime {

using specs::make_error;
using specs::reason;

fake_incus::fake_incus() {
  images_.insert("rockpool-tiny");
}

specs::status fake_incus::intercept(const std::string&, const std::string&) {
  return specs::done{};
}

void fake_incus::edit_instances(
    const std::function<void(std::map<std::string, instance_info>&)>& change) {
  std::lock_guard lk(mu_);
  change(instances_);
}

specs::result<std::optional<instance_info>> fake_incus::get_instance(const std::string& name) {
  if (auto st = intercept("get", name); !st.ok()) return st.err();
  std::lock_guard lk(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return std::optional<instance_info>{};
  return std::optional<instance_info>{it->second};
}

specs::result<std::vector<instance_info>> fake_incus::managed_instances() {
  if (auto st = intercept("list", ""); !st.ok()) return st.err();
  std::lock_guard lk(mu_);
  std::vector<instance_info> out;
  for (const auto& [name, info] : instances_)
    if (info.config.count(owner_kind_key)) out.push_back(info);
  return out;
}

specs::result<bool> fake_incus::image_exists(const std::string& image) {
  if (auto st = intercept("image", image); !st.ok()) return st.err();
  std::lock_guard lk(mu_);
  return images_.count(image) > 0;
}

specs::status fake_incus::create_instance(const instance_spec& spec) {
  if (auto st = intercept("create", spec.name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  if (!images_.count(spec.image) && spec.source_snapshot.empty())
    return make_error(reason::not_found, "image \"" + spec.image + "\" not found");
  if (instances_.count(spec.name))
    return make_error(reason::already_exists, "instance \"" + spec.name + "\" already exists");
  if (spec.nic && !networks_.count(spec.nic->network))
    return make_error(reason::not_found, "network \"" + spec.nic->network + "\" not found");
  if (spec.home && !volumes_.count(spec.home->volume))
    return make_error(reason::not_found, "storage volume \"" + spec.home->volume + "\" not found");
  const saved_state* from = nullptr;
  if (!spec.source_snapshot.empty()) {
    auto slash = spec.source_snapshot.find('/');
    auto snaps =
        snapshots_.find(snapshot_key(snapshot_of::instance, spec.source_snapshot.substr(0, slash)));
    if (snaps == snapshots_.end() || !snaps->second.count(spec.source_snapshot.substr(slash + 1)))
      return make_error(reason::not_found, "snapshot \"" + spec.source_snapshot + "\" not found");
    from = &snaps->second.at(spec.source_snapshot.substr(slash + 1));
  }
  if (from != nullptr)
    for (const auto& [path, content] : from->files) files_[{spec.name, path}] = content;
  instances_[spec.name] = instance_info{
      spec.name,     "Stopped", spec.type, instance_config(spec), {}, {}, incus_size(spec.disk),
      spec.profiles, spec.nic,  spec.home};
  ++creates_;
  return specs::done{};
}

specs::status fake_incus::start_instance(const std::string& name) {
  if (auto st = intercept("start", name); !st.ok()) return st;
  if (start_latency_.count() > 0) std::this_thread::sleep_for(start_latency_);
  std::lock_guard lk(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end())
    return make_error(reason::not_found, "instance \"" + name + "\" not found");
  auto& inst = it->second;
  if (inst.nic && !networks_.count(inst.nic->network))
    return make_error(reason::not_found, "network \"" + inst.nic->network + "\" not found");
  inst.status = "Running";
  // The bridge's DHCP server hands out the NIC's static address.
  inst.address = inst.nic ? inst.nic->ipv4_address : std::string();
  ++starts_;
  return specs::done{};
}

specs::status fake_incus::stop_instance(const std::string& name) {
  if (auto st = intercept("stop", name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end())
    return make_error(reason::not_found, "instance \"" + name + "\" not found");
  it->second.status = "Stopped";
  it->second.address.clear();
  return specs::done{};
}

specs::status fake_incus::delete_instance(const std::string& name) {
  if (auto st = intercept("delete", name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  if (instances_.erase(name) == 0)
    return make_error(reason::not_found, "instance \"" + name + "\" not found");
  std::erase_if(files_, [&](const auto& f) { return f.first.first == name; });
  snapshots_.erase(snapshot_key(snapshot_of::instance, name));
  return specs::done{};
}

specs::status fake_incus::update_instance(const std::string& name, const instance_update& u) {
  if (auto st = intercept("update", name); !st.ok()) return st;
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
  if (auto st = intercept("proxy-add", instance + "/" + d.name); !st.ok()) return st;
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
  if (auto st = intercept("proxy-remove", instance + "/" + d); !st.ok()) return st;
  std::lock_guard lk(mu_);
  auto it = instances_.find(instance);
  if (it != instances_.end())
    std::erase_if(it->second.proxies, [&](const proxy_device& x) { return x.name == d; });
  return specs::done{};
}

specs::status fake_incus::set_nic_device(const std::string& instance, const nic_device& nic) {
  if (auto st = intercept("nic", instance + "/" + nic.name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  auto it = instances_.find(instance);
  if (it == instances_.end())
    return make_error(reason::not_found, "instance \"" + instance + "\" not found");
  if (!networks_.count(nic.network))
    return make_error(reason::not_found, "network \"" + nic.network + "\" not found");
  it->second.nic = nic;
  if (it->second.status == "Running") it->second.address = nic.ipv4_address;
  return specs::done{};
}

specs::result<std::optional<network_info>> fake_incus::get_network(const std::string& name) {
  if (auto st = intercept("network-get", name); !st.ok()) return st.err();
  std::lock_guard lk(mu_);
  auto it = networks_.find(name);
  if (it == networks_.end()) return std::optional<network_info>{};
  return std::optional<network_info>{it->second};
}

specs::status fake_incus::create_network(const network_spec& spec) {
  if (auto st = intercept("network-create", spec.name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  if (networks_.count(spec.name))
    return make_error(reason::already_exists, "network \"" + spec.name + "\" already exists");
  network_info n{spec.name, "bridge", true, "Created", spec.description, spec.config};
  n.config["ipv4.address"] = spec.address;
  n.config["ipv4.nat"] = "true";
  n.config["ipv6.address"] = "none";
  networks_[spec.name] = std::move(n);
  return specs::done{};
}

std::pair<std::string, std::string> fake_incus::file_key(const std::string& instance,
                                                         const std::string& path) const {
  auto it = instances_.find(instance);
  if (it != instances_.end() && it->second.home && path.starts_with(it->second.home->path + "/"))
    return {"volume:" + it->second.home->volume, path.substr(it->second.home->path.size())};
  return {instance, path};
}

namespace {

// A fake command: output queued at once or echoed from stdin, an exit code
// known at the start or when stdin ends or a signal comes.
class fake_exec_session final : public exec_session {
 public:
  fake_exec_session(bool echo, bool waits, std::shared_ptr<std::vector<int>> signals,
                    std::mutex& signals_mu)
      : echo_(echo), waits_(waits), signals_(std::move(signals)), signals_mu_(signals_mu) {}
  void emit(int fd, std::string bytes) {
    std::lock_guard lk(mu_);
    out_.emplace_back(fd, std::move(bytes));
    cv_.notify_all();
  }
  void end(int code) {
    std::lock_guard lk(mu_);
    if (code_) return;
    code_ = code;
    cv_.notify_all();
  }
  void write_stdin(std::string bytes) override {
    if (echo_ && !bytes.empty()) emit(1, std::move(bytes));
  }
  void close_stdin() override {
    if (echo_) end(0);
  }
  void resize(unsigned, unsigned) override {}
  void signal(int n) override {
    {
      std::lock_guard lk(signals_mu_);
      signals_->push_back(n);
    }
    end(128 + n);
  }
  bool read(int& fd, std::string& bytes) override {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return !out_.empty() || code_; });
    if (out_.empty()) return false;
    fd = out_.front().first;
    bytes = std::move(out_.front().second);
    out_.pop_front();
    return true;
  }
  specs::result<int> wait() override {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return code_.has_value(); });
    return *code_;
  }

 private:
  bool echo_, waits_;
  std::shared_ptr<std::vector<int>> signals_;
  std::mutex& signals_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<int, std::string>> out_;
  std::optional<int> code_;
};

}  // namespace

specs::result<std::unique_ptr<exec_session>> fake_incus::exec(const std::string& instance,
                                                              const exec_request& request) {
  if (auto st = intercept("exec", instance); !st.ok()) return st.err();
  const auto& c = request.command;
  bool echo = c.size() == 1 && c[0] == "cat";
  bool waits = !c.empty() && c[0] == "sleep";
  auto s = std::make_unique<fake_exec_session>(echo, waits, signals_, mu_);
  std::lock_guard lk(mu_);
  auto it = instances_.find(instance);
  if (it == instances_.end() || it->second.status != "Running")
    return make_error(reason::conflict, "instance \"" + instance + "\" is not running");
  if (echo || waits) return std::unique_ptr<exec_session>(std::move(s));
  if (!c.empty() && c[0] == "echo") {
    std::string line;
    for (std::size_t i = 1; i < c.size(); ++i) line += (i > 1 ? " " : "") + c[i];
    s->emit(1, line + "\n");
    s->end(0);
  } else if (c.size() == 2 && c[0] == "cat") {
    auto f = files_.find(file_key(instance, c[1]));
    if (f != files_.end()) {
      s->emit(1, f->second);
      s->end(0);
    } else {
      s->emit(2, "cat: " + c[1] + ": No such file or directory\n");
      s->end(1);
    }
  } else if (c.size() == 3 && c[0] == "sh" && c[1] == "-c" && c[2].starts_with("exit ")) {
    s->end(std::atoi(c[2].c_str() + 5));
  } else {
    s->emit(2, "fake exec: " + (c.empty() ? std::string() : c[0]) + ": not found\n");
    s->end(127);
  }
  return std::unique_ptr<exec_session>(std::move(s));
}

std::vector<int> fake_incus::exec_signals() const {
  std::lock_guard lk(mu_);
  return *signals_;
}

std::size_t fake_incus::volume_count() const {
  std::lock_guard lk(mu_);
  return volumes_.size();
}

specs::result<std::string> fake_incus::read_file(const std::string& instance,
                                                 const std::string& path, std::size_t max_bytes) {
  if (auto st = intercept("file", instance + path); !st.ok()) return st.err();
  std::lock_guard lk(mu_);
  if (!instances_.count(instance))
    return make_error(reason::not_found, "instance \"" + instance + "\" not found");
  auto it = files_.find(file_key(instance, path));
  if (it == files_.end()) return make_error(reason::not_found, "file " + path + " not found");
  const auto& c = it->second;
  return c.size() > max_bytes ? c.substr(c.size() - max_bytes) : c;
}

void fake_incus::put_file(const std::string& instance, const std::string& path,
                          std::string content) {
  std::lock_guard lk(mu_);
  files_[file_key(instance, path)] = std::move(content);
}

void fake_incus::put_network(network_info n) {
  std::lock_guard lk(mu_);
  networks_[n.name] = std::move(n);
}

void fake_incus::drop_network(const std::string& name) {
  std::lock_guard lk(mu_);
  networks_.erase(name);
  // Instances lose their address with the bridge.
  for (auto& [_, inst] : instances_)
    if (inst.nic && inst.nic->network == name) inst.address.clear();
}

void fake_incus::add_image(const std::string& image) {
  std::lock_guard lk(mu_);
  images_.insert(image);
}

std::size_t fake_incus::instance_count() const {
  std::lock_guard lk(mu_);
  return instances_.size();
}

specs::status fake_routes::intercept(const std::string&, const std::string&) {
  return specs::done{};
}

specs::status fake_routes::upsert(const route& r) {
  if (auto st = intercept("route-upsert", r.id); !st.ok()) return st;
  std::lock_guard lk(mu_);
  routes_[r.id] = r;
  return specs::done{};
}

specs::status fake_routes::remove(const std::string& id) {
  if (auto st = intercept("route-remove", id); !st.ok()) return st;
  std::lock_guard lk(mu_);
  routes_.erase(id);
  return specs::done{};
}

specs::result<bool> fake_routes::answers(const route& r) {
  std::lock_guard lk(mu_);
  auto it = routes_.find(r.id);
  return it != routes_.end() && it->second == r;
}

specs::result<probe_answer> fake_routes::probe(const route& r, const std::string&) {
  auto in_place = answers(r);
  if (!in_place.ok()) return in_place.err();
  if (!*in_place) return make_error(reason::unavailable, "route " + r.id + " is not in place");
  return probe_answer{404, "not found"};
}

specs::result<std::map<std::string, int>> fake_routes::in_flight() {
  std::lock_guard lk(mu_);
  return in_flight_;
}

void fake_routes::set_in_flight(std::map<std::string, int> counts) {
  std::lock_guard lk(mu_);
  in_flight_ = std::move(counts);
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
