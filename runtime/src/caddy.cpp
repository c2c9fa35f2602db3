#include "rockpool/runtime/caddy.hpp"

#include "rockpool/specs/codec.hpp"

#include <curl/curl.h>
#include <boost/json.hpp>

#include <algorithm>
#include <vector>

namespace rockpool::runtime {

namespace json = boost::json;
using specs::make_error;
using specs::reason;

namespace {

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct http_result {
  long status = 0;
  std::string body;
};

specs::result<http_result> http(const std::string& method, const std::string& url,
                                const std::string& body, long timeout_ms) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return make_error(reason::internal, "curl_easy_init failed");
  http_result out;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  auto rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return make_error(reason::unavailable, curl_easy_strerror(rc));
  return out;
}

json::value caddy_route(const std::string& id, const std::string& prefix,
                        const std::string& upstream) {
  std::string strip =
      prefix.size() > 1 && prefix.back() == '/' ? prefix.substr(0, prefix.size() - 1) : prefix;
  return json::object{{"@id", id},
                      {"match", json::array{{{"path", json::array{json::string(prefix + "*")}}}}},
                      {"handle", json::array{{{"handler", "rewrite"}, {"strip_path_prefix", strip}},
                                             {{"handler", "reverse_proxy"},
                                              {"upstreams", json::array{{{"dial", upstream}}}}}}}};
}

}  // namespace

caddy_route_table::caddy_route_table(caddy_options options) : options_(std::move(options)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (options_.drift_check.count() > 0) drift_thread_ = std::thread([this] { drift_loop(); });
}

caddy_route_table::~caddy_route_table() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (drift_thread_.joinable()) drift_thread_.join();
}

std::string caddy_route_table::render() const {
  std::vector<const route*> ordered;
  for (const auto& [id, r] : desired_) ordered.push_back(&r);
  std::stable_sort(ordered.begin(), ordered.end(), [](const route* a, const route* b) {
    return a->path_prefix.size() > b->path_prefix.size();  // port routes before IDE routes
  });
  json::array ws_routes;
  for (const auto* r : ordered)
    ws_routes.push_back(caddy_route(r->id, r->path_prefix, r->upstream));
  json::array control_routes;
  if (!options_.control_upstream.empty()) {
    control_routes.push_back(
        caddy_route("rockpool-control-api", "/api/", options_.control_upstream));
    auto app = caddy_route("rockpool-control-app", "/app/", options_.control_upstream);
    // The UI is served by rockpoold under /app/: keep the prefix.
    app.as_object()["handle"].as_array().erase(app.as_object()["handle"].as_array().begin());
    control_routes.push_back(std::move(app));
  }
  // Anything else is a 404 on both servers: workspace paths never answer on the
  // control-plane origin, and the control plane never on the workspace origin.
  json::value not_found = {{"@id", "rockpool-not-found"},
                           {"handle", json::array{{{"handler", "static_response"},
                                                   {"status_code", 404},
                                                   {"body", "not found\n"}}}}};
  ws_routes.push_back(not_found);
  not_found.as_object()["@id"] = "rockpool-control-not-found";
  control_routes.push_back(not_found);
  json::value http = {{"servers",
                       {{"rockpool-control",
                         {{"listen", json::array{json::string(options_.control_listen)}},
                          {"routes", std::move(control_routes)},
                          {"automatic_https", {{"disable", true}}}}},
                        {"rockpool-workspaces",
                         {{"listen", json::array{json::string(options_.workspace_listen)}},
                          {"routes", std::move(ws_routes)},
                          {"automatic_https", {{"disable", true}}}}}}}};
  return json::serialize(http);
}

// Leader/follower: the first waiter whose change is unapplied sends one batch
// holding every change made until then; the others wait for it.
specs::status caddy_route_table::flush_from(std::unique_lock<std::mutex>& lk,
                                            std::uint64_t my_version) {
  while (applied_ < my_version) {
    if (failed_version_ >= my_version) return make_error(reason::unavailable, last_error_);
    if (flushing_) {
      cv_.wait(lk);
      continue;
    }
    flushing_ = true;
    lk.unlock();
    std::this_thread::sleep_for(options_.batch_window);  // let concurrent changes join
    lk.lock();
    auto version = version_;
    auto http_app = render();
    lk.unlock();
    std::string config =
        R"({"admin":{"listen":")" + options_.admin + R"("},"apps":{"http":)" + http_app + "}}";
    auto r = http("POST", "http://" + options_.admin + "/load", config, 10000);
    lk.lock();
    flushing_ = false;
    ++loads_;
    if (r.ok() && r->status == 200) {
      applied_ = std::max(applied_, version);
      last_applied_http_ = http_app;
    } else {
      last_error_ =
          "Caddy admin API at " + options_.admin + ": " +
          (r.ok() ? "HTTP " + std::to_string(r->status) + " " + r->body : r.err().message);
      failed_version_ = version;
    }
    cv_.notify_all();
  }
  return specs::done{};
}

specs::status caddy_route_table::upsert(const route& r) {
  std::unique_lock lk(mu_);
  auto it = desired_.find(r.id);
  if (it != desired_.end() && it->second == r && applied_ >= version_) return specs::done{};
  desired_[r.id] = r;
  return flush_from(lk, ++version_);
}

specs::status caddy_route_table::remove(const std::string& id) {
  std::unique_lock lk(mu_);
  if (desired_.erase(id) == 0 && applied_ >= version_) return specs::done{};
  return flush_from(lk, ++version_);
}

specs::status caddy_route_table::sync() {
  std::unique_lock lk(mu_);
  return flush_from(lk, ++version_);
}

specs::result<bool> caddy_route_table::answers(const route& r) {
  {
    std::lock_guard lk(mu_);
    auto it = desired_.find(r.id);
    if (it == desired_.end() || !(it->second == r) || applied_ < version_) return false;
  }
  auto res = http("GET", "http://" + options_.workspace_listen + r.path_prefix, {}, 3000);
  if (!res.ok())
    return make_error(reason::unavailable, "Caddy workspace server: " + res.err().message);
  return res->status != 502 && res->status != 503 && res->status != 504 && res->status != 0;
}

void caddy_route_table::drift_loop() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    cv_.wait_for(lk, options_.drift_check, [&] { return stopping_; });
    if (stopping_ || flushing_) continue;
    if (applied_ == 0) {  // never written (Caddy was down at start): try again
      auto v = ++version_;
      (void)flush_from(lk, v);
      continue;
    }
    auto expected = last_applied_http_;
    lk.unlock();
    auto live = http("GET", "http://" + options_.admin + "/config/apps/http", {}, 3000);
    bool drifted = false;
    if (live.ok() && live->status == 200) {
      auto a = specs::parse_json(live->body);
      auto b = specs::parse_json(expected);
      drifted = !(a.ok() && b.ok() && *a == *b);
    }
    lk.lock();
    if (drifted && !stopping_) {
      ++repairs_;
      auto v = ++version_;
      (void)flush_from(lk, v);
    }
  }
}

std::uint64_t caddy_route_table::loads() const {
  std::lock_guard lk(mu_);
  return loads_;
}

std::uint64_t caddy_route_table::repairs() const {
  std::lock_guard lk(mu_);
  return repairs_;
}

}  // namespace rockpool::runtime
