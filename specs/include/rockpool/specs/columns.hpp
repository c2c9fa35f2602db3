#pragma once

// Table columns as CRDs declare them (additionalPrinterColumns): what rpctl
// prints and what the API will serve as Table output.

#include "rockpool/specs/json.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace rockpool::specs {

/// One additionalPrinterColumns entry of a CRD.
struct printer_column {
  std::string name;       // "Phase"
  std::string type;       // string, integer, number, boolean, date
  std::string json_path;  // ".status.phase"
  std::string description;
  int priority = 0;  // > 0: only in wide output
};

/// The first value `path` selects in obj, or nullptr. The JSONPath subset CRD
/// columns use: `.field`, `[N]`, and `[?(@.field=="value")]` filters, e.g.
/// `.status.conditions[?(@.type=="Ready")].status`.
const json::value* select_json_path(const json::value& obj, std::string_view path);

/// "42s", "5m", "3h", "2d" as kubectl prints ages.
std::string format_age(std::chrono::seconds age);

/// The cell of column for obj at `now`: dates as ages, other values as text,
/// "" when the path selects nothing.
std::string column_cell(const printer_column& column, const json::value& obj,
                        std::chrono::system_clock::time_point now);

}  // namespace rockpool::specs
