#pragma once

#include "rockpool/specs/json.hpp"
#include "rockpool/specs/result.hpp"

#include <string>
#include <vector>

namespace rockpool::specs {

/// A Kubernetes label selector: comma-separated requirements, each one of
/// `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`.
class label_selector {
 public:
  /// Parses a selector; an empty string selects everything.
  [[nodiscard]] static result<label_selector> parse(std::string_view text);

  /// True iff the object's metadata.labels satisfy every requirement.
  bool matches(const json::value& object) const;
  bool empty() const { return requirements_.empty(); }

 private:
  struct requirement {
    enum class op { equals, not_equals, exists, not_exists, in, not_in } kind;
    std::string key;
    std::vector<std::string> values;
  };
  std::vector<requirement> requirements_;
};

}  // namespace rockpool::specs
