#include "rockpool/specs/columns.hpp"

#include "rockpool/specs/clock.hpp"

#include <boost/json.hpp>

namespace rockpool::specs {

namespace {

// One step of a path: a field, an index, or a filter field == value.
struct step {
  enum class type { field, index, filter } what;
  std::string name, value;
  std::size_t index = 0;
};

std::optional<std::vector<step>> parse_path(std::string_view p) {
  std::vector<step> out;
  std::size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '.') {
      auto end = p.find_first_of(".[", i + 1);
      if (end == i + 1) return std::nullopt;
      out.push_back({step::type::field, std::string(p.substr(i + 1, end - i - 1)), {}});
      i = end == std::string_view::npos ? p.size() : end;
    } else if (p.substr(i, 4) == "[?(@") {
      // [?(@.field=="value")]
      auto eq = p.find("==", i);
      auto close = p.find(")]", i);
      if (eq == std::string_view::npos || close == std::string_view::npos || eq > close)
        return std::nullopt;
      auto field = p.substr(i + 5, eq - i - 5);
      auto value = p.substr(eq + 2, close - eq - 2);
      if (value.size() >= 2 && (value.front() == '"' || value.front() == '\''))
        value = value.substr(1, value.size() - 2);
      out.push_back({step::type::filter, std::string(field), std::string(value)});
      i = close + 2;
    } else if (p[i] == '[') {
      auto close = p.find(']', i);
      if (close == std::string_view::npos) return std::nullopt;
      auto digits = p.substr(i + 1, close - i - 1);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
      out.push_back({step::type::index, {}, {}, std::stoul(std::string(digits))});
      i = close + 1;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace

const json::value* select_json_path(const json::value& obj, std::string_view path) {
  auto steps = parse_path(path);
  if (!steps) return nullptr;
  const json::value* at = &obj;
  for (const auto& s : *steps) {
    if (s.what == step::type::field) {
      const auto* o = at->if_object();
      at = o ? o->if_contains(s.name) : nullptr;
    } else if (s.what == step::type::index) {
      const auto* a = at->if_array();
      at = (a && s.index < a->size()) ? &(*a)[s.index] : nullptr;
    } else {
      const auto* a = at->if_array();
      const json::value* match = nullptr;
      if (a)
        for (const auto& e : *a)
          if (const auto* o = e.if_object())
            if (const auto* f = o->if_contains(s.name);
                f && f->is_string() && f->get_string() == s.value) {
              match = &e;
              break;
            }
      at = match;
    }
    if (at == nullptr) return nullptr;
  }
  return at;
}

std::string format_age(std::chrono::seconds age) {
  auto secs = std::max<long long>(0, age.count());
  if (secs < 120) return std::to_string(secs) + "s";
  if (secs < 7200) return std::to_string(secs / 60) + "m";
  if (secs < 172800) return std::to_string(secs / 3600) + "h";
  return std::to_string(secs / 86400) + "d";
}

std::string column_cell(const printer_column& column, const json::value& obj,
                        std::chrono::system_clock::time_point now) {
  const auto* v = select_json_path(obj, column.json_path);
  if (v == nullptr || v->is_null()) return {};
  if (const auto* s = v->if_string()) {
    if (column.type == "date" && !s->empty())
      return format_age(
          std::chrono::duration_cast<std::chrono::seconds>(now - parse_rfc3339(std::string(*s))));
    return std::string(*s);
  }
  return json::serialize(*v);
}

}  // namespace rockpool::specs
