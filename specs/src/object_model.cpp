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

namespace {

// RFC 6901: "/a/b~1c" -> {"a", "b/c"}; "" is the whole document.
result<std::vector<std::string>> parse_pointer(const json::value& v, const char* what) {
  if (!v.is_string())
    return make_error(reason::bad_request, std::string(what) + " must be a string");
  std::string_view p = v.get_string();
  std::vector<std::string> out;
  if (p.empty()) return out;
  if (p.front() != '/')
    return make_error(reason::bad_request, "\"" + std::string(p) + "\" is not a JSON pointer");
  std::string token;
  for (std::size_t i = 1; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/') {
      out.push_back(std::move(token));
      token.clear();
    } else if (p[i] == '~' && i + 1 < p.size() && (p[i + 1] == '0' || p[i + 1] == '1')) {
      token += p[++i] == '0' ? '~' : '/';
    } else {
      token += p[i];
    }
  }
  return out;
}

std::string pointer_text(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& t : path) out += "/" + t;
  return out.empty() ? "/" : out;
}

// An array index token: digits without a leading zero, within size (or equal
// to it, or "-", where appending is allowed).
std::optional<std::size_t> array_index(const std::string& t, std::size_t size, bool append) {
  if (append && t == "-") return size;
  if (t.empty() || t.size() > 9 || t.find_first_not_of("0123456789") != std::string::npos ||
      (t.size() > 1 && t[0] == '0'))
    return std::nullopt;
  auto i = static_cast<std::size_t>(std::stoul(t));
  if (i > size || (!append && i == size)) return std::nullopt;
  return i;
}

// The container holding the last token of path, or an error naming the path.
result<json::value*> parent_of(json::value& doc, const std::vector<std::string>& path) {
  json::value* at = &doc;
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    json::value* next = nullptr;
    if (auto* o = at->if_object()) {
      next = o->if_contains(path[i]);
    } else if (auto* a = at->if_array()) {
      if (auto idx = array_index(path[i], a->size(), false)) next = &(*a)[*idx];
    }
    if (next == nullptr)
      return make_error(reason::bad_request, "path " + pointer_text(path) + " does not exist");
    at = next;
  }
  return at;
}

result<json::value> take(json::value& doc, const std::vector<std::string>& path, bool remove) {
  if (path.empty())
    return remove ? make_error(reason::bad_request, "cannot remove the whole object")
                  : result<json::value>(doc);
  auto parent = parent_of(doc, path);
  if (!parent.ok()) return parent.err();
  const auto& key = path.back();
  if (auto* o = (*parent)->if_object()) {
    auto it = o->find(key);
    if (it == o->end())
      return make_error(reason::bad_request, "path " + pointer_text(path) + " does not exist");
    json::value v = it->value();
    if (remove) o->erase(it);
    return v;
  }
  if (auto* a = (*parent)->if_array()) {
    auto idx = array_index(key, a->size(), false);
    if (!idx)
      return make_error(reason::bad_request, "path " + pointer_text(path) + " does not exist");
    json::value v = (*a)[*idx];
    if (remove) a->erase(a->begin() + static_cast<std::ptrdiff_t>(*idx));
    return v;
  }
  return make_error(reason::bad_request, "path " + pointer_text(path) + " does not exist");
}

status put(json::value& doc, const std::vector<std::string>& path, json::value v, bool replace) {
  if (path.empty()) {
    doc = std::move(v);
    return done{};
  }
  auto parent = parent_of(doc, path);
  if (!parent.ok()) return parent.err();
  const auto& key = path.back();
  if (auto* o = (*parent)->if_object()) {
    if (replace && !o->contains(key))
      return make_error(reason::bad_request, "path " + pointer_text(path) + " does not exist");
    (*o)[key] = std::move(v);
    return done{};
  }
  if (auto* a = (*parent)->if_array()) {
    auto idx = array_index(key, a->size(), !replace);
    if (!idx)
      return make_error(reason::bad_request, "path " + pointer_text(path) + " does not exist");
    if (replace)
      (*a)[*idx] = std::move(v);
    else
      a->insert(a->begin() + static_cast<std::ptrdiff_t>(*idx), std::move(v));
    return done{};
  }
  return make_error(reason::bad_request, "path " + pointer_text(path) + " does not exist");
}

}  // namespace

result<json::value> apply_json_patch(const json::value& target, const json::value& patch) {
  if (!patch.is_array()) return make_error(reason::bad_request, "a JSON patch must be an array");
  json::value doc = target;
  std::size_t n = 0;
  for (const auto& op : patch.get_array()) {
    auto where = "operation " + std::to_string(n++) + ": ";
    auto fail = [&](const error& e) { return make_error(e.why, where + e.message); };
    if (!op.is_object()) return make_error(reason::bad_request, where + "must be an object");
    auto name = string_at(op, "op");
    auto path =
        parse_pointer(op.get_object().contains("path") ? op.at("path") : json::value(), "\"path\"");
    if (!path.ok()) return fail(path.err());
    const auto* value = op.get_object().if_contains("value");
    bool needs_value = name == "add" || name == "replace" || name == "test";
    if (needs_value && value == nullptr)
      return make_error(reason::bad_request, where + "\"" + name + "\" needs a \"value\"");
    status st = done{};
    if (name == "add" || name == "replace") {
      st = put(doc, *path, *value, name == "replace");
    } else if (name == "remove") {
      auto r = take(doc, *path, true);
      if (!r.ok()) st = r.err();
    } else if (name == "move" || name == "copy") {
      auto from = parse_pointer(op.get_object().contains("from") ? op.at("from") : json::value(),
                                "\"from\"");
      if (!from.ok()) return fail(from.err());
      auto v = take(doc, *from, name == "move");
      st = v.ok() ? put(doc, *path, std::move(*v), false) : status(v.err());
    } else if (name == "test") {
      auto v = take(doc, *path, false);
      if (!v.ok()) return fail(v.err());
      if (*v != *value)
        return make_error(reason::invalid, where + "test failed: " + pointer_text(*path) + " is " +
                                               json::serialize(*v) + ", not " +
                                               json::serialize(*value));
    } else {
      return make_error(reason::bad_request,
                        where + "\"op\" must be add, remove, replace, move, copy or test");
    }
    if (!st.ok()) return fail(st.err());
  }
  return doc;
}

namespace {
std::string metadata_entry(const json::value& obj, const char* map, std::string_view key) {
  const auto* m = find_path(obj, map);
  if (m == nullptr || !m->is_object()) return {};
  const auto* v = m->get_object().if_contains(key);
  return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
}
}  // namespace

std::string annotation(const json::value& obj, std::string_view key) {
  return metadata_entry(obj, "metadata.annotations", key);
}

std::string label(const json::value& obj, std::string_view key) {
  return metadata_entry(obj, "metadata.labels", key);
}

}  // namespace rockpool::specs
