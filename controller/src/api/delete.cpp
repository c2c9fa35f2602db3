// DELETE of an object, with DeleteOptions' preconditions, dryRun and
// propagationPolicy (Background only: dependents are collected after their
// owner goes).
#include "api/api.hpp"

namespace rockpool::controller {

using namespace api;

http_response api_handler::remove(const resource_call& c) {
  if (c.status_path)
    return status_response(make_error(reason::method_not_allowed, "cannot delete status"));
  std::optional<std::uint64_t> precondition;
  auto write = c.write;
  std::string policy = query(c.target, "propagationPolicy");
  bool orphan = query_bool(c.target, "orphanDependents");
  if (!c.req.body.empty()) {
    auto opts = specs::parse_json(c.req.body);
    if (!opts.ok()) return status_response(opts.err());
    if (auto p = specs::string_at(*opts, "propagationPolicy"); !p.empty()) policy = p;
    if (const auto* od = specs::find_path(*opts, "orphanDependents"); od && od->is_bool())
      orphan = od->get_bool();
    auto rv = specs::string_at(*opts, "preconditions.resourceVersion");
    if (!rv.empty()) {
      try {
        precondition = std::stoull(rv);
      } catch (...) {
        return status_response(
            make_error(reason::bad_request, "preconditions.resourceVersion must be a number"));
      }
    }
    if (const auto* dr = specs::find_path(*opts, "dryRun");
        dr && dr->is_array() && !dr->get_array().empty())
      write.dry_run = true;
  }
  if (auto e = check_propagation(policy, orphan)) return status_response(*e);
  resource_call as_asked{c.req, c.target, c.kind, c.name, c.status_path, write};
  return write_response(
      timed_write(as_asked,
                  [&] { return store_.remove(c.kind.kind, c.name, precondition, write); }),
      200);
}

}  // namespace rockpool::controller
