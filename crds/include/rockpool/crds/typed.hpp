#pragma once

// Typed objects at the kind boundary (issue 21, item 2): what the generated
// per-kind structs (rockpool/crds/types.hpp, made at build time from the CRD
// schemas by crds/codegen/crd_types_gen.cpp) are read and written with, and
// object_meta, the metadata every kind shares. The store stays generic JSON;
// reconcilers read a typed view once per pass. A field renamed in a CRD is a
// compile error wherever code uses it.

#include "rockpool/specs/result.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rockpool::crds {

namespace json = boost::json;

/// Reading fails with reason::invalid and a message naming the field path.
specs::error wrong_type(std::string_view path, std::string_view expected);

specs::status read_value(const json::value& v, std::string& out, std::string_view path);
specs::status read_value(const json::value& v, std::int64_t& out, std::string_view path);
specs::status read_value(const json::value& v, double& out, std::string_view path);
specs::status read_value(const json::value& v, bool& out, std::string_view path);
specs::status read_value(const json::value& v, json::value& out, std::string_view path);

template <class T>
specs::status read_value(const json::value& v, std::vector<T>& out, std::string_view path) {
  if (!v.is_array()) return wrong_type(path, "an array");
  out.clear();
  std::size_t i = 0;
  for (const auto& item : v.get_array()) {
    auto& x = out.emplace_back();
    auto at = std::string(path) + "[" + std::to_string(i++) + "]";
    if (auto st = read_value(item, x, at); !st.ok()) return st;
  }
  return specs::done{};
}

template <class T>
specs::status read_value(const json::value& v, std::map<std::string, T>& out,
                         std::string_view path) {
  if (!v.is_object()) return wrong_type(path, "an object");
  out.clear();
  for (const auto& [k, item] : v.get_object())
    if (auto st = read_value(item, out[std::string(k)], std::string(path) + "." + std::string(k));
        !st.ok())
      return st;
  return specs::done{};
}

/// A field of object o: absent leaves `out` as it is (optional: empty);
/// present, it must read.
template <class T>
specs::status read_field(const json::object& o, std::string_view key, T& out,
                         std::string_view path) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return specs::done{};
  return read_value(*v, out, std::string(path) + "." + std::string(key));
}
template <class T>
specs::status read_field(const json::object& o, std::string_view key, std::optional<T>& out,
                         std::string_view path) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    out.reset();
    return specs::done{};
  }
  return read_value(*v, out.emplace(), std::string(path) + "." + std::string(key));
}
/// A required field: absent is an error.
template <class T>
specs::status read_required(const json::object& o, std::string_view key, T& out,
                            std::string_view path) {
  if (!o.contains(key))
    return specs::make_error(specs::reason::invalid,
                             std::string(path) + "." + std::string(key) + ": required");
  return read_field(o, key, out, path);
}

inline json::value write_value(const std::string& x) {
  return json::value(x);
}
inline json::value write_value(std::int64_t x) {
  return json::value(x);
}
inline json::value write_value(double x) {
  return json::value(x);
}
inline json::value write_value(bool x) {
  return json::value(x);
}
inline json::value write_value(const json::value& x) {
  return x;
}
template <class T>
json::value write_value(const std::vector<T>& xs) {
  json::array a;
  for (const auto& x : xs) a.push_back(write_value(x));
  return a;
}
template <class T>
json::value write_value(const std::map<std::string, T>& xs) {
  json::object o;
  for (const auto& [k, x] : xs) o[k] = write_value(x);
  return o;
}

/// Sets o[key] unless the field is absent (an empty optional, container).
template <class T>
void write_field(json::object& o, std::string_view key, const T& x) {
  o[key] = write_value(x);
}
template <class T>
void write_field(json::object& o, std::string_view key, const std::optional<T>& x) {
  if (x) o[key] = write_value(*x);
}
template <class T>
void write_field(json::object& o, std::string_view key, const std::vector<T>& x) {
  if (!x.empty()) o[key] = write_value(x);
}
template <class T>
void write_field(json::object& o, std::string_view key, const std::map<std::string, T>& x) {
  if (!x.empty()) o[key] = write_value(x);
}
inline void write_field(json::object& o, std::string_view key, const json::value& x) {
  if (!x.is_null()) o[key] = x;
}

/// A reference to an owning object (metadata.ownerReferences[]).
struct owner_reference {
  std::string api_version, kind, name, uid;
  bool controller = false;
};

/// The metadata every object has, read once per pass.
struct object_meta {
  std::string name, uid, resource_version;
  std::int64_t generation = 0;
  std::optional<std::string> creation_timestamp, deletion_timestamp;
  std::map<std::string, std::string> labels, annotations;
  std::vector<std::string> finalizers;
  std::vector<owner_reference> owner_references;

  bool being_deleted() const { return deletion_timestamp.has_value(); }
  /// Reads obj's metadata; an error names the field.
  static specs::result<object_meta> of(const json::value& obj);
};

}  // namespace rockpool::crds
