// The fake Incus's storage: disk devices, custom volumes, freezing, and
// snapshots of instances and volumes (their files are copied, as a snapshot
// would keep them).
#include "rockpool/runtime/fake.hpp"

#include <algorithm>

namespace rockpool::runtime {

using specs::make_error;
using specs::reason;

specs::status fake_incus::set_disk_device(const std::string& instance, const disk_device& disk) {
  if (auto st = intercept("disk", instance + "/" + disk.name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  auto it = instances_.find(instance);
  if (it == instances_.end())
    return make_error(reason::not_found, "instance \"" + instance + "\" not found");
  if (!volumes_.count(disk.volume))
    return make_error(reason::not_found, "storage volume \"" + disk.volume + "\" not found");
  it->second.home = disk;
  return specs::done{};
}

specs::result<std::optional<volume_info>> fake_incus::get_volume(const std::string& name) {
  if (auto st = intercept("volume-get", name); !st.ok()) return st.err();
  std::lock_guard lk(mu_);
  auto it = volumes_.find(name);
  if (it == volumes_.end()) return std::optional<volume_info>{};
  return std::optional<volume_info>{it->second};
}

specs::status fake_incus::create_volume(const std::string& name, const std::string& size,
                                        const std::map<std::string, std::string>& config) {
  if (auto st = intercept("volume-create", name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  if (volumes_.count(name))
    return make_error(reason::already_exists, "storage volume \"" + name + "\" already exists");
  auto& v = volumes_[name];
  v.name = name;
  v.config = config;
  if (!size.empty()) v.config["size"] = incus_size(size);
  return specs::done{};
}

specs::status fake_incus::copy_volume(const std::string& name, const std::string& from_volume,
                                      const std::string& snapshot,
                                      const std::map<std::string, std::string>& config) {
  if (auto st = intercept("volume-copy", name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  if (volumes_.count(name))
    return make_error(reason::already_exists, "storage volume \"" + name + "\" already exists");
  auto snaps = snapshots_.find(snapshot_key(snapshot_of::volume, from_volume));
  if (snaps == snapshots_.end() || !snaps->second.count(snapshot))
    return make_error(reason::not_found,
                      "snapshot \"" + from_volume + "/" + snapshot + "\" not found");
  auto& v = volumes_[name];
  v.name = name;
  v.config = config;
  for (const auto& [path, content] : snaps->second.at(snapshot).files)
    files_[{"volume:" + name, path}] = content;
  return specs::done{};
}

specs::status fake_incus::update_volume(const std::string& name,
                                        const std::map<std::string, std::string>& config) {
  if (auto st = intercept("volume-update", name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  auto it = volumes_.find(name);
  if (it == volumes_.end())
    return make_error(reason::not_found, "storage volume \"" + name + "\" not found");
  for (const auto& [k, v] : config) {
    if (v.empty())
      it->second.config.erase(k);
    else
      it->second.config[k] = v;
  }
  return specs::done{};
}

specs::status fake_incus::delete_volume(const std::string& name) {
  if (auto st = intercept("volume-delete", name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  for (const auto& [n, inst] : instances_)
    if (inst.home && inst.home->volume == name)
      return make_error(reason::conflict, "storage volume \"" + name + "\" is in use by " + n);
  volumes_.erase(name);
  std::erase_if(files_, [&](const auto& f) { return f.first.first == "volume:" + name; });
  snapshots_.erase(snapshot_key(snapshot_of::volume, name));
  return specs::done{};
}

// Freezing and thawing: the status moves from `from` to `to`, as Incus's
// freeze and unfreeze actions do, or the call fails as Incus's would.
specs::status fake_incus::change_frozen(const std::string& op, const std::string& name,
                                        const char* from, const char* to) {
  if (auto st = intercept(op, name); !st.ok()) return st;
  std::lock_guard lk(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end())
    return make_error(reason::not_found, "instance \"" + name + "\" not found");
  if (it->second.status != from)
    return make_error(reason::conflict, "the instance isn't " + std::string(from));
  it->second.status = to;
  return specs::done{};
}

specs::status fake_incus::freeze_instance(const std::string& name) {
  return change_frozen("freeze", name, "Running", "Frozen");
}

specs::status fake_incus::unfreeze_instance(const std::string& name) {
  return change_frozen("unfreeze", name, "Frozen", "Running");
}

std::string fake_incus::snapshot_key(snapshot_of what, const std::string& name) {
  return (what == snapshot_of::instance ? "instance:" : "volume:") + name;
}

// The files an instance or volume holds, by path (the lock is held).
std::map<std::string, std::string> fake_incus::contents(snapshot_of what,
                                                        const std::string& name) const {
  auto owner = what == snapshot_of::instance ? name : "volume:" + name;
  std::map<std::string, std::string> out;
  for (const auto& [key, content] : files_)
    if (key.first == owner) out[key.second] = content;
  return out;
}

bool fake_incus::exists(snapshot_of what, const std::string& name) const {
  return what == snapshot_of::instance ? instances_.count(name) > 0 : volumes_.count(name) > 0;
}

specs::result<std::vector<std::string>> fake_incus::list_snapshots(snapshot_of what,
                                                                   const std::string& name) {
  if (auto st = intercept("snapshot-list", name); !st.ok()) return st.err();
  std::lock_guard lk(mu_);
  if (!exists(what, name)) return make_error(reason::not_found, "\"" + name + "\" not found");
  std::vector<std::string> names;
  if (auto it = snapshots_.find(snapshot_key(what, name)); it != snapshots_.end())
    for (const auto& [snap, saved] : it->second) names.push_back(snap);
  return names;
}

specs::status fake_incus::create_snapshot(snapshot_of what, const std::string& name,
                                          const std::string& snapshot) {
  if (auto st = intercept("snapshot-create", name + "/" + snapshot); !st.ok()) return st;
  std::lock_guard lk(mu_);
  if (!exists(what, name)) return make_error(reason::not_found, "\"" + name + "\" not found");
  auto& snaps = snapshots_[snapshot_key(what, name)];
  if (!snaps.count(snapshot)) {
    saved_state saved{contents(what, name), {}};
    if (what == snapshot_of::instance) saved.instance = instances_.at(name);
    snaps.emplace(snapshot, std::move(saved));
  }
  return specs::done{};
}

specs::result<std::optional<std::int64_t>> fake_incus::snapshot_size(const std::string& instance,
                                                                   const std::string& snapshot) {
  std::lock_guard lk(mu_);
  auto snaps = snapshots_.find(snapshot_key(snapshot_of::instance, instance));
  if (snaps == snapshots_.end() || !snaps->second.count(snapshot))
    return make_error(reason::not_found, "snapshot \"" + instance + "/" + snapshot + "\" not found");
  std::int64_t bytes = 0;  // the fake's files stand for its contents
  for (const auto& [path, content] : snaps->second.at(snapshot).files)
    bytes += static_cast<std::int64_t>(content.size());
  return std::optional<std::int64_t>(bytes);
}

specs::status fake_incus::delete_snapshot(snapshot_of what, const std::string& name,
                                          const std::string& snapshot) {
  if (auto st = intercept("snapshot-delete", name + "/" + snapshot); !st.ok()) return st;
  std::lock_guard lk(mu_);
  if (auto it = snapshots_.find(snapshot_key(what, name)); it != snapshots_.end())
    it->second.erase(snapshot);
  return specs::done{};
}

specs::status fake_incus::restore_snapshot(snapshot_of what, const std::string& name,
                                           const std::string& snapshot) {
  if (auto st = intercept("snapshot-restore", name + "/" + snapshot); !st.ok()) return st;
  std::lock_guard lk(mu_);
  auto snaps = snapshots_.find(snapshot_key(what, name));
  if (snaps == snapshots_.end() || !snaps->second.count(snapshot))
    return make_error(reason::not_found, "snapshot \"" + name + "/" + snapshot + "\" not found");
  const auto& saved = snaps->second.at(snapshot);
  for (const auto& [n, inst] : instances_) {
    bool uses = what == snapshot_of::instance ? n == name : inst.home && inst.home->volume == name;
    if (uses && inst.status != "Stopped")
      return make_error(reason::conflict, "cannot restore \"" + name + "\" while " + n + " runs");
  }
  auto owner = what == snapshot_of::instance ? name : "volume:" + name;
  std::erase_if(files_, [&](const auto& f) { return f.first.first == owner; });
  for (const auto& [path, content] : saved.files) files_[{owner, path}] = content;
  if (saved.instance) {
    auto status = instances_.at(name).status;
    instances_[name] = *saved.instance;
    instances_[name].status = status;
  }
  return specs::done{};
}

}  // namespace rockpool::runtime
