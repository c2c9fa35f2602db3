#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace rockpool::specs {

const json::value* find_path(const json::value& root, std::string_view dotted) {
  const json::value* cur = &root;
  while (!dotted.empty()) {
    auto dot = dotted.find('.');
    auto key = dotted.substr(0, dot);
    const auto* obj = cur->if_object();
    if (obj == nullptr) return nullptr;
    auto it = obj->find(key);
    if (it == obj->end()) return nullptr;
    cur = &it->value();
    dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
  }
  return cur;
}

std::string string_at(const json::value& root, std::string_view dotted) {
  const auto* v = find_path(root, dotted);
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->get_string());
}

std::optional<std::int64_t> int_at(const json::value& root, std::string_view dotted) {
  const auto* v = find_path(root, dotted);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  return std::nullopt;
}

json::object& ensure_object(json::object& parent, std::string_view key) {
  auto& v = parent[key];
  if (!v.is_object()) v = json::object{};
  return v.get_object();
}

std::string describe_value(const json::value& v) {
  if (v.is_null()) return "null";
  auto s = json::serialize(v);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

namespace {
void pretty(std::string& out, const json::value& v, int indent) {
  auto pad = [&](int n) { out.append(static_cast<std::size_t>(n) * 2, ' '); };
  if (const auto* o = v.if_object()) {
    if (o->empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& kv : *o) {
      if (!first) out += ",\n";
      first = false;
      pad(indent + 1);
      out += json::serialize(json::value(kv.key()));
      out += ": ";
      pretty(out, kv.value(), indent + 1);
    }
    out += "\n";
    pad(indent);
    out += "}";
  } else if (const auto* a = v.if_array()) {
    if (a->empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (i > 0) out += ",\n";
      pad(indent + 1);
      pretty(out, (*a)[i], indent + 1);
    }
    out += "\n";
    pad(indent);
    out += "]";
  } else {
    out += json::serialize(v);
  }
}
}  // namespace

std::string to_pretty_json(const json::value& v) {
  std::string out;
  pretty(out, v, 0);
  out += "\n";
  return out;
}

result<json::value> parse_json(std::string_view text) {
  json::parse_options opts;
  opts.max_depth = max_json_depth + 1;
  json::stream_parser parser(json::storage_ptr(), opts);
  boost::system::error_code ec;
  auto consumed = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (!ec) return parser.release();
  // Where the parser stopped, as an editor counts: 1-based line and column.
  auto upto = text.substr(0, std::min(consumed, text.size()));
  auto line = 1 + std::count(upto.begin(), upto.end(), '\n');
  auto last_newline = upto.rfind('\n');
  auto column = upto.size() - (last_newline == std::string_view::npos ? 0 : last_newline + 1) + 1;
  return make_error(reason::bad_request, "malformed JSON body: " + ec.message() + " (line " +
                                             std::to_string(line) + ", column " +
                                             std::to_string(column) + ")");
}

namespace {

std::size_t skip_space(std::string_view t, std::size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\n' || t[i] == '\r' || t[i] == '\t')) ++i;
  return i;
}

// The end of the string starting at t[i] == '"', or npos.
std::size_t string_end(std::string_view t, std::size_t i) {
  for (++i; i < t.size(); ++i) {
    if (t[i] == '\\')
      ++i;
    else if (t[i] == '"')
      return i + 1;
  }
  return std::string_view::npos;
}

// The end of the value starting at t[i], or npos. Strings are skipped
// whole, so their brackets do not count.
std::size_t value_end(std::string_view t, std::size_t i) {
  if (i >= t.size()) return std::string_view::npos;
  if (t[i] == '"') return string_end(t, i);
  if (t[i] != '{' && t[i] != '[') {
    while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']') ++i;
    return i;
  }
  int depth = 0;
  for (; i < t.size(); ++i) {
    if (t[i] == '"') {
      i = string_end(t, i);
      if (i == std::string_view::npos) return i;
      --i;
    } else if (t[i] == '{' || t[i] == '[') {
      ++depth;
    } else if ((t[i] == '}' || t[i] == ']') && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// Where the value of the key `quoted` (with its quotes) starts in the object
// that opens at t[open]: `at` is npos when the object has no such key, and
// `bad` is set when the text is not what a serializer writes.
struct key_search {
  std::size_t at = std::string_view::npos;
  bool bad = false;
};
key_search find_key(std::string_view t, std::size_t open, std::string_view quoted) {
  constexpr auto npos = std::string_view::npos;
  for (auto i = skip_space(t, open + 1); i < t.size() && t[i] == '"';) {
    auto name_end = string_end(t, i);
    if (name_end == npos) return {npos, true};
    auto at = skip_space(t, name_end);
    if (at >= t.size() || t[at] != ':') return {npos, true};
    at = skip_space(t, at + 1);
    if (t.substr(i, name_end - i) == quoted) return {at, false};
    i = skip_space(t, value_end(t, at));
    if (i < t.size() && t[i] == '}') break;
    if (i >= t.size() || t[i] != ',') return {npos, true};
    i = skip_space(t, i + 1);
  }
  return {};
}

}  // namespace

std::optional<std::string> append_to_member(std::string_view text, std::string_view member,
                                            std::string_view key, std::string_view value) {
  auto quoted = [](std::string_view s) { return json::serialize(json::string_view(s)); };
  std::string inner = quoted(key);
  auto top = skip_space(text, 0);
  if (top >= text.size() || text[top] != '{') return std::nullopt;
  auto m = find_key(text, top, quoted(member));
  if (m.bad || m.at >= text.size() || text[m.at] != '{') return std::nullopt;
  auto end = value_end(text, m.at);
  if (end == std::string_view::npos) return std::nullopt;
  // Present already (at any place among the member's keys): not ours to add.
  if (auto k = find_key(text, m.at, inner); k.bad || k.at != std::string_view::npos)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() + inner.size() + value.size() + 8);
  out.append(text.substr(0, end - 1));  // up to the member's closing brace
  if (text[skip_space(text, m.at + 1)] != '}') out.push_back(',');
  out.append(inner).push_back(':');
  out.append(quoted(value));
  out.append(text.substr(end - 1));
  return out;
}

}  // namespace rockpool::specs
