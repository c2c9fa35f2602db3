#include "rockpool/specs/validation.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace rockpool::specs {

bool is_dns1123_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

std::optional<std::pair<std::uint32_t, int>> parse_cidr(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::uint32_t addr = 0;
  int parts = 0;
  std::string_view ip = s.substr(0, slash);
  while (parts < 4) {
    auto dot = ip.find('.');
    auto part = ip.substr(0, dot);
    if (part.empty() || part.size() > 3) return std::nullopt;
    int n = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    if (n > 255 || (part.size() > 1 && part[0] == '0')) return std::nullopt;
    addr = (addr << 8) | static_cast<std::uint32_t>(n);
    ++parts;
    if (dot == std::string_view::npos) break;
    ip = ip.substr(dot + 1);
    if (parts == 4) return std::nullopt;
  }
  if (parts != 4) return std::nullopt;
  auto len = s.substr(slash + 1);
  if (len.empty() || len.size() > 2) return std::nullopt;
  int prefix = 0;
  for (char c : len) {
    if (c < '0' || c > '9') return std::nullopt;
    prefix = prefix * 10 + (c - '0');
  }
  if (prefix > 32) return std::nullopt;
  std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return std::make_pair(addr & mask, prefix);
}

bool cidrs_overlap(std::string_view a, std::string_view b) {
  auto x = parse_cidr(a);
  auto y = parse_cidr(b);
  if (!x || !y) return false;
  int prefix = std::min(x->second, y->second);
  std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return (x->first & mask) == (y->first & mask);
}

std::string object_key(const json::value& obj) {
  return string_at(obj, "kind") + "/" + string_at(obj, "metadata.name");
}

namespace {

bool is_label_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool is_dns1123_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  while (!s.empty()) {
    auto dot = s.find('.');
    if (!is_dns1123_label(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) break;
    s = s.substr(dot + 1);
  }
  return true;
}

bool is_qualified_name(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return is_label_name(s);
  return is_dns1123_subdomain(s.substr(0, slash)) && is_label_name(s.substr(slash + 1));
}

void check_string_map(const json::object& meta, const char* field, bool values_are_labels,
                      std::vector<field_error>& out) {
  const auto* m = meta.if_contains(field);
  if (m == nullptr || m->is_null()) return;
  std::string path = std::string("metadata.") + field;
  if (!m->is_object()) {
    out.push_back({path, "must be a map of strings"});
    return;
  }
  std::size_t total = 0;
  for (const auto& kv : m->get_object()) {
    auto key_path = path + "." + std::string(kv.key());
    if (!is_qualified_name(kv.key()))
      out.push_back({key_path,
                     "key must be a qualified name (an optional DNS prefix and '/', "
                     "then up to 63 of [A-Za-z0-9-_.])"});
    if (!kv.value().is_string()) {
      out.push_back({key_path, "must be a string, got " + describe_value(kv.value())});
      continue;
    }
    const auto& v = kv.value().get_string();
    total += kv.key().size() + v.size();
    if (values_are_labels && !v.empty() && !is_label_name(v))
      out.push_back({key_path,
                     "label value must be empty or up to 63 of [A-Za-z0-9-_.], "
                     "alphanumeric at both ends, got " +
                         describe_value(kv.value())});
  }
  if (!values_are_labels && total > 256 * 1024)
    out.push_back({path, "annotations may total at most 256 KiB"});
}

using field_set = std::set<std::string, std::less<>>;

// The fields an object's metadata may have, and the top-level ones.
const field_set& metadata_fields() {
  static const field_set known = {"name",
                                  "uid",
                                  "generation",
                                  "resourceVersion",
                                  "creationTimestamp",
                                  "deletionTimestamp",
                                  "labels",
                                  "annotations",
                                  "finalizers",
                                  "ownerReferences",
                                  "managedFields"};
  return known;
}
const field_set& top_level_fields() {
  static const field_set top = {"apiVersion", "kind", "metadata", "spec", "status"};
  return top;
}

void check_metadata(const json::value& obj, std::vector<field_error>& out) {
  const auto* m = obj.as_object().if_contains("metadata");
  if (m == nullptr || !m->is_object()) {
    out.push_back({"metadata", m == nullptr ? "required field is missing" : "must be an object"});
    return;
  }
  const auto& meta = m->get_object();
  for (const auto& kv : meta) {
    if (kv.key() == "namespace")
      out.push_back({"metadata.namespace", "Rockpool kinds are cluster-scoped; remove namespace"});
    else if (!metadata_fields().contains(kv.key()))
      out.push_back({"metadata." + std::string(kv.key()), "unknown field"});
  }
  const auto* name = meta.if_contains("name");
  if (name == nullptr || name->is_null() || (name->is_string() && name->get_string().empty())) {
    out.push_back({"metadata.name", "required field is missing"});
  } else if (!name->is_string()) {
    out.push_back({"metadata.name", "must be a string, got " + describe_value(*name)});
  } else if (!is_dns1123_label(name->get_string())) {
    out.push_back({"metadata.name",
                   "must be a DNS-1123 label (at most 63 lower-case letters, digits and '-', "
                   "starting and ending with a letter or digit), got " +
                       describe_value(*name)});
  }
  check_string_map(meta, "labels", true, out);
  check_string_map(meta, "annotations", false, out);
  if (const auto* f = meta.if_contains("finalizers"); f && !f->is_null()) {
    if (!f->is_array()) {
      out.push_back({"metadata.finalizers", "must be a list of strings"});
    } else {
      for (std::size_t i = 0; i < f->get_array().size(); ++i) {
        const auto& e = f->get_array()[i];
        if (!e.is_string() || !is_qualified_name(e.get_string()))
          out.push_back({"metadata.finalizers[" + std::to_string(i) + "]",
                         "must be a qualified name such as rockpool.dev/cleanup"});
      }
    }
  }
  if (const auto* o = meta.if_contains("ownerReferences"); o && !o->is_null()) {
    if (!o->is_array()) {
      out.push_back({"metadata.ownerReferences", "must be a list"});
    } else {
      for (std::size_t i = 0; i < o->get_array().size(); ++i) {
        const auto& e = o->get_array()[i];
        auto p = "metadata.ownerReferences[" + std::to_string(i) + "]";
        for (const char* f : {"kind", "name", "uid"})
          if (string_at(e, f).empty()) out.push_back({p + "." + f, "required field is missing"});
      }
    }
  }
}

}  // namespace

void default_object(json::value& obj) {
  if (!obj.is_object()) return;
  const auto* k = find_kind(string_at(obj, "kind"));
  if (k == nullptr || string_at(obj, "kind") != k->kind) return;
  auto* spec = obj.get_object().if_contains("spec");
  if (spec != nullptr)
    if (const auto* s = k->root->property("spec")) apply_defaults(*s, *spec);
}

std::vector<field_error> validate_object(const json::value& obj, const validation_context& ctx) {
  std::vector<field_error> out;
  if (!obj.is_object()) return {{"", "must be an object"}};
  auto api = find_path(obj, "apiVersion");
  if (api == nullptr)
    out.push_back({"apiVersion", "required field is missing"});
  else if (!api->is_string() || api->get_string() != api_version)
    out.push_back(
        {"apiVersion", std::string("must be ") + api_version + ", got " + describe_value(*api)});
  auto kind_name = string_at(obj, "kind");
  const kind_info* k = find_kind(kind_name);
  if (kind_name.empty()) {
    out.push_back({"kind", "required field is missing"});
  } else if (k == nullptr || k->kind != kind_name) {
    std::string known;
    for (const auto& kk : kinds()) known += (known.empty() ? "" : ", ") + kk.kind;
    out.push_back({"kind", "unknown kind \"" + kind_name + "\" (known: " + known + ")"});
    k = nullptr;
  }
  for (const auto& kv : obj.get_object())
    if (!top_level_fields().contains(kv.key()))
      out.push_back({std::string(kv.key()), "unknown field"});
  check_metadata(obj, out);
  if (k != nullptr) {
    const auto* spec_schema = k->root->property("spec");
    const auto* spec = obj.get_object().if_contains("spec");
    bool spec_required = std::find(k->root->required.begin(), k->root->required.end(), "spec") !=
                         k->root->required.end();
    if (spec == nullptr) {
      if (spec_required) out.push_back({"spec", "required field is missing"});
    } else if (spec_schema != nullptr) {
      validate_schema(*spec_schema, *spec, "spec", out);
    }
    if (out.empty() && ctx.rules != nullptr)
      if (auto rule = ctx.rules->find(k->kind); rule != ctx.rules->end())
        if (rule->second.check) rule->second.check(obj, ctx, out);
  }
  return out;
}

std::vector<field_error> validate_status(const json::value& obj) {
  std::vector<field_error> out;
  const auto* k = find_kind(string_at(obj, "kind"));
  const auto* status = obj.is_object() ? obj.get_object().if_contains("status") : nullptr;
  if (k == nullptr || status == nullptr) return out;
  if (const auto* s = k->root->property("status")) validate_schema(*s, *status, "status", out);
  return out;
}

std::vector<diagnostic> validate_input(std::vector<document>& docs, const validation_context& ctx) {
  std::vector<diagnostic> out;
  // Objects of this input are visible to the rules, ahead of stored ones, so a
  // template or workspace defined in the same input counts.
  std::map<std::string, const json::value*> in_input;
  for (auto& d : docs) {
    default_object(d.value);
    in_input.emplace(object_key(d.value), &d.value);
  }
  validation_context merged = ctx;
  merged.lookup = [&](const std::string& kind,
                      const std::string& name) -> std::optional<json::value> {
    auto it = in_input.find(kind + "/" + name);
    if (it != in_input.end()) return *it->second;
    if (ctx.lookup) return ctx.lookup(kind, name);
    return std::nullopt;
  };
  merged.list = [&](const std::string& kind) {
    std::map<std::string, json::value> all;
    if (ctx.list)
      for (auto& o : ctx.list(kind)) all[string_at(o, "metadata.name")] = o;
    for (const auto& [key, v] : in_input)
      if (string_at(*v, "kind") == kind) all[string_at(*v, "metadata.name")] = *v;
    std::vector<json::value> list;
    for (auto& [n, v] : all) list.push_back(std::move(v));
    return list;
  };
  merged.sees_store = ctx.sees_store || static_cast<bool>(ctx.lookup);
  std::map<std::string, int> first_seen;
  for (const auto& d : docs) {
    for (auto& fe : validate_object(d.value, merged))
      out.push_back(diagnose(d, fe.field, fe.message));
    auto key = object_key(d.value);
    auto [it, fresh] = first_seen.emplace(key, d.index);
    if (!fresh)
      out.push_back(diagnose(d, "metadata.name",
                             "duplicate object: " + key + " is also defined in document " +
                                 std::to_string(it->second)));
  }
  return out;
}

std::vector<std::string> drop_unknown_fields(json::value& obj) {
  std::vector<std::string> removed;
  auto* top = obj.if_object();
  if (top == nullptr) return removed;
  auto drop = [&](json::object& o, const field_set& known, const std::string& prefix) {
    std::vector<std::string> unknown;
    for (const auto& kv : o)
      if (!known.contains(kv.key()) && !(prefix == "metadata." && kv.key() == "namespace"))
        unknown.emplace_back(kv.key());
    for (const auto& key : unknown) {
      o.erase(key);
      removed.push_back(prefix + key);
    }
  };
  drop(*top, top_level_fields(), "");
  if (auto* meta = top->if_contains("metadata"); meta && meta->is_object())
    drop(meta->get_object(), metadata_fields(), "metadata.");
  const auto* k = find_kind(string_at(obj, "kind"));
  if (auto* spec = top->if_contains("spec"); spec && k && k->kind == string_at(obj, "kind"))
    if (const auto* spec_schema = k->root->property("spec"))
      drop_unknown_fields(*spec_schema, *spec, "spec", removed);
  return removed;
}

}  // namespace rockpool::specs
