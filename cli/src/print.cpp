// How rpctl prints objects: tables (the kinds' printer columns), events,
// YAML, JSON and names; the shared pieces of describe's layout.
#include "rockpool/cli/cli.hpp"

#include "rockpool/specs/clock.hpp"
#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/columns.hpp"
#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace rockpool::cli {

namespace json = boost::json;
using specs::string_at;

std::string ref(const json::value& obj) {
  const auto* k = specs::find_kind(string_at(obj, "kind"));
  return (k ? k->singular : string_at(obj, "kind")) + "/" + string_at(obj, "metadata.name");
}

std::string age_since(const std::string& ts) {
  if (ts.empty()) return "<unknown>";
  return specs::format_age(std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now() - specs::parse_rfc3339(ts)));
}

namespace {

// A field of the condition of this type, or "-" when there is none.
std::string condition_field(const json::value& obj, const std::string& type, const char* field) {
  const auto* conds = specs::find_path(obj, "status.conditions");
  if (conds && conds->is_array())
    for (const auto& c : conds->get_array())
      if (string_at(c, "type") == type) return string_at(c, field);
  return "-";
}

}  // namespace

std::string condition_status(const json::value& obj, const std::string& type) {
  return condition_field(obj, type, "status");
}

std::string condition_message(const json::value& obj, const std::string& type) {
  return condition_field(obj, type, "message");
}

std::string or_dash(std::string s) {
  return s.empty() ? "-" : s;
}

namespace {

// A table row of `get`: NAME, then the kind's CRD columns (priority > 0
// only when wide), as kubectl prints custom resources.
std::vector<std::string> table_row(const specs::kind_info& k, const json::value* o, bool wide) {
  std::vector<std::string> r = {o ? string_at(*o, "metadata.name") : "NAME"};
  auto now = std::chrono::system_clock::now();
  for (const auto& col : k.columns) {
    if (col.priority > 0 && !wide) continue;
    if (!o) {
      std::string title = col.name;
      for (auto& ch : title) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      r.push_back(title);
    } else {
      r.push_back(or_dash(specs::column_cell(col, *o, now)));
    }
  }
  return r;
}

// A row of `rpctl events`, laid out as `kubectl events` does; nullptr: the header.
std::vector<std::string> event_row(const json::value* o) {
  if (!o) return {"LAST SEEN", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"};
  const auto* inv = specs::find_kind(string_at(*o, "spec.involvedObject.kind"));
  return {age_since(string_at(*o, "spec.lastTimestamp")),
          string_at(*o, "spec.type"),
          string_at(*o, "spec.reason"),
          (inv ? inv->singular : string_at(*o, "spec.involvedObject.kind")) + "/" +
              string_at(*o, "spec.involvedObject.name"),
          std::to_string(specs::int_at(*o, "spec.count").value_or(1)),
          string_at(*o, "spec.message")};
}

}  // namespace

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 3, ' ');
    }
    out << line << "\n";
  }
}

std::optional<output> parse_output(const std::string& o) {
  if (o.empty()) return output::table;
  if (o == "wide") return output::wide;
  if (o == "yaml") return output::yaml;
  if (o == "json") return output::json;
  if (o == "name") return output::name;
  return std::nullopt;
}

// event_view: `rpctl events`' own layout, oldest first.
void print_objects(std::ostream& out, const specs::kind_info& k,
                   const std::vector<json::value>& items, output fmt, bool single, bool header,
                   bool event_view) {
  switch (fmt) {
    case output::yaml:
    case output::json: {
      json::value v;
      if (single && items.size() == 1) {
        v = items[0];
      } else {
        json::array arr(items.begin(), items.end());
        v = json::object{{"apiVersion", "v1"}, {"kind", "List"}, {"items", std::move(arr)}};
      }
      out << (fmt == output::yaml ? specs::to_yaml(v) : specs::to_pretty_json(v));
      break;
    }
    case output::name:
      for (const auto& o : items) out << ref(o) << "\n";
      break;
    case output::table:
    case output::wide: {
      bool wide = fmt == output::wide;
      auto row = [&](const json::value* o) {
        return event_view ? event_row(o) : table_row(k, o, wide);
      };
      std::vector<std::vector<std::string>> rows;
      if (header) rows.push_back(row(nullptr));
      std::vector<const json::value*> order;
      for (const auto& o : items) order.push_back(&o);
      if (event_view)  // oldest first, as kubectl shows events
        std::stable_sort(
            order.begin(), order.end(), [](const json::value* a, const json::value* b) {
              return string_at(*a, "spec.lastTimestamp") < string_at(*b, "spec.lastTimestamp");
            });
      for (const auto* o : order) rows.push_back(row(o));
      print_table(out, rows);
      break;
    }
  }
}

}  // namespace rockpool::cli
