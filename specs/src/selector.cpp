#include "rockpool/specs/selector.hpp"

#include <algorithm>
#include <cctype>

namespace rockpool::specs {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits on commas that are not inside parentheses.
std::vector<std::string_view> split_requirements(std::string_view text) {
  std::vector<std::string_view> out;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      out.push_back(trim(text.substr(start, i - start)));
      start = i + 1;
    } else if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')') {
      --depth;
    }
  }
  return out;
}

}  // namespace

result<label_selector> label_selector::parse(std::string_view text) {
  label_selector sel;
  if (trim(text).empty()) return sel;
  auto bad = [&](std::string_view part) {
    return make_error(reason::bad_request, "invalid label selector \"" + std::string(text) +
                                               "\" near \"" + std::string(part) + "\"");
  };
  for (auto part : split_requirements(text)) {
    if (part.empty()) return bad(part);
    requirement r{};
    if (auto p = part.find("!="); p != std::string_view::npos) {
      r = {requirement::op::not_equals,
           std::string(trim(part.substr(0, p))),
           {std::string(trim(part.substr(p + 2)))}};
    } else if (auto q = part.find('='); q != std::string_view::npos) {
      auto value = part.substr(q + 1);
      if (!value.empty() && value[0] == '=') value.remove_prefix(1);
      r = {requirement::op::equals,
           std::string(trim(part.substr(0, q))),
           {std::string(trim(value))}};
    } else if (auto open = part.find('('); open != std::string_view::npos) {
      auto close = part.rfind(')');
      if (close == std::string_view::npos || close < open) return bad(part);
      auto head = trim(part.substr(0, open));
      auto sp = head.rfind(' ');
      if (sp == std::string_view::npos) return bad(part);
      auto word = trim(head.substr(sp + 1));
      r.key = std::string(trim(head.substr(0, sp)));
      if (word == "in")
        r.kind = requirement::op::in;
      else if (word == "notin")
        r.kind = requirement::op::not_in;
      else
        return bad(part);
      for (auto v : split_requirements(part.substr(open + 1, close - open - 1)))
        r.values.emplace_back(v);
    } else if (part[0] == '!') {
      r = {requirement::op::not_exists, std::string(trim(part.substr(1))), {}};
    } else {
      r = {requirement::op::exists, std::string(part), {}};
    }
    if (r.key.empty() || r.key.find(' ') != std::string::npos) return bad(part);
    sel.requirements_.push_back(std::move(r));
  }
  return sel;
}

bool label_selector::matches(const json::value& object) const {
  const auto* labels = find_path(object, "metadata.labels");
  const json::object* l = labels ? labels->if_object() : nullptr;
  for (const auto& r : requirements_) {
    const json::value* v = l ? l->if_contains(r.key) : nullptr;
    std::string value = (v && v->is_string()) ? std::string(v->get_string()) : std::string();
    bool has = v != nullptr;
    auto in_values = [&] {
      return std::find(r.values.begin(), r.values.end(), value) != r.values.end();
    };
    switch (r.kind) {
      case requirement::op::equals:
        if (!has || value != r.values[0]) return false;
        break;
      case requirement::op::not_equals:
        if (has && value == r.values[0]) return false;
        break;
      case requirement::op::exists:
        if (!has) return false;
        break;
      case requirement::op::not_exists:
        if (has) return false;
        break;
      case requirement::op::in:
        if (!has || !in_values()) return false;
        break;
      case requirement::op::not_in:
        if (has && in_values()) return false;
        break;
    }
  }
  return true;
}

}  // namespace rockpool::specs
