// The watch loop under get -w, wait, delete --wait and sync --wait: resumes
// after a dropped stream, relists on 410 Gone.
#include "rockpool/cli/cli.hpp"

#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

#include <thread>

namespace rockpool::cli {

namespace json = boost::json;
using specs::string_at;

// Watches a collection from rv, calling on_event(type, object); resumes after
// disconnects and relists (calling on_relist) on Gone. Stops when on_event
// returns false or the deadline passes. Returns false on a hard error.
bool watch_loop(context& c, const specs::kind_info& k, std::string query, std::uint64_t rv,
                std::chrono::steady_clock::time_point deadline,
                const std::function<bool(const std::string&, const json::value&)>& on_event,
                const std::function<std::optional<std::uint64_t>()>& relist) {
  int failures = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto remaining = std::chrono::duration_cast<std::chrono::seconds>(
                         deadline - std::chrono::steady_clock::now())
                         .count();
    std::string path = resource_path(k) + "?watch=true&allowWatchBookmarks=true&resourceVersion=" +
                       std::to_string(rv) + query;
    if (deadline != std::chrono::steady_clock::time_point::max())
      path += "&timeoutSeconds=" + std::to_string(std::max<long long>(1, remaining + 1));
    bool stop = false, gone = false;
    std::string error_body;
    auto st = c.client.stream(
        path,
        [&](std::string_view line) {
          auto ev = specs::parse_json(line);
          if (!ev.ok()) return true;
          auto type = string_at(*ev, "type");
          const auto* obj = specs::find_path(*ev, "object");
          if (obj == nullptr) return true;
          if (type == "ERROR") {
            gone = specs::int_at(*obj, "code") == 410;
            if (!gone) c.err << "error: " << string_at(*obj, "message") << "\n";
            stop = !gone;
            return false;
          }
          auto rvs = string_at(*obj, "metadata.resourceVersion");
          if (!rvs.empty()) rv = revision_of(rvs);
          if (type == "BOOKMARK") return true;
          if (!on_event(type, *obj)) {
            stop = true;
            return false;
          }
          return true;
        },
        &error_body);
    if (stop) return true;
    if (st.ok() && *st == 410) gone = true;
    if (st.ok() && *st != 200 && *st != 410) {
      c.err << server_error(client_response{*st, error_body, {}}) << "\n";
      return false;
    }
    if (gone) {
      auto fresh = relist();
      if (!fresh) return false;
      rv = *fresh;
      continue;
    }
    if (!st.ok()) {
      if (++failures > 30) {
        c.err << "error: " << st.err().message << "\n";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(2000, 100 * failures)));
    } else {
      failures = 0;
    }
  }
  return true;
}

std::optional<json::value> wait_until(context& c, const specs::kind_info& k,
                                      const std::string& name, const json::value& from,
                                      std::chrono::milliseconds timeout,
                                      const std::function<bool(const json::value&)>& done) {
  if (done(from)) return from;
  std::optional<json::value> result;
  watch_loop(
      c, k, "&fieldSelector=" + url_encode("metadata.name=" + name),
      revision_of(string_at(from, "metadata.resourceVersion")),
      std::chrono::steady_clock::now() + timeout,
      [&](const std::string& type, const json::value& obj) {
        if (type != "DELETED" && done(obj)) result = obj;
        return !result;
      },
      [&]() -> std::optional<std::uint64_t> {
        auto cur = fetch(c, k, name);
        if (!cur.ok()) return std::nullopt;
        if (done(*cur)) result = *cur;
        return revision_of(string_at(*cur, "metadata.resourceVersion"));
      });
  return result;
}

}  // namespace rockpool::cli
