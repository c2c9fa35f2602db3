#pragma once

#include <string_view>
#include <vector>

namespace rockpool::ui {

/// One file of the web UI as it was in ui/ at build time.
struct embedded_file {
  std::string_view name;  // e.g. app.js
  std::string_view text;
  std::string_view hash;  // first 12 hex digits of its SHA-256
};

/// Every file of the UI, sorted by name.
const std::vector<embedded_file>& embedded_files();

}  // namespace rockpool::ui
