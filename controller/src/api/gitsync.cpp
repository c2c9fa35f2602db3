// GET gitsyncs/NAME/plan: what the next sync would change, read fresh from
// the source and computed with dry runs (rpctl diff gitsync/NAME).
#include "api/api.hpp"

namespace rockpool::controller {

using namespace api;

http_response api_handler::plan(const resource_call& c) {
  auto obj = store_.get("GitSync", c.name);
  if (!obj.ok()) return status_response(obj.err());
  if (!options_.gitsync_plan)
    return status_response(
        make_error(reason::unavailable, "this controller does not run GitSync reconcilers"));
  return json_response(200, options_.gitsync_plan(*obj));
}

}  // namespace rockpool::controller
