#pragma once

#include "rockpool/specs/object_store.hpp"
#include "rockpool/specs/object_writer.hpp"

namespace rockpool::specs {

/// An object_writer straight onto the store, for users inside rockpoold.
/// Thread safety: as object_store.
class store_writer final : public object_writer {
 public:
  explicit store_writer(object_store& store) : store_(store) {}
  result<write_outcome> apply(const json::value& obj, const std::string& manager, bool force,
                              bool dry_run) override;
  result<json::value> get(const std::string& kind, const std::string& name) override;
  result<std::vector<json::value>> list(const std::string& kind,
                                        const std::string& selector) override;
  result<write_effect> remove(const std::string& kind, const std::string& name,
                              bool dry_run) override;

 private:
  object_store& store_;
};

}  // namespace rockpool::specs
