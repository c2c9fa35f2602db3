// authorization.k8s.io/v1 self-subject reviews: what `kubectl auth can-i`
// and dashboards ask before they offer an action. rockpoold has one level
// of access (a valid bearer token, or the owner-only unix socket, reaches
// everything), so the truthful answer is "allowed", saying why.
#include "api/api.hpp"

namespace rockpool::controller {

using namespace api;

namespace {
const char* const why =
    "rockpoold has one level of access: a client that reached the API may do everything";
}

http_response api_handler::access_review(const http_request& req, const std::string& which) {
  if (which != "selfsubjectaccessreviews" && which != "selfsubjectrulesreviews")
    return status_response(
        make_error(reason::not_found, "the server could not find the requested resource"));
  if (req.method != "POST")
    return status_response(make_error(reason::method_not_allowed,
                                      which + " are created (POST), not " + req.method));
  auto body = decode_body(req);
  if (!body.ok()) return status_response(body.err());
  if (!body->is_object())
    return status_response(make_error(reason::bad_request, "body must be a JSON object"));
  auto review = body->as_object();
  review["apiVersion"] = std::string(authorization_group) + "/v1";
  if (which == "selfsubjectaccessreviews") {
    review["kind"] = "SelfSubjectAccessReview";
    review["status"] = {{"allowed", true}, {"reason", why}};
  } else {
    review["kind"] = "SelfSubjectRulesReview";
    review["status"] = {
        {"resourceRules",
         json::array{{{"verbs", json::array{"*"}},
                      {"apiGroups", json::array{"*"}},
                      {"resources", json::array{"*"}}}}},
        {"nonResourceRules",
         json::array{{{"verbs", json::array{"*"}}, {"nonResourceURLs", json::array{"*"}}}}},
        {"incomplete", false},
        {"evaluationError", ""}};
  }
  if (!review.contains("metadata")) review["metadata"] = json::object{};
  return json_response(201, review);
}

}  // namespace rockpool::controller
