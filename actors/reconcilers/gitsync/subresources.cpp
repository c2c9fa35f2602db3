// gitsyncs/NAME/plan: what the next sync would change, read fresh from the
// source and computed with dry runs (rpctl diff gitsync/NAME).
#include <boost/json.hpp>
#include "gitsync/reconciler.hpp"

namespace rockpool::actors::gitsync {

std::vector<specs::subresource> reconciler::subresources(
    const subresource_services& services) const {
  auto handle = [&services, s = settings_](const specs::subresource_request& r)
      -> specs::result<specs::subresource_response> {
    auto obj = services.store.get("GitSync", r.name);
    if (!obj.ok()) return obj.err();
    return specs::subresource_response{
        200, "application/json", boost::json::serialize(plan(s, services.store, *obj)), {}};
  };
  return {{"GitSync", "plan", {"GET"}, std::move(handle)}};
}

}  // namespace rockpool::actors::gitsync
