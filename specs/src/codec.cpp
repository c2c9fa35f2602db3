#include "rockpool/specs/codec.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>
#include <boost/json.hpp>

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

namespace rockpool::specs {

position document::position_of(const std::string& path) const {
  std::string p = path;
  while (true) {
    auto it = positions.find(p);
    if (it != positions.end()) return it->second;
    if (p.empty()) return {};
    auto cut = p.find_last_of(".[");
    p = cut == std::string::npos ? std::string{} : p.substr(0, cut);
  }
}

std::string document::label() const {
  auto kind = string_at(value, "kind");
  auto name = string_at(value, "metadata.name");
  if (kind.empty() && name.empty()) return {};
  if (name.empty()) return kind;
  return (kind.empty() ? std::string("object") : kind) + " \"" + name + "\"";
}

std::string diagnostic::to_string() const {
  std::string out = source;
  if (index > 0) {
    out += ": document " + std::to_string(index);
    if (!object.empty()) out += " (" + object + ")";
  }
  out += ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  if (at.line > 0) {
    out += " (line " + std::to_string(at.line) + ", column " + std::to_string(at.column) + ")";
  }
  return out;
}

diagnostic diagnose(const document& doc, const std::string& field, std::string message) {
  return diagnostic{doc.source, doc.index,          doc.label(),
                    field,      std::move(message), doc.position_of(field)};
}

namespace {

struct input_error {
  std::string message;
  YAML::Mark mark;
};

position to_position(const YAML::Mark& m) {
  if (m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

// The digits [0-9]* of s from i: where they end.
std::size_t skip_digits(const std::string& s, std::size_t i) {
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  return i;
}

// [-+]?[0-9]+ (the core schema's decimal integer).
bool is_core_int(const std::string& s) {
  std::size_t i = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  auto end = skip_digits(s, i);
  return end > i && end == s.size();
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? (the core schema's
// float), by hand: std::regex costs microseconds a scalar, and a CRD has
// thousands.
bool is_core_float(const std::string& s) {
  std::size_t i = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i < s.size() && s[i] == '.') {
    auto end = skip_digits(s, i + 1);
    if (end == i + 1) return false;
    i = end;
  } else {
    auto end = skip_digits(s, i);
    if (end == i) return false;
    i = end;
    if (i < s.size() && s[i] == '.') i = skip_digits(s, i + 1);
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    auto end = skip_digits(s, i);
    if (end == i) return false;
    i = end;
  }
  return i == s.size();
}

// YAML 1.2 core schema resolution of a plain scalar.
json::value resolve_plain(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s.size() <= 32 && is_core_int(s)) {
    std::int64_t i = 0;
    const char* b = s.data() + (s[0] == '+' ? 1 : 0);
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), i);
    if (ec == std::errc() && p == s.data() + s.size()) return i;
    return json::string(s);  // out of range: keep the text rather than lose digits
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    std::int64_t i = 0;
    auto [p, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), i, s[1] == 'x' ? 16 : 8);
    if (ec == std::errc() && p == s.data() + s.size()) return i;
  }
  if (s.size() <= 64 && is_core_float(s)) {
    try {
      double d = std::stod(s);
      if (std::isfinite(d)) return d;
      return json::string(s);
    } catch (...) {
      return json::string(s);
    }
  }
  // .inf and .nan stay strings: JSON, and so the API, has no non-finite numbers.
  return json::string(s);
}

// Decodes the UTF-8 sequence at s[i]: its length and code point, or length 0
// when the bytes there are not valid UTF-8 (overlong, surrogate, truncated...).
struct utf8_char {
  std::size_t length = 0;
  std::uint32_t code_point = 0;
};

utf8_char decode_utf8(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t len = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xe  ? 3
                    : (c >> 3) == 0x1e ? 4
                                       : 0;
  if (len == 0 || i + len > s.size()) return {};
  std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
  for (std::size_t k = 1; k < len; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return {};
    cp = (cp << 6) | (cc & 0x3f);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
      (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
    return {};
  return {len, cp};
}

// yaml-cpp 0.7 decodes the escapes \N, \_ and \x80-\xFF to one raw byte instead
// of UTF-8. The input was verified to be UTF-8 before parsing, so every byte
// that is not part of a valid sequence came from such an escape: re-encode it
// as the code point U+0080..U+00FF it stands for.
std::string repair_escaped_bytes(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    auto ch = decode_utf8(s, i);
    if (ch.length > 0) {
      out.append(s, i, ch.length);
      i += ch.length;
    } else {
      auto c = static_cast<unsigned char>(s[i]);
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
      ++i;
    }
  }
  return out;
}

json::value resolve_scalar(const std::string& tag, const std::string& raw) {
  const std::string text = repair_escaped_bytes(raw);
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return json::string(text);
  if (tag == "?" || tag.empty()) return resolve_plain(text);
  if (tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" ||
      tag == "tag:yaml.org,2002:bool" || tag == "tag:yaml.org,2002:null") {
    return resolve_plain(text);
  }
  return json::string(text);  // unknown tags: keep the text
}

std::size_t count_nodes(const json::value& v) {
  std::size_t n = 1;
  if (const auto* o = v.if_object())
    for (const auto& kv : *o) n += count_nodes(kv.value());
  if (const auto* a = v.if_array())
    for (const auto& e : *a) n += count_nodes(e);
  return n;
}

// Builds one json::value per YAML document straight from parser events,
// recording the source position of every field path on the way.
class json_builder final : public YAML::EventHandler {
 public:
  void reset(document* doc) {
    doc_ = doc;
    stack_.clear();
    anchors_.clear();
    nodes_ = 0;
    root_set_ = false;
  }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    add(json::value(nullptr), mark, anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw input_error{"unknown alias", mark};
    nodes_ += count_nodes(it->second);
    if (nodes_ > max_nodes_per_document)
      throw input_error{"document expands to too many nodes (alias expansion)", mark};
    add(it->second, mark, 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (!stack_.empty() && stack_.back().is_map && !stack_.back().has_key) {
      auto& f = stack_.back();
      f.key = repair_escaped_bytes(value);
      f.has_key = true;
      if (f.value.get_object().contains(f.key))
        throw input_error{"duplicate key \"" + f.key + "\"", mark};
      return;
    }
    add(resolve_scalar(tag, value), mark, anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(json::array{}, false, mark, anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(json::object{}, true, mark, anchor);
  }
  void OnMapEnd() override { close(); }

  bool has_root() const { return root_set_; }

 private:
  struct frame {
    json::value value;
    bool is_map = false;
    bool has_key = false;
    std::string key;
    std::string path;
    YAML::anchor_t anchor = 0;
  };

  std::string child_path() {
    if (stack_.empty()) return {};
    auto& f = stack_.back();
    if (f.is_map) return f.path.empty() ? f.key : f.path + "." + f.key;
    return f.path + "[" + std::to_string(f.value.get_array().size()) + "]";
  }

  void check_key_position(const YAML::Mark& mark) {
    if (!stack_.empty() && stack_.back().is_map && !stack_.back().has_key)
      throw input_error{"mapping keys must be plain scalars", mark};
  }

  void open(json::value v, bool is_map, const YAML::Mark& mark, YAML::anchor_t anchor) {
    check_key_position(mark);
    if (static_cast<int>(stack_.size()) >= max_nesting_depth)
      throw input_error{"nesting deeper than " + std::to_string(max_nesting_depth) + " levels",
                        mark};
    if (++nodes_ > max_nodes_per_document) throw input_error{"document has too many nodes", mark};
    auto path = child_path();
    doc_->positions[path] = to_position(mark);
    stack_.push_back(frame{std::move(v), is_map, false, {}, std::move(path), anchor});
  }

  void close() {
    frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.anchor != 0) anchors_[f.anchor] = f.value;
    attach(std::move(f.value));
  }

  void add(json::value v, const YAML::Mark& mark, YAML::anchor_t anchor) {
    check_key_position(mark);
    if (++nodes_ > max_nodes_per_document) throw input_error{"document has too many nodes", mark};
    doc_->positions[child_path()] = to_position(mark);
    if (anchor != 0) anchors_[anchor] = v;
    attach(std::move(v));
  }

  void attach(json::value v) {
    if (stack_.empty()) {
      doc_->value = std::move(v);
      root_set_ = true;
      return;
    }
    auto& f = stack_.back();
    if (f.is_map) {
      f.value.get_object()[f.key] = std::move(v);
      f.has_key = false;
    } else {
      f.value.get_array().push_back(std::move(v));
    }
  }

  document* doc_ = nullptr;
  std::vector<frame> stack_;
  std::map<YAML::anchor_t, json::value> anchors_;
  std::size_t nodes_ = 0;
  bool root_set_ = false;
};

struct bad_character {
  position at;
  std::string why;
};

// Finds the first byte that is not valid UTF-8, or a character outside YAML's
// c-printable set (C0/C1 controls other than tab, newline, carriage return, NEL).
std::optional<bad_character> first_unprintable(std::string_view s) {
  int line = 1, column = 1;
  std::size_t i = 0;
  auto bad = [&](std::string why) { return bad_character{{line, column}, std::move(why)}; };
  while (i < s.size()) {
    auto ch = decode_utf8(s, i);
    if (ch.length == 0) return bad("input is not valid UTF-8");
    auto cp = ch.code_point;
    bool printable = cp == 0x09 || cp == 0x0a || cp == 0x0d || (cp >= 0x20 && cp <= 0x7e) ||
                     cp == 0x85 || (cp >= 0xa0 && cp != 0xfffe && cp != 0xffff);
    if (!printable) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "U+%04X", cp);
      return bad(std::string("input contains the control character ") + buf +
                 ", which YAML does not allow");
    }
    if (cp == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += ch.length;
  }
  return std::nullopt;
}

// Expands a List (at `base` inside `top`, "" for the document itself) into
// its items, nested Lists included (kubectl flattens them too). Items keep
// their source positions, and problems name the full path in `top`.
void expand_list(const document& top, const json::value& list, const std::string& base,
                 std::vector<document>& out, std::vector<diagnostic>& problems) {
  auto at = [&](const std::string& field) { return base.empty() ? field : base + "." + field; };
  const auto* items = list.as_object().if_contains("items");
  if (items == nullptr || !items->is_array()) {
    problems.push_back(diagnose(top, at("items"), "a List must have an items array"));
    return;
  }
  const auto& arr = items->get_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    auto path = at("items[" + std::to_string(i) + "]");
    if (!arr[i].is_object()) {
      problems.push_back(diagnose(top, path, "a List item must be a mapping (an object)"));
      continue;
    }
    if (string_at(arr[i], "kind") == "List") {
      expand_list(top, arr[i], path, out, problems);
      continue;
    }
    document item;
    item.source = top.source;
    item.index = top.index;
    item.value = arr[i];
    for (const auto& [p, pos] : top.positions) {
      if (p.rfind(path, 0) != 0) continue;
      auto rest = p.substr(path.size());
      if (!rest.empty() && rest[0] != '.') continue;  // items[10] is not under items[1]
      if (!rest.empty()) rest.erase(0, 1);
      item.positions[rest] = pos;
    }
    out.push_back(std::move(item));
  }
}

}  // namespace

namespace {

// Input refused whole before parsing: too large, or a character YAML forbids.
std::optional<diagnostic> refused_input(std::string_view text, const std::string& source) {
  if (text.size() > max_input_bytes)
    return diagnostic{source,
                      0,
                      {},
                      {},
                      "input is larger than " + std::to_string(max_input_bytes >> 20) + " MiB",
                      {}};
  if (auto bad = first_unprintable(text)) return diagnostic{source, 0, {}, {}, bad->why, bad->at};
  return std::nullopt;
}

// A parsed document into out: a mapping of at most 1 MiB; a List's items.
void add_document(document doc, decoded_input& out) {
  if (!doc.value.is_object()) {
    out.problems.push_back(diagnose(doc, "", "a document must be a mapping (an object)"));
    return;
  }
  if (json::serialize(doc.value).size() > max_document_bytes) {
    out.problems.push_back(diagnose(doc, "", "document is larger than 1 MiB"));
    return;
  }
  if (string_at(doc.value, "kind") == "List")
    expand_list(doc, doc.value, "", out.documents, out.problems);
  else
    out.documents.push_back(std::move(doc));
}

}  // namespace

decoded_input decode_documents(std::string_view text, const std::string& source) {
  decoded_input out;
  if (auto refused = refused_input(text, source)) {
    out.problems.push_back(std::move(*refused));
    return out;
  }
  // Every document takes at least a "---" line, so no valid input has more.
  const int max_documents = static_cast<int>(text.size() / 4) + 2;
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  json_builder builder;
  int index = 0;
  while (true) {
    document doc;
    doc.source = source;
    doc.index = ++index;
    if (index > max_documents) {
      // yaml-cpp 0.7 can report documents forever without consuming input.
      out.problems.push_back(diagnostic{
          source, index, {}, {}, "the YAML parser made no progress; the input is malformed", {}});
      break;
    }
    builder.reset(&doc);
    try {
      if (!parser.HandleNextDocument(builder)) break;
    } catch (const input_error& e) {
      out.problems.push_back(diagnostic{source, index, {}, {}, e.message, to_position(e.mark)});
      break;  // the parser cannot resume inside a broken document
    } catch (const YAML::Exception& e) {
      out.problems.push_back(diagnostic{source, index, {}, {}, e.msg, to_position(e.mark)});
      break;
    } catch (const std::exception& e) {
      out.problems.push_back(diagnostic{source, index, {}, {}, e.what(), {}});
      break;
    }
    if (!builder.has_root() || doc.value.is_null()) continue;  // empty document
    add_document(std::move(doc), out);
  }
  return out;
}

}  // namespace rockpool::specs
