// /healthz, /readyz, /version, /metrics, /backup, /debug/flags/v.
#include "api/api.hpp"
#include "rockpool/controller/build_info.hpp"
#include "rockpool/specs/backup.hpp"

#include <spdlog/spdlog.h>

namespace rockpool::controller {

using namespace api;

std::optional<http_response> api_handler::probe(const std::string& path) {
  if (path == "healthz") return http_response{200, "text/plain", "ok", {}};
  if (path == "readyz") {
    if (auto ready = store_.ready(); !ready.ok())
      return http_response{503, "text/plain", "store: " + ready.err().message, {}};
    if (options_.leadership)
      return http_response{200, "text/plain", "ok (" + options_.leadership() + ")", {}};
    return http_response{200, "text/plain", "ok", {}};
  }
  if (path == "version") {
    // Every field of Kubernetes' version.Info, true of this build
    // (cmake/BuildInfo.cmake), and which Rockpool this is.
    const auto& b = build();
    auto dot = options_.version.find('.');
    auto dot2 = options_.version.find('.', dot == std::string::npos ? dot : dot + 1);
    json::object v = {
        {"major", options_.version.substr(0, dot)},
        {"minor", dot == std::string::npos ? std::string()
                                           : options_.version.substr(dot + 1, dot2 - dot - 1)},
        {"gitVersion", "v" + options_.version},
        {"gitCommit", b.git_commit},
        {"gitTreeState", b.git_tree_state},
        {"buildDate", b.build_date},
        // version.Info names Go; rockpoold is C++, and says so.
        {"goVersion", std::string("C++20, ") + b.compiler},
        {"compiler", b.compiler},
        {"platform", "linux/amd64"},
        {"version", options_.version},
        {"apiVersion", specs::api_version},
        {"role", options_.role}};
    if (!options_.nested_host.empty()) v["nestedHost"] = options_.nested_host;
    if (options_.leadership) v["leadership"] = options_.leadership();
    return json_response(200, std::move(v));
  }
  if (path == "metrics") return http_response{200, "text/plain; version=0.0.4", metrics_text(), {}};
  if (path == "backup") {
    // One consistent view of the store, read while writes go on (RocksDB
    // snapshot). The body is built whole: about the store's size.
    auto dump = store_.dump();
    if (!dump.ok()) return status_response(dump.err());
    return http_response{200, "application/octet-stream", specs::encode_backup(*dump),
                         {{"X-Rockpool-Revision", std::to_string(dump->revision)}}};
  }
  return std::nullopt;
}

// The log level while running, as kube-apiserver's /debug/flags/v: GET
// reads it, PUT with a level name (trace, debug, info, warn, error) sets it.
http_response api_handler::log_level(const http_request& req) {
  auto current = [] {
    auto name = spdlog::level::to_string_view(spdlog::get_level());
    return std::string(name.data(), name.size());
  };
  if (req.method == "GET") return http_response{200, "text/plain", current() + "\n", {}};
  if (req.method != "PUT")
    return status_response(make_error(reason::method_not_allowed, "GET or PUT /debug/flags/v"));
  auto wanted = req.body;
  while (!wanted.empty() && std::isspace(static_cast<unsigned char>(wanted.back())))
    wanted.pop_back();
  auto level = spdlog::level::from_str(wanted);
  // from_str answers "off" for any name it does not know.
  if ((level == spdlog::level::off && wanted != "off") || level == spdlog::level::critical)
    return status_response(make_error(
        reason::bad_request, "log level must be trace, debug, info, warn, error or off, got \"" +
                                 wanted.substr(0, 64) + "\""));
  auto before = current();
  spdlog::set_level(level);
  spdlog::warn("log level {} -> {} (PUT /debug/flags/v)", before, current());
  return http_response{200, "text/plain", "log level set to " + current() + "\n", {}};
}

std::string api_handler::metrics_text() {
  std::string extra =
      "# HELP rockpool_objects Stored objects, by kind.\n# TYPE rockpool_objects gauge\n";
  for (const auto& [kind, n] : store_.counts())
    extra += "rockpool_objects{kind=\"" + kind + "\"} " + std::to_string(n) + "\n";
  append_metric(extra, "rockpool_store_revision", "Latest store revision.", "gauge",
                store_.revision());
  auto st = store_.stats();
  append_metric(extra, "rockpool_store_writes_total", "Acknowledged durable writes.", "counter",
                st.writes);
  append_metric(extra, "rockpool_store_batches_total", "Synced write batches (group commits).",
                "counter", st.batches);
  append_metric(extra, "rockpool_watches", "Open API watches.", "gauge", open_watches());
  if (options_.extra_metrics) extra += options_.extra_metrics();
  return metrics_.render(extra);
}

}  // namespace rockpool::controller
