// Query parameters of lists and watches, parsed and checked as the
// apiserver does (k8s.io/apimachinery's ListOptions conversion and
// validation): booleans as the apiserver converts them, numbers strictly,
// and the combinations it forbids forbidden here with the same words.
#include "api/api.hpp"
#include "rockpool/specs/base64.hpp"

#include <algorithm>
#include <cctype>

namespace rockpool::controller::api {

namespace {

specs::result<std::uint64_t> number(const parsed_target& t, const std::string& key) {
  auto v = query(t, key);
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
    return make_error(reason::bad_request, key + " must be a non-negative integer, got \"" +
                                               v.substr(0, 32) + "\"");
  return std::stoull(v);
}

error forbidden(const std::string& field, const std::string& message) {
  auto e = make_error(reason::invalid, "ListOptions.meta.k8s.io \"\" is invalid: " + field +
                                           ": Forbidden: " + message);
  e.causes.push_back({field, message});
  return e;
}

specs::result<continue_token> decode_continue(const std::string& text) {
  auto bad = make_error(reason::bad_request,
                        "continue key is not valid: it is not a token this server handed out");
  auto raw = specs::base64_decode(text);
  if (!raw || raw->size() > 4096) return bad;
  auto v = specs::parse_json(*raw);
  if (!v.ok() || !v->is_object() || specs::string_at(*v, "v") != "rockpool/1") return bad;
  auto rev = specs::int_at(*v, "rv");
  auto after = specs::string_at(*v, "start");
  if (!rev || *rev < 0 || after.empty()) return bad;
  return continue_token{static_cast<std::uint64_t>(*rev), after};
}

}  // namespace

bool query_bool(const parsed_target& t, const std::string& key) {
  auto it = t.query.find(key);
  if (it == t.query.end()) return false;
  auto v = it->second;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return v != "0" && v != "false";
}

std::string encode_continue(const continue_token& t) {
  return specs::base64_encode(json::serialize(json::object{
      {"v", "rockpool/1"}, {"rv", static_cast<std::int64_t>(t.revision)}, {"start", t.after}}));
}

namespace {

// The apiserver's ValidateListOptions, in its order.
specs::status validate_list_options(const list_options& o) {
  if (o.version_match != list_options::match::unset) {
    if (o.watch && !o.send_initial_events)
      return forbidden("resourceVersionMatch",
                       "resourceVersionMatch is forbidden for watch unless sendInitialEvents is "
                       "provided");
    if (o.watch && o.version_match != list_options::match::not_older_than)
      return forbidden("resourceVersionMatch",
                       "resourceVersionMatch must be NotOlderThan for watch");
    if (!o.watch && !o.resource_version)
      return forbidden("resourceVersionMatch",
                       "resourceVersionMatch is forbidden unless resourceVersion is provided");
    if (o.next)
      return forbidden("resourceVersionMatch",
                       "resourceVersionMatch is forbidden when continue is provided");
    if (o.version_match == list_options::match::exact && o.resource_version == 0u)
      return forbidden("resourceVersionMatch",
                       "resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"");
  }
  if (o.send_initial_events) {
    if (!o.watch)
      return forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list");
    if (o.version_match != list_options::match::not_older_than)
      return forbidden("sendInitialEvents",
                       "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan");
    if (!o.bookmarks)
      return forbidden("allowWatchBookmarks",
                       "sendInitialEvents requires setting allowWatchBookmarks to true");
  }
  if (o.next && o.resource_version.value_or(0) != 0)
    return make_error(reason::bad_request,
                      "specifying resource version is not allowed when using continue");
  return specs::done{};
}

}  // namespace

specs::result<list_options> parse_list_options(const parsed_target& t) {
  list_options o;
  auto sel = specs::label_selector::parse(query(t, "labelSelector"));
  if (!sel.ok()) return sel.err();
  o.labels = std::move(*sel);
  o.watch = query_bool(t, "watch");
  o.bookmarks = query_bool(t, "allowWatchBookmarks");
  if (t.query.contains("sendInitialEvents")) o.send_initial_events = query_bool(t, "sendInitialEvents");
  if (!query(t, "resourceVersion").empty()) {
    auto rv = number(t, "resourceVersion");
    if (!rv.ok()) return rv.err();
    o.resource_version = *rv;
  }
  if (!query(t, "timeoutSeconds").empty()) {
    auto ts = number(t, "timeoutSeconds");
    if (!ts.ok()) return ts.err();
    o.timeout = std::chrono::seconds(std::min<std::uint64_t>(*ts, 1u << 30));
  }
  if (!query(t, "limit").empty()) {
    auto limit = number(t, "limit");
    if (!limit.ok()) return limit.err();
    o.limit = static_cast<std::size_t>(std::min<std::uint64_t>(*limit, 1u << 30));
  }
  if (auto c = query(t, "continue"); !c.empty()) {
    auto token = decode_continue(c);
    if (!token.ok()) return token.err();
    o.next = std::move(*token);
  }
  auto m = query(t, "resourceVersionMatch");
  if (m == "NotOlderThan") {
    o.version_match = list_options::match::not_older_than;
  } else if (m == "Exact") {
    o.version_match = list_options::match::exact;
  } else if (!m.empty()) {
    auto e = make_error(reason::invalid, "resourceVersionMatch: Unsupported value: \"" +
                                             m.substr(0, 32) +
                                             "\": supported values: \"Exact\", \"NotOlderThan\"");
    e.causes.push_back({"resourceVersionMatch", "supported values: Exact, NotOlderThan"});
    return e;
  }
  if (auto st = validate_list_options(o); !st.ok()) return st.err();
  return o;
}

}  // namespace rockpool::controller::api
