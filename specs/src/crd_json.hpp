#pragma once
// The CRD files' documents as JSON text, made from the YAML at build time by
// specs/tools/crd_json_gen.cpp with the same decoder, so a start parses JSON
// instead of YAML.

#include <cstddef>
#include <string_view>
#include <vector>

namespace rockpool::specs::detail {

struct crd_json {
  std::string_view name;   // the file's name in crds/
  std::size_t yaml_bytes;  // the size of the YAML it was made from
  std::string_view json;   // a JSON array of the file's documents
};

const std::vector<crd_json>& embedded_crd_json();

}  // namespace rockpool::specs::detail
