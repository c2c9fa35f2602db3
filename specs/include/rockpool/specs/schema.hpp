#pragma once

#include "rockpool/specs/columns.hpp"
#include "rockpool/specs/json.hpp"
#include "rockpool/specs/pattern.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rockpool::specs {

inline constexpr const char* api_group = "rockpool.dev";
inline constexpr const char* api_version = "rockpool.dev/v1alpha1";

/// One node of an OpenAPI v3 schema as CRDs use it (structural subset).
struct schema {
  std::string type;  // object, string, integer, number, boolean, array; empty = any
  std::string description;
  std::vector<std::pair<std::string, std::shared_ptr<schema>>> properties;  // declared order
  std::vector<std::string> required;
  std::shared_ptr<schema> items;
  /// A map's values (additionalProperties: {schema}): keys not in properties.
  std::shared_ptr<schema> additional_properties;
  bool preserve_unknown_fields = false;
  std::vector<json::value> enum_values;
  std::optional<double> minimum, maximum;
  std::optional<std::size_t> min_length, max_length, max_items, max_properties;
  std::string pattern;
  std::optional<specs::pattern> pattern_re;  // linear-time; see pattern.hpp
  std::optional<json::value> default_value;

  /// The schema of a property, or nullptr.
  const schema* property(std::string_view name) const;
};

/// Everything known about one kind, read from its CRD.
struct kind_info {
  std::string kind;      // Workspace
  std::string plural;    // workspaces
  std::string singular;  // workspace
  std::vector<std::string> short_names;
  std::vector<std::string> categories;  // e.g. rockpool: `kubectl get rockpool`
  std::shared_ptr<schema> root;  // openAPIV3Schema
  json::value root_json;         // the same, as written in the CRD (for OpenAPI documents)
  std::string crd_yaml;          // the CRD as embedded
  json::value crd;               // the same, decoded
  /// Table columns after NAME (additionalPrinterColumns).
  std::vector<printer_column> columns;
  /// Where the kind goes when a set of objects is applied: lower first (a
  /// template before the workspaces made from it). The CRD's annotation
  /// rockpool.dev/apply-order; 100 when absent.
  int apply_order = 100;
};

/// All kinds, in the order CRDs were embedded. Parsed once, on first use.
const std::vector<kind_info>& kinds();

/// Looks a kind up by kind, plural, singular or short name (case-insensitive).
const kind_info* find_kind(std::string_view any_name);

/// A field-level finding of schema validation.
struct field_error {
  std::string field;
  std::string message;
};

/// Fills in schema defaults for absent fields (recursively, objects only).
void apply_defaults(const schema& s, json::value& v);

/// Validates v against s; appends every problem (not only the first) to out.
/// `path` is the dotted path of v.
void validate_schema(const schema& s, const json::value& v, const std::string& path,
                     std::vector<field_error>& out);

/// Removes from v every field its schema does not know (where validate_schema
/// would say "unknown field"), appending each one's path to removed.
void drop_unknown_fields(const schema& s, json::value& v, const std::string& path,
                         std::vector<std::string>& removed);

/// Human documentation for KIND or KIND.field.path, in the style of kubectl explain.
/// Returns std::nullopt when the kind or field does not exist.
std::optional<std::string> explain(std::string_view kind_and_path, bool recursive = false);

}  // namespace rockpool::specs
