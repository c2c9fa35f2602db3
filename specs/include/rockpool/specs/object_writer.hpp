#pragma once

#include "rockpool/specs/object_model.hpp"
#include "rockpool/specs/result.hpp"

#include <string>
#include <vector>

namespace rockpool::specs {

/// Where manifests are applied: rockpoold's API (rpctl's writer) or the store
/// itself (store_writer, for in-daemon users such as a GitOps sync). Transport
/// failures are reason::unavailable; refusals carry the server's reason and
/// its message.
class object_writer {
 public:
  virtual ~object_writer() = default;
  /// Server-side apply of obj on behalf of manager; force takes the object
  /// over from another manager; a dry run computes the outcome and writes nothing.
  [[nodiscard]] virtual result<write_outcome> apply(const json::value& obj,
                                                    const std::string& manager, bool force,
                                                    bool dry_run) = 0;
  /// The stored object, or reason::not_found.
  [[nodiscard]] virtual result<json::value> get(const std::string& kind,
                                                const std::string& name) = 0;
  /// The stored objects of kind that match a label selector ("" for all).
  [[nodiscard]] virtual result<std::vector<json::value>> list(const std::string& kind,
                                                              const std::string& selector) = 0;
  /// Deletes kind/name (a dry run only checks).
  [[nodiscard]] virtual result<write_effect> remove(const std::string& kind,
                                                    const std::string& name, bool dry_run) = 0;
};

}  // namespace rockpool::specs
