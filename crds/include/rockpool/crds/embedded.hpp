#pragma once

#include <string_view>
#include <vector>

namespace rockpool::crds {

/// One CustomResourceDefinition file as it was in crds/ at build time.
struct embedded_file {
  std::string_view name;
  std::string_view yaml;
  std::string_view hash;  // first 12 hex digits of its SHA-256
};

/// Every CRD file, sorted by file name.
const std::vector<embedded_file>& embedded_files();

}  // namespace rockpool::crds
