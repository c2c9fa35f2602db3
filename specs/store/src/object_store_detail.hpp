#pragma once
// What the object store's files share (object_store.cpp: reads, create,
// status, patches, delete, events; object_store_update.cpp: update and
// server-side apply): small helpers on objects and write races.

#include "rockpool/specs/object_store.hpp"
#include "rockpool/specs/schema.hpp"
#include "rockpool/specs/validation.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace rockpool::specs::store_detail {

// Every lost race means another writer won, so the store as a whole always
// makes progress; the bound only stops a pathological livelock.
inline constexpr int max_race_retries = 1000;

inline std::string new_uid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t a = rng(), b = rng();
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

inline std::string describe(const std::string& kind, const std::string& name) {
  const auto* k = find_kind(kind);
  return (k ? k->plural : kind) + "." + api_group + " \"" + name + "\"";
}

inline error invalid(const json::value& obj, std::vector<field_error> problems) {
  std::string msg = string_at(obj, "kind") + "." + api_group + " \"" +
                    string_at(obj, "metadata.name") + "\" is invalid: ";
  error e{reason::invalid, {}, {}};
  for (std::size_t i = 0; i < problems.size(); ++i) {
    if (i > 0) msg += ", ";
    msg += (problems[i].field.empty() ? "" : problems[i].field + ": ") + problems[i].message;
    e.causes.push_back({problems[i].field, problems[i].message});
  }
  e.message = std::move(msg);
  return e;
}

inline json::object& meta_of(json::value& obj) {
  return ensure_object(obj.as_object(), "metadata");
}

// Copies a metadata field from src to dst, or removes it from dst when src lacks it.
inline void copy_meta_field(json::object& dst, const json::object& src, const char* field) {
  if (const auto* v = src.if_contains(field); v && !v->is_null())
    dst[field] = *v;
  else
    dst.erase(field);
}

inline json::value strip_rv(json::value v) {
  if (auto* m = v.as_object().if_contains("metadata"); m && m->is_object())
    m->get_object().erase("resourceVersion");
  return v;
}

// Appends finalizer to meta's finalizers unless it is there.
inline void add_finalizer(json::object& meta, std::string_view finalizer) {
  auto& list = meta["finalizers"];
  if (!list.is_array()) list = json::array();
  for (const auto& f : list.get_array())
    if (f.is_string() && f.get_string() == finalizer) return;
  list.get_array().emplace_back(finalizer);
}

inline bool has_finalizers(const json::value& obj) {
  const auto* f = find_path(obj, "metadata.finalizers");
  return f && f->is_array() && !f->get_array().empty();
}

inline std::optional<std::uint64_t> body_precondition(const json::value& obj) {
  auto rv = string_at(obj, "metadata.resourceVersion");
  if (rv.empty()) return std::nullopt;
  try {
    return std::stoull(rv);
  } catch (...) {
    return 0;  // unparseable: can never match
  }
}

// Whether a write lost a compare-and-swap to a concurrent writer.
template <class T>
inline bool lost_race(const result<T>& r) {
  return !r.ok() && r.err().why == reason::conflict;
}

inline error stale(const std::string& kind, const std::string& name) {
  return make_error(reason::conflict,
                    "Operation cannot be fulfilled on " + describe(kind, name) +
                        ": the object has been modified; please apply your changes to the "
                        "latest version and try again");
}

}  // namespace rockpool::specs::store_detail
