// decode_json_object: a JSON object's text decoded by the JSON parser, for
// the bodies kubectl and rpctl send as application/apply-patch+yaml (JSON
// text). Only texts whose value the YAML decoder would give identically take
// this way; the decode_fuzzer checks that it does.
#include "rockpool/specs/codec.hpp"

#include <algorithm>

namespace rockpool::specs {
namespace {

bool json_space(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

// Printable ASCII, tab and line breaks (a CR only before an LF): the
// characters on which YAML and JSON read a text the same way (YAML refuses
// other controls, reads some non-ASCII characters as line breaks, and a run
// of bare CRs in a flow collection its own way: the decode_fuzzer found one).
bool plain_ascii(std::string_view t) {
  for (std::size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '\r' && (i + 1 == t.size() || t[i + 1] != '\n')) return false;
    if (!((c >= 0x20 && c <= 0x7e) || c == '\t' || c == '\n' || c == '\r')) return false;
  }
  return true;
}

// The keys written in a JSON text (its strings followed by ':'), and the
// longest one's length.
struct written_keys {
  std::size_t count = 0, longest = 0;
};
written_keys keys_written(std::string_view t) {
  written_keys k;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '"') continue;
    auto start = i;
    for (++i; i < t.size() && t[i] != '"'; ++i)
      if (t[i] == '\\') ++i;
    auto j = i + 1;
    while (j < t.size() && json_space(t[j])) ++j;
    if (j < t.size() && t[j] == ':') {
      ++k.count;
      k.longest = std::max(k.longest, i - start);
    }
  }
  return k;
}

// YAML reads a key written over 1,024 characters as no key at all.
constexpr std::size_t longest_yaml_key = 512;  // well within that

struct shape {
  std::size_t members = 0, nodes = 0;
  int depth = 0;
  bool yaml_numbers = true;  // every number one YAML reads the same (int64)
};

void measure(const json::value& v, int depth, shape& s) {
  ++s.nodes;
  s.depth = std::max(s.depth, depth);
  if (const auto* o = v.if_object()) {
    s.members += o->size();
    for (const auto& kv : *o) measure(kv.value(), depth + 1, s);
  } else if (const auto* a = v.if_array()) {
    for (const auto& e : *a) measure(e, depth + 1, s);
  } else if (v.is_uint64() || v.is_double()) {
    s.yaml_numbers = false;  // YAML keeps big integers as text; doubles by its own rounding
  }
}

}  // namespace

std::optional<json::value> decode_json_object(std::string_view text) {
  auto first = std::find_if_not(text.begin(), text.end(), json_space);
  if (first == text.end() || *first != '{' || text.size() > max_document_bytes ||
      !plain_ascii(text) || text.find("\\u") != std::string_view::npos)
    return std::nullopt;  // \u escapes: YAML decodes surrogate pairs its own way
  auto v = parse_json(text);
  if (!v.ok() || !v->is_object()) return std::nullopt;
  shape s;
  measure(*v, 0, s);
  // Fewer members than keys written: a key repeated, which YAML refuses.
  auto keys = keys_written(text);
  if (!s.yaml_numbers || s.members != keys.count || keys.longest > longest_yaml_key ||
      s.nodes > max_nodes_per_document || s.depth >= max_nesting_depth ||
      string_at(*v, "kind") == "List")
    return std::nullopt;
  return std::move(*v);
}

}  // namespace rockpool::specs
