#include "api/api.hpp"

namespace rockpool::controller::api {

namespace {

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

parsed_target parse_target(std::string_view target) {
  parsed_target out;
  auto q = target.find('?');
  auto path = target.substr(0, q);
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    auto seg = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!seg.empty()) out.segments.push_back(url_decode(seg));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  // The UI calls the API at its own prefix + /api (as Caddy's control server
  // routes it); served straight from rockpoold, /api/... is the same API.
  if (!out.segments.empty() && out.segments[0] == "api") out.segments.erase(out.segments.begin());
  if (q != std::string_view::npos) {
    auto qs = target.substr(q + 1);
    while (!qs.empty()) {
      auto amp = qs.find('&');
      auto pair = qs.substr(0, amp);
      auto eq = pair.find('=');
      out.query[url_decode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
      if (amp == std::string_view::npos) break;
      qs = qs.substr(amp + 1);
    }
  }
  return out;
}

std::string query(const parsed_target& t, const std::string& key) {
  auto it = t.query.find(key);
  return it == t.query.end() ? std::string() : it->second;
}

http_response json_response(int status, const json::value& v) {
  http_response r;
  r.status = status;
  r.body = json::serialize(v);
  return r;
}

bool has_media_type(const std::string& content_type, std::string_view media) {
  return content_type.substr(0, content_type.find(';')) == media;
}

std::string content_hash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<std::size_t>(i)] = digits[h & 15];
  return out;
}

specs::result<json::value> decode_body(const http_request& req) {
  static constexpr std::string_view accepted[] = {
      "application/json", "application/yaml", "application/apply-patch+yaml",
      "application/merge-patch+json", "application/json-patch+json"};
  bool known = req.content_type.empty();
  for (auto media : accepted) known = known || has_media_type(req.content_type, media);
  if (!known)
    return make_error(reason::unsupported_media,
                      "the body's Content-Type \"" + req.content_type +
                          "\" is not supported (application/json or application/yaml)");
  if (req.body.empty()) return make_error(reason::bad_request, "request body is empty");
  bool yaml = has_media_type(req.content_type, "application/apply-patch+yaml") ||
              has_media_type(req.content_type, "application/yaml");
  if (!yaml) return specs::parse_json(req.body);
  // kubectl and rpctl send server-side apply's body as JSON text.
  if (auto v = specs::decode_json_object(req.body)) return std::move(*v);
  auto decoded = specs::decode_documents(req.body, "request body");
  if (!decoded.problems.empty()) {
    error e{reason::bad_request, decoded.problems[0].to_string(), {}};
    for (const auto& p : decoded.problems) e.causes.push_back({p.field, p.to_string()});
    return e;
  }
  if (decoded.documents.size() != 1)
    return make_error(reason::bad_request, "request body must hold exactly one document");
  return std::move(decoded.documents[0].value);
}

json::value list_object(const specs::kind_info& k, specs::list_outcome&& l) {
  json::array items;
  items.reserve(l.items.size());
  for (auto& o : l.items) items.push_back(std::move(o));
  return json::object{{"apiVersion", specs::api_version},
                      {"kind", k.kind + "List"},
                      {"metadata", {{"resourceVersion", std::to_string(l.revision)}}},
                      {"items", std::move(items)}};
}

specs::result<std::vector<std::string>> apply_field_validation(const parsed_target& t,
                                                               json::value& body) {
  auto mode = query(t, "fieldValidation");
  if (mode.empty() || mode == "Strict") return std::vector<std::string>{};
  if (mode != "Warn" && mode != "Ignore")
    return make_error(
        reason::bad_request,
        "fieldValidation must be Strict, Warn or Ignore, got \"" + mode.substr(0, 32) + "\"");
  auto removed = specs::drop_unknown_fields(body);
  if (mode == "Ignore") return std::vector<std::string>{};
  std::vector<std::string> warnings;
  for (const auto& f : removed) warnings.push_back("unknown field \"" + f + "\"");
  return warnings;
}

http_response with_warnings(http_response r, const std::vector<std::string>& warnings) {
  std::string header;
  for (const auto& w : warnings) {
    std::string quoted;
    for (char ch : w) {
      if (ch == '"' || ch == '\\') quoted += '\\';
      quoted += ch;
    }
    header += (header.empty() ? "" : ", ") + std::string("299 - \"") + quoted + "\"";
  }
  if (!header.empty()) r.headers["Warning"] = header;
  return r;
}

namespace {
error invalid_option(const std::string& field, const std::string& message) {
  auto e = make_error(reason::invalid, field + ": " + message);
  e.causes.push_back({field, message});
  return e;
}
}  // namespace

specs::result<specs::write_request> write_request_of(const parsed_target& t) {
  specs::write_request w;
  if (auto dry = query(t, "dryRun"); !dry.empty()) {
    if (dry != "All")
      return invalid_option("dryRun", "Unsupported value: \"" + dry.substr(0, 32) +
                                          "\": supported values: \"All\"");
    w.dry_run = true;
  }
  w.manager = query(t, "fieldManager");
  if (w.manager.size() > 128)
    return invalid_option("fieldManager", "Too long: may not be more than 128 bytes");
  for (unsigned char ch : w.manager)
    if (ch < 0x20 || ch == 0x7f)
      return invalid_option("fieldManager", "Invalid value: must be printable characters");
  return w;
}

std::optional<error> check_propagation(const std::string& policy, bool orphan_dependents) {
  if (orphan_dependents)
    return invalid_option("orphanDependents",
                          "Unsupported value: true: Rockpool always collects dependents "
                          "(propagationPolicy Background)");
  if (policy.empty() || policy == "Background") return std::nullopt;
  if (policy == "Foreground" || policy == "Orphan")
    return invalid_option("propagationPolicy",
                          "Unsupported value: \"" + policy +
                              "\": Rockpool collects dependents in the background only "
                              "(supported values: \"Background\")");
  return invalid_option("propagationPolicy",
                        "Unsupported value: \"" + policy.substr(0, 32) +
                            "\": supported values: \"Background\", \"Foreground\", \"Orphan\"");
}

http_response write_response(specs::result<specs::write_outcome>&& r, int ok_status) {
  if (!r.ok()) return api_handler::status_response(r.err());
  int status = ok_status;
  if (r->effect == specs::write_effect::created) status = 201;
  if (r->effect == specs::write_effect::terminating) status = 202;
  auto resp = json_response(status, r->object);
  resp.headers["Rockpool-Effect"] = specs::effect_name(r->effect);
  return resp;
}

std::optional<error> check_body_identity(const json::value& obj, const specs::kind_info& k,
                                         const std::string& url_name) {
  if (!obj.is_object()) return make_error(reason::bad_request, "body must be a JSON object");
  auto kind = specs::string_at(obj, "kind");
  if (kind != k.kind)
    return make_error(reason::bad_request,
                      "body kind \"" + kind + "\" does not match the URL's " + k.kind);
  auto name = specs::string_at(obj, "metadata.name");
  if (!url_name.empty() && name != url_name)
    return make_error(reason::bad_request, "body metadata.name \"" + name +
                                               "\" does not match the URL's \"" + url_name + "\"");
  return std::nullopt;
}

bool passes_filters(const json::value& obj, const specs::kind_info& k,
                    const specs::label_selector& sel, const std::string& name) {
  if (specs::string_at(obj, "kind") != k.kind) return false;
  if (!name.empty() && specs::string_at(obj, "metadata.name") != name) return false;
  return sel.matches(obj);
}

specs::result<std::string> name_from_field_selector(const std::string& fs) {
  if (fs.empty()) return std::string();
  constexpr std::string_view prefix = "metadata.name=";
  if (fs.rfind(prefix, 0) == 0) {
    auto rest = fs.substr(prefix.size());
    if (!rest.empty() && rest[0] == '=') rest.erase(0, 1);
    return rest;
  }
  return make_error(reason::bad_request,
                    "unsupported fieldSelector \"" + fs + "\" (only metadata.name=NAME)");
}

}  // namespace rockpool::controller::api
