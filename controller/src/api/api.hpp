#pragma once

// Internal to the API: request parsing and response building shared by the
// verb handlers (one file per verb, as Kubernetes' apiserver has).

#include "rockpool/controller/api_handler.hpp"
#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/schema.hpp"
#include "rockpool/specs/selector.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rockpool::controller::api {

namespace json = boost::json;
using specs::error;
using specs::make_error;
using specs::reason;
using steady = std::chrono::steady_clock;

struct parsed_target {
  std::vector<std::string> segments;
  std::map<std::string, std::string> query;
};

/// The path's decoded segments and the query parameters.
parsed_target parse_target(std::string_view target);
/// A query parameter, or "".
std::string query(const parsed_target& t, const std::string& key);
http_response json_response(int status, const json::value& v);
bool has_media_type(const std::string& content_type, std::string_view media);
/// 16 hex digits of a 64-bit FNV-1a hash: names that change when content
/// does (cache-busting asset names, the OpenAPI document's hash).
std::string content_hash(std::string_view s);
/// A request body: JSON, or YAML for apply patches and yaml content types.
specs::result<json::value> decode_body(const http_request& req);
json::value list_object(const specs::kind_info& k, specs::list_outcome&& l);
/// Whether the client asks for a meta.k8s.io Table (kubectl get does).
bool wants_table(const http_request& req);
/// Objects of kind k as a meta.k8s.io/v1 Table: a Name column and the CRD's
/// printer columns (cells rendered as rpctl renders them), each row with the
/// object's metadata, or the object with includeObject=Object, or nothing
/// with includeObject=None. with_columns false: no columnDefinitions (the
/// watch events after the first). row_objects, when given (one per item):
/// what the rows carry instead of the items (another API's view of them).
json::value table_of(const specs::kind_info& k, const std::vector<json::value>& items,
                     const parsed_target& t, const std::string& resource_version,
                     bool with_columns = true,
                     const std::vector<json::value>* row_objects = nullptr);
/// fieldValidation: Strict (or absent) leaves body alone (unknown fields are
/// refused by validation); Warn and Ignore drop them, and Warn returns one
/// warning per field for the Warning header. Anything else is 400.
specs::result<std::vector<std::string>> apply_field_validation(const parsed_target& t,
                                                               json::value& body);
/// Adds `Warning: 299 - "..."` for each warning.
http_response with_warnings(http_response r, const std::vector<std::string>& warnings);
/// dryRun (All, or refused) and fieldManager (at most 128 printable
/// characters, or refused), checked as the apiserver checks write options.
specs::result<specs::write_request> write_request_of(const parsed_target& t);
/// A DELETE's propagationPolicy (query or DeleteOptions body): Background,
/// or absent, is what Rockpool does; Foreground and Orphan are refused.
std::optional<error> check_propagation(const std::string& policy, bool orphan_dependents);
/// A write's outcome: the object with 200/201/202, or a Status.
http_response write_response(specs::result<specs::write_outcome>&& r, int ok_status);
/// Checks that a body names the kind and object the URL names.
std::optional<error> check_body_identity(const json::value& obj, const specs::kind_info& k,
                                         const std::string& url_name);
bool passes_filters(const json::value& obj, const specs::kind_info& k,
                    const specs::label_selector& sel, const std::string& name);
/// Parses fieldSelector; only metadata.name=NAME is supported.
specs::result<std::string> name_from_field_selector(const std::string& fs);
/// A boolean query parameter read as the apiserver reads one: absent is
/// false, "0" and "false" (in any case) are false, anything else is true.
bool query_bool(const parsed_target& t, const std::string& key);

/// A list's continue token: go on after the object named `after`, reading
/// at `revision` (0: an "inconsistent" continue, reading the latest, as the
/// apiserver hands out with 410 Expired).
struct continue_token {
  std::uint64_t revision = 0;
  std::string after;
};
std::string encode_continue(const continue_token& t);

/// The query parameters of a list or watch (Kubernetes' ListOptions), checked
/// as the apiserver checks them: what is malformed or contradictory is a 400
/// or 422 Status naming the parameter, never ignored. fieldSelector is read
/// by the caller (its fields depend on the resource).
struct list_options {
  enum class match { unset, not_older_than, exact };
  specs::label_selector labels;
  bool watch = false;
  bool bookmarks = false;                    // allowWatchBookmarks
  std::optional<bool> send_initial_events;   // sendInitialEvents (watch only)
  std::optional<std::uint64_t> resource_version;  // absent or ""; "0" is 0
  match version_match = match::unset;        // resourceVersionMatch
  std::optional<std::chrono::seconds> timeout;  // timeoutSeconds
  std::size_t limit = 0;                     // 0: everything
  std::optional<continue_token> next;        // continue
};
specs::result<list_options> parse_list_options(const parsed_target& t);
/// Sets metadata.continue of a list (or Table) read at `revision` when the
/// page has more (`after`: the name of its last item; "" when it has not).
void set_continue(json::value& list, std::uint64_t revision, const std::string& after);

/// Whether an Accept header asks for the aggregated discovery document
/// (apidiscovery.k8s.io APIGroupDiscoveryList), as kubectl 1.30+ does.
bool wants_aggregated_discovery(const std::string& accept);

/// authorization.k8s.io (access_review.cpp): self-subject access and rules
/// reviews, answered truthfully: a signed-in client may do everything.
inline constexpr const char* authorization_group = "authorization.k8s.io";
/// Whether rockpoold serves this group version of Kubernetes' own groups.
bool is_builtin_group_version(const std::string& group, const std::string& version);

/// apiextensions.k8s.io (crds.cpp): the CRDs as the apiserver serves them
/// (from the embedded files, Established), the kind_info a watch of them
/// uses, and whether a path names them.
inline constexpr const char* crd_group = "apiextensions.k8s.io";
const std::vector<json::value>& crd_objects();
const specs::kind_info& crd_kind();
bool is_crd_path(const std::vector<std::string>& segments);

/// Core v1 events (core_events.cpp): whether a path (segments after /api)
/// names them; a fieldSelector over involvedObject.* and metadata.name; a
/// Rockpool Event in core v1's shape; whether a Rockpool Event matches such a
/// selector (read in core v1's field names).
bool is_core_events_path(const std::vector<std::string>& segments);
using core_event_selector = std::map<std::string, std::string>;
specs::result<core_event_selector> core_event_fields(const std::string& field_selector);
json::value core_event(const json::value& rockpool_event);
bool core_event_selected(const json::value& rockpool_event, const core_event_selector& sel);

}  // namespace rockpool::controller::api

namespace rockpool::controller {

/// A request to /apis/rockpool.dev/v1alpha1/PLURAL[/NAME[/status]].
struct resource_call {
  const http_request& req;
  api::parsed_target target;
  const specs::kind_info& kind;
  std::string name;  // empty on the collection
  bool status_path = false;
  specs::write_request write;
};

}  // namespace rockpool::controller
