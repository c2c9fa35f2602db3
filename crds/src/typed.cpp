#include "rockpool/crds/typed.hpp"

#include <cmath>

namespace rockpool::crds {

specs::error wrong_type(std::string_view path, std::string_view expected) {
  return specs::make_error(specs::reason::invalid,
                           std::string(path) + ": expected " + std::string(expected));
}

specs::status read_value(const json::value& v, std::string& out, std::string_view path) {
  if (!v.is_string()) return wrong_type(path, "a string");
  out = std::string(v.get_string());
  return specs::done{};
}

specs::status read_value(const json::value& v, std::int64_t& out, std::string_view path) {
  if (v.is_int64()) {
    out = v.get_int64();
  } else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    out = static_cast<std::int64_t>(v.get_uint64());
  } else if (v.is_double() && v.get_double() >= -9.2e18 && v.get_double() <= 9.2e18 &&
             v.get_double() == std::trunc(v.get_double())) {
    out = static_cast<std::int64_t>(v.get_double());  // 3.0 is the integer 3
  } else {
    return wrong_type(path, "an integer");
  }
  return specs::done{};
}

specs::status read_value(const json::value& v, double& out, std::string_view path) {
  if (!v.is_number()) return wrong_type(path, "a number");
  out = v.to_number<double>();
  return specs::done{};
}

specs::status read_value(const json::value& v, bool& out, std::string_view path) {
  if (!v.is_bool()) return wrong_type(path, "a boolean");
  out = v.get_bool();
  return specs::done{};
}

specs::status read_value(const json::value& v, json::value& out, std::string_view) {
  out = v;
  return specs::done{};
}

namespace {

specs::status read_owner(const json::value& v, owner_reference& out, std::string_view path) {
  if (!v.is_object()) return wrong_type(path, "an object");
  const auto& o = v.get_object();
  for (auto [key, field] : {std::pair{"apiVersion", &out.api_version}, std::pair{"kind", &out.kind},
                            std::pair{"name", &out.name}, std::pair{"uid", &out.uid}})
    if (auto st = read_field(o, key, *field, path); !st.ok()) return st;
  return read_field(o, "controller", out.controller, path);
}

}  // namespace

specs::result<object_meta> object_meta::of(const json::value& obj) {
  object_meta m;
  const auto* md = obj.is_object() ? obj.get_object().if_contains("metadata") : nullptr;
  if (md == nullptr || !md->is_object()) return wrong_type("metadata", "an object");
  const auto& o = md->get_object();
  const std::string_view at = "metadata";
  for (auto [key, field] : {std::pair{"name", &m.name}, std::pair{"uid", &m.uid},
                            std::pair{"resourceVersion", &m.resource_version}})
    if (auto st = read_field(o, key, *field, at); !st.ok()) return st.err();
  if (auto st = read_field(o, "generation", m.generation, at); !st.ok()) return st.err();
  if (auto st = read_field(o, "creationTimestamp", m.creation_timestamp, at); !st.ok())
    return st.err();
  if (auto st = read_field(o, "deletionTimestamp", m.deletion_timestamp, at); !st.ok())
    return st.err();
  if (auto st = read_field(o, "labels", m.labels, at); !st.ok()) return st.err();
  if (auto st = read_field(o, "annotations", m.annotations, at); !st.ok()) return st.err();
  if (auto st = read_field(o, "finalizers", m.finalizers, at); !st.ok()) return st.err();
  if (const auto* refs = o.if_contains("ownerReferences"); refs && !refs->is_null()) {
    if (!refs->is_array()) return wrong_type("metadata.ownerReferences", "an array");
    std::size_t i = 0;
    for (const auto& r : refs->get_array())
      if (auto st = read_owner(r, m.owner_references.emplace_back(),
                               "metadata.ownerReferences[" + std::to_string(i++) + "]");
          !st.ok())
        return st.err();
  }
  return m;
}

}  // namespace rockpool::crds
