#pragma once

#include "rockpool/runtime/routes.hpp"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace rockpool::runtime {

struct caddy_options {
  std::string admin = "127.0.0.1:2019";             // Caddy admin API
  std::string control_listen = "127.0.0.1:8080";    // /api/* and /app/* -> rockpoold
  std::string workspace_listen = "127.0.0.1:8081";  // /workspace/...
  std::string control_upstream;  // rockpoold's loopback TCP address; empty: no control routes
  std::chrono::milliseconds batch_window{50};   // changes within it go in one request
  std::chrono::milliseconds drift_check{2000};  // how often the live config is compared
};

/// route_table on Caddy's admin API. The whole HTTP app is owned here and
/// written with one `POST /load` per batch: callers of upsert/remove wait for
/// the batch holding their change (changes within batch_window coalesce, as in
/// a group commit). A background check compares Caddy's live config with what
/// was last applied and reloads it on drift (Caddy restarted empty, a route
/// edited or removed by hand). Routes carry stable @ids; longer path prefixes
/// come first, so port routes win over IDE routes.
/// Thread safety: thread-safe.
class caddy_route_table final : public route_table {
 public:
  explicit caddy_route_table(caddy_options options);
  ~caddy_route_table() override;

  specs::status upsert(const route& r) override;
  specs::status remove(const std::string& id) override;
  /// True iff an HTTP GET of the route's prefix through the workspace server
  /// gets an answer that is not a proxy error (502/503/504).
  specs::result<bool> answers(const route& r) override;

  /// Writes the config now (start-up: the control-plane routes).
  specs::status sync();
  /// Requests sent to Caddy so far (batches), and drift repairs.
  std::uint64_t loads() const;
  std::uint64_t repairs() const;

 private:
  specs::status flush_from(std::unique_lock<std::mutex>& lk, std::uint64_t my_version);
  std::string render() const;
  void drift_loop();

  caddy_options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, route> desired_;
  std::uint64_t version_ = 0, applied_ = 0;
  bool flushing_ = false;
  std::string last_error_;
  std::uint64_t failed_version_ = 0;
  std::string last_applied_http_;  // serialized apps.http as last loaded
  std::uint64_t loads_ = 0, repairs_ = 0;
  bool stopping_ = false;
  std::thread drift_thread_;
};

}  // namespace rockpool::runtime
