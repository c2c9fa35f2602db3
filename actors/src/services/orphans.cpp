#include "rockpool/actors/orphans.hpp"

namespace rockpool::actors {

namespace {
std::string config_of(const std::map<std::string, std::string>& config, const char* key) {
  auto it = config.find(key);
  return it == config.end() ? std::string() : it->second;
}
}  // namespace

specs::result<std::vector<orphan>> find_orphans(runtime::incus_client& incus,
                                                const owner_lookup& owner_uid) {
  auto managed = incus.managed_instances();
  if (!managed.ok()) return managed.err();
  std::vector<orphan> out;
  for (const auto& inst : *managed) {
    orphan o{inst.name, config_of(inst.config, runtime::owner_kind_key),
             config_of(inst.config, runtime::owner_name_key),
             config_of(inst.config, runtime::owner_uid_key), inst.home ? inst.home->volume : ""};
    auto uid = owner_uid(o.kind, o.name);
    if (!uid || *uid == o.uid) continue;  // cannot tell, or owned
    out.push_back(std::move(o));
  }
  return out;
}

specs::status delete_orphan(runtime::incus_client& incus, const orphan& o) {
  if (auto st = incus.delete_instance(o.instance); !st.ok() && st.err().why != specs::reason::not_found)
    return st;
  if (o.home_volume.empty()) return specs::done{};
  auto volume = incus.get_volume(o.home_volume);
  if (!volume.ok()) return volume.err();
  if (!*volume || config_of((*volume)->config, runtime::volume_owner_uid_key) != o.uid)
    return specs::done{};
  if (auto st = incus.delete_volume(o.home_volume);
      !st.ok() && st.err().why != specs::reason::not_found)
    return st;
  return specs::done{};
}

}  // namespace rockpool::actors
