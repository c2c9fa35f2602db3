// PATCH: server-side apply (application/apply-patch+yaml), RFC 7386 merge
// patches (application/merge-patch+json) and RFC 6902 JSON patches
// (application/json-patch+json), of an object or of its status.
#include "api/api.hpp"

namespace rockpool::controller {

using namespace api;

http_response api_handler::patch(const resource_call& c) {
  auto body = decode_body(c.req);
  if (!body.ok()) return status_response(body.err());
  if (has_media_type(c.req.content_type, "application/apply-patch+yaml")) {
    if (c.status_path)
      return status_response(
          make_error(reason::unsupported_media,
                     "apply patches are not supported on status; use a merge patch"));
    if (auto e = check_body_identity(*body, c.kind, c.name)) return status_response(*e);
    if (c.write.manager.empty())
      return status_response(
          make_error(reason::bad_request, "fieldManager is required for apply patches"));
    bool force = query_bool(c.target, "force");
    auto warnings = apply_field_validation(c.target, *body);
    if (!warnings.ok()) return status_response(warnings.err());
    return with_warnings(
        write_response(
            timed_write(c, [&] { return store_.apply(std::move(*body), c.write, force); }), 200),
        *warnings);
  }
  if (c.target.query.contains("force")) {
    auto e = make_error(reason::invalid, "force: Forbidden: may not be specified for non-apply patch");
    e.causes.push_back({"force", "may not be specified for non-apply patch"});
    return status_response(e);
  }
  if (has_media_type(c.req.content_type, "application/json-patch+json"))
    return write_response(
        timed_write(
            c,
            [&] { return store_.json_patch(c.kind.kind, c.name, *body, c.status_path, c.write); }),
        200);
  if (!has_media_type(c.req.content_type, "application/merge-patch+json"))
    return status_response(
        make_error(reason::unsupported_media,
                   "PATCH needs Content-Type application/apply-patch+yaml, "
                   "application/merge-patch+json or application/json-patch+json"));
  if (!c.status_path)
    return write_response(
        timed_write(c, [&] { return store_.merge_patch(c.kind.kind, c.name, *body, c.write); }),
        200);
  return write_response(
      timed_write(c,
                  [&] { return store_.merge_patch_status(c.kind.kind, c.name, *body, c.write); }),
      200);
}

}  // namespace rockpool::controller
