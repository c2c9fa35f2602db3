#include "rockpool/specs/object_model.hpp"

#include <boost/json.hpp>

namespace rockpool::specs {

const char* effect_name(write_effect e) {
  switch (e) {
    case write_effect::created:
      return "created";
    case write_effect::configured:
      return "configured";
    case write_effect::unchanged:
      return "unchanged";
    case write_effect::deleted:
      return "deleted";
    case write_effect::terminating:
      return "terminating";
  }
  return "unchanged";
}

std::optional<write_effect> parse_effect(std::string_view name) {
  for (auto e : {write_effect::created, write_effect::configured, write_effect::unchanged,
                 write_effect::deleted, write_effect::terminating})
    if (name == effect_name(e)) return e;
  return std::nullopt;
}

json::value apply_merge_patch(const json::value& target, const json::value& patch) {
  if (!patch.is_object()) return patch;
  json::value result = target.is_object() ? target : json::value(json::object{});
  auto& obj = result.get_object();
  for (const auto& kv : patch.get_object()) {
    if (kv.value().is_null()) {
      obj.erase(kv.key());
    } else {
      const json::value* existing = obj.if_contains(kv.key());
      obj[kv.key()] = apply_merge_patch(existing ? *existing : json::value(), kv.value());
    }
  }
  return result;
}

std::string annotation(const json::value& obj, std::string_view key) {
  const auto* ann = find_path(obj, "metadata.annotations");
  if (ann == nullptr || !ann->is_object()) return {};
  const auto* v = ann->get_object().if_contains(key);
  return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
}

}  // namespace rockpool::specs
