// rpctl logs workspace/NAME | nestedhost/NAME: log files read through Incus.
#include "rockpool/cli/cli.hpp"

#include "rockpool/specs/json.hpp"

#include <boost/json.hpp>

#include <thread>

namespace rockpool::cli {

namespace json = boost::json;
using specs::string_at;

namespace {

struct logs_flags {
  std::string target, component;
  std::size_t limit_bytes = 0;
  bool follow = false;
};

int cmd_logs(context& c, const logs_flags& f) {
  auto slash = f.target.find('/');
  const auto* k = specs::find_kind(f.target.substr(0, slash));
  if (slash == std::string::npos || k == nullptr || slash + 1 == f.target.size()) {
    c.err << "error: logs takes KIND/NAME (workspace/NAME, nestedhost/NAME), got \"" << f.target
          << "\"\n";
    return 2;
  }
  auto name = f.target.substr(slash + 1);
  auto path = resource_path(*k, name) + "/log";
  std::string query;
  if (!f.component.empty()) query += "component=" + url_encode(f.component);
  if (f.limit_bytes)
    query +=
        (query.empty() ? "" : "&") + std::string("limitBytes=") + std::to_string(f.limit_bytes);
  auto what = query.empty() ? path : path + "?" + query;
  auto fetch = [&] { return get_ok(c, what); };
  auto body = fetch();
  if (!body) return 1;
  c.out << *body << std::flush;
  // -f: look again every second and print what follows what was printed.
  for (std::string last = *body; f.follow;) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto next = fetch();
    if (!next) return 1;
    auto tail = last.substr(last.size() - std::min<std::size_t>(last.size(), 512));
    auto at = tail.empty() ? std::string::npos : next->rfind(tail);
    c.out << (at == std::string::npos ? *next : next->substr(at + tail.size())) << std::flush;
    last = std::move(*next);
  }
  return 0;
}

}  // namespace

command define_logs(CLI::App& app) {
  auto f = std::make_shared<logs_flags>();
  auto* sub = app.add_subcommand(
      "logs", "Print the logs inside a workspace or nested host (read through Incus)");
  sub->add_option("TARGET", f->target, "workspace/NAME or nestedhost/NAME")->required();
  sub->add_option("--component", f->component,
                  "workspace: ide (default), init, dhcp; nestedhost: rockpoold (default), "
                  "caddy, incusd, init, dhcp");
  sub->add_option("--limit-bytes", f->limit_bytes, "Only the last N bytes (default 64 KiB)");
  sub->add_flag("-f,--follow", f->follow, "Keep printing what is appended");
  return {sub, [f](context& c) { return cmd_logs(c, *f); }};
}

}  // namespace rockpool::cli
