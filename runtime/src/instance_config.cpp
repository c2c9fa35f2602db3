#include "rockpool/runtime/incus.hpp"

namespace rockpool::runtime {

std::string incus_size(const std::string& size) {
  if (size.size() > 2 && (size.ends_with("Mi") || size.ends_with("Gi") || size.ends_with("Ti")))
    return size + "B";
  return size;
}

std::map<std::string, std::string> instance_config(const instance_spec& spec) {
  std::map<std::string, std::string> config{{"limits.cpu", std::to_string(spec.cpu)},
                                            {"limits.memory", incus_size(spec.memory)},
                                            {"security.nesting", spec.nesting ? "true" : "false"},
                                            {image_key, spec.image}};
  for (const auto& [k, v] : spec.config) config[k] = v;
  return config;
}

update_plan plan_update(const instance_info& have, const instance_spec& want) {
  update_plan plan;
  auto current = [&](const std::string& key) {
    auto it = have.config.find(key);
    return it == have.config.end() ? std::string() : it->second;
  };
  bool vm = have.type == "virtual-machine";
  auto want_config = instance_config(want);
  struct field {
    const char* name;
    const char* key;
    bool live;
  };
  for (const auto& f :
       {field{"resources.cpu", "limits.cpu", true}, field{"resources.memory", "limits.memory", !vm},
        field{"nesting", "security.nesting", false}}) {
    const auto& value = want_config.at(f.key);
    // An unset security.nesting is "false".
    if (current(f.key) == value || (current(f.key).empty() && value == "false")) continue;
    (f.live ? plan.live : plan.at_restart).config[f.key] = value;
    (f.live ? plan.live_fields : plan.restart_fields).push_back(f.name);
  }
  // The init's environment is read when it starts.
  bool env_changed = false;
  for (const auto& [key, value] : want_config)
    if (key.starts_with(environment_prefix) && current(key) != value) {
      plan.at_restart.config[key] = value;
      env_changed = true;
    }
  for (const auto& [key, value] : have.config)
    if (key.starts_with(environment_prefix) && !want_config.contains(key)) {
      plan.at_restart.config[key] = "";  // Incus drops a key set to ""
      env_changed = true;
    }
  if (env_changed) plan.restart_fields.push_back("environment");
  if (have.profiles != want.profiles) {
    plan.live.profiles = want.profiles;
    plan.live_fields.push_back("profiles");
  }
  if (auto disk = incus_size(want.disk); !have.root_size.empty() && have.root_size != disk) {
    plan.live.root_size = disk;
    plan.live_fields.push_back("resources.disk");
  }
  // Instances made before the image key existed are not second-guessed.
  if (auto image = current(image_key); !image.empty() && image != want.image)
    plan.recreate_fields.push_back("image");
  if (!have.type.empty() && have.type != want.type) plan.recreate_fields.push_back("type");
  return plan;
}

}  // namespace rockpool::runtime
