#pragma once

#include "rockpool/specs/json.hpp"
#include "rockpool/specs/result.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rockpool::specs {

/// Limits on decoded input; documents beyond them are rejected.
inline constexpr std::size_t max_document_bytes = 1 << 20;  // 1 MiB
inline constexpr std::size_t max_input_bytes = 64 << 20;    // whole file or stream
inline constexpr int max_nesting_depth = max_json_depth;
inline constexpr std::size_t max_nodes_per_document = 200000;  // bounds alias expansion

/// 1-based line and column of a value in its YAML source.
struct position {
  int line = 0;
  int column = 0;
};

/// One decoded document: its JSON value plus where each field path came from.
struct document {
  std::string source;  // file name, or "-" for standard input
  int index = 0;       // 1-based position of the document in its source
  json::value value;
  std::map<std::string, position> positions;  // field path -> position in the source

  /// Position of path, or of its nearest ancestor that has one.
  position position_of(const std::string& path) const;
  /// "Workspace \"demo\"" when kind and name are known, else "".
  std::string label() const;
};

/// A problem found in a document, ready to print.
struct diagnostic {
  std::string source;
  int index = 0;
  std::string object;  // document label, may be empty
  std::string field;   // field path, may be empty
  std::string message;
  position at;

  /// "file: document 2 (Workspace "demo"): spec.x: message (line 9, column 10)".
  std::string to_string() const;
};

/// Builds a diagnostic for a field of a document, looking up its position.
diagnostic diagnose(const document& doc, const std::string& field, std::string message);

/// Result of decoding a whole input: the documents and every problem found.
struct decoded_input {
  std::vector<document> documents;
  std::vector<diagnostic> problems;
};

/// Decodes a multi-document YAML (or JSON, which is YAML) stream. Empty documents
/// are skipped; a `kind: List` document is expanded into its items. Never throws.
decoded_input decode_documents(std::string_view text, const std::string& source);

/// The value decode_documents gives for a text that is one JSON object, by
/// the JSON parser (a tenth of the YAML parser's time), without positions;
/// std::nullopt when the text is anything else or needs the YAML decoder to
/// decide (non-ASCII or control characters, duplicate keys, numbers that are
/// not int64, a List, a limit reached). Callers then use decode_documents.
std::optional<json::value> decode_json_object(std::string_view text);

/// Emits a value as block-style YAML, quoting strings that would read back as
/// another type. Keys keep their order.
std::string to_yaml(const json::value& v);

}  // namespace rockpool::specs
