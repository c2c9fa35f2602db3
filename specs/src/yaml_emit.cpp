// The YAML emitter (to_yaml): block style, keys in order, strings quoted
// only where a YAML reader would take them for something else.
#include "rockpool/specs/codec.hpp"

#include <boost/json.hpp>

#include <cctype>
#include <string>
#include <string_view>

namespace rockpool::specs {

namespace {

// Whether s has the shape [A-Za-z_/][A-Za-z0-9_./@+-]*( [A-Za-z0-9_./@+()-]+)*:
// a plain scalar YAML reads back as this string. One pass, any length.
bool plain_scalar_shape(std::string_view s) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  auto first = s.empty() ? '\0' : s[0];
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '_' ||
        first == '/'))
    return false;
  bool seen_space = false, after_space = false;
  for (std::size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == ' ') {
      if (after_space) return false;
      seen_space = after_space = true;
      continue;
    }
    std::string_view extra = seen_space ? "_./@+()-" : "_./@+-";
    if (!alnum(c) && extra.find(c) == std::string_view::npos) return false;
    after_space = false;
  }
  return !after_space;
}

bool needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  if (!plain_scalar_shape(s)) return true;
  // Words YAML 1.1 readers treat as booleans or null.
  static const char* special[] = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"};
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* w : special)
    if (lower == w) return true;
  return false;
}

void emit_scalar(std::string& out, const json::value& v) {
  if (const auto* s = v.if_string()) {
    if (needs_quotes(*s))
      out += json::serialize(v);
    else
      out.append(s->data(), s->size());
  } else if (v.is_null()) {
    out += "null";
  } else {
    out += json::serialize(v);
  }
}

bool is_empty_container(const json::value& v) {
  return (v.is_object() && v.get_object().empty()) || (v.is_array() && v.get_array().empty());
}

void emit(std::string& out, const json::value& v, int indent);

// A key as YAML writes it. YAML allows implicit keys ("key: value") of at
// most 1024 characters; longer ones are written as explicit keys ("? key"
// then ": value" on the next line, at the same indentation).
void emit_key(std::string& out, std::string_view key, const std::string& pad) {
  auto text =
      needs_quotes(key) ? json::serialize(json::value(json::string(key))) : std::string(key);
  if (text.size() <= 1024) {
    out += text;
  } else {
    out += "? " + text + "\n" + pad;
  }
}

void emit_child(std::string& out, const json::value& v, int indent) {
  if (is_empty_container(v)) {
    out += v.is_object() ? " {}\n" : " []\n";
  } else if (v.is_object() || v.is_array()) {
    out += "\n";
    emit(out, v, indent);
  } else {
    out += " ";
    emit_scalar(out, v);
    out += "\n";
  }
}

void emit(std::string& out, const json::value& v, int indent) {
  std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  if (const auto* o = v.if_object()) {
    for (const auto& kv : *o) {
      out += pad;
      emit_key(out, kv.key(), pad);
      out += ":";
      emit_child(out, kv.value(), indent + 1);
    }
  } else if (const auto* a = v.if_array()) {
    for (const auto& e : *a) {
      out += pad + "-";
      if (const auto* eo = e.if_object(); eo != nullptr && !eo->empty()) {
        // First key on the dash line, the rest aligned under it.
        std::string inner;
        emit(inner, e, indent + 1);
        out += " " + inner.substr(pad.size() + 2);
      } else {
        emit_child(out, e, indent + 1);
      }
    }
  } else {
    out += pad;
    emit_scalar(out, v);
    out += "\n";
  }
}

}  // namespace

std::string to_yaml(const json::value& v) {
  if (is_empty_container(v)) return v.is_object() ? "{}\n" : "[]\n";
  std::string out;
  emit(out, v, 0);
  return out;
}

}  // namespace rockpool::specs
