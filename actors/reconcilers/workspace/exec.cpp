// workspaces/NAME/exec: a command in the workspace's instance, over a
// WebSocket on the API (bearer token or unix socket), bridged to Incus exec.
// The protocol (docs/api.md#exec): the client's first message is a JSON
// start message; then each message is a channel byte and its payload —
// client: 0 stdin (empty: EOF), 4 resize {"width","height"}; server: 1 stdout
// (or the terminal), 2 stderr, 3 the end {"exitCode": N} or {"error": "..."}.
#include "rockpool/specs/schema.hpp"
#include "workspace/exec.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <csignal>
#include <mutex>
#include <sstream>
#include <thread>

namespace rockpool::actors::workspace {

using specs::make_error;
using specs::reason;
using specs::string_at;
using read_result = specs::message_stream::read_result;

namespace {

struct user_entry {
  std::uint32_t uid = 0, gid = 0;
  std::string name, home = "/";
};

// NAME or a uid, from the instance's /etc/passwd; "" picks dev, else root.
specs::result<user_entry> resolve_user(runtime::incus_client& incus, const std::string& instance,
                                       const std::string& wanted) {
  auto passwd = incus.read_file(instance, "/etc/passwd", 1 << 20);
  std::vector<user_entry> users;
  if (passwd.ok()) {
    std::istringstream lines(*passwd);
    for (std::string line; std::getline(lines, line);) {
      std::vector<std::string> f;
      std::istringstream fields(line);
      for (std::string x; std::getline(fields, x, ':');) f.push_back(x);
      if (f.size() < 6 || f[2].find_first_not_of("0123456789") != std::string::npos ||
          f[3].find_first_not_of("0123456789") != std::string::npos || f[2].empty() || f[3].empty())
        continue;
      users.push_back({static_cast<std::uint32_t>(std::stoul(f[2])),
                       static_cast<std::uint32_t>(std::stoul(f[3])), f[0], f[5]});
    }
  }
  auto find = [&](const std::string& name) -> const user_entry* {
    for (const auto& u : users)
      if (u.name == name || std::to_string(u.uid) == name) return &u;
    return nullptr;
  };
  if (wanted.empty()) {
    if (const auto* dev = find("dev")) return *dev;
    return user_entry{0, 0, "root", "/root"};
  }
  if (const auto* u = find(wanted)) return *u;
  if (wanted == "root" || wanted == "0") return user_entry{0, 0, "root", "/root"};
  return make_error(reason::bad_request, "no user \"" + wanted.substr(0, 64) + "\" in " +
                                             instance + "'s /etc/passwd");
}

struct start_message {
  runtime::exec_request request;
  std::string user;
  bool stdin_open = false;
};

specs::result<start_message> parse_start(const std::string& text) {
  auto v = specs::parse_json(text);
  if (!v.ok() || !v->is_object())
    return make_error(reason::bad_request, "the first message must be a JSON start message");
  start_message m;
  const auto* command = specs::find_path(*v, "command");
  if (command == nullptr || !command->is_array() || command->get_array().empty() ||
      command->get_array().size() > 256)
    return make_error(reason::bad_request, "command must be a list of 1 to 256 strings");
  for (const auto& c : command->get_array()) {
    if (!c.is_string() || c.get_string().size() > 65536)
      return make_error(reason::bad_request, "command must be a list of strings");
    m.request.command.emplace_back(c.get_string());
  }
  auto flag = [&](const char* key) {
    const auto* b = specs::find_path(*v, key);
    return b != nullptr && b->is_bool() && b->get_bool();
  };
  m.request.tty = flag("tty");
  m.stdin_open = flag("stdin") || m.request.tty;
  m.user = string_at(*v, "user");
  m.request.cwd = string_at(*v, "cwd");
  for (const char* key : {"width", "height"})
    if (auto n = specs::int_at(*v, key); n && *n > 0 && *n < 10000)
      (key[0] == 'w' ? m.request.width : m.request.height) = static_cast<unsigned>(*n);
  if (const auto* env = specs::find_path(*v, "env"); env && env->is_object())
    for (const auto& kv : env->get_object())
      if (kv.value().is_string() && kv.key().size() < 256 && kv.value().get_string().size() < 65536)
        m.request.environment[std::string(kv.key())] = std::string(kv.value().get_string());
  return m;
}

std::string end_message(int exit_code) {
  return std::string(1, '\x03') + boost::json::serialize(boost::json::object{{"exitCode", exit_code}});
}
std::string error_message(const std::string& why) {
  return std::string(1, '\x03') + boost::json::serialize(boost::json::object{{"error", why}});
}

// Output to the client until the command's output ends, then its exit code.
void pump_output(runtime::exec_session& session, specs::message_stream& client,
                 std::atomic<std::int64_t>& last_activity) {
  int fd = 0;
  std::string bytes;
  while (session.read(fd, bytes)) {
    last_activity = std::chrono::steady_clock::now().time_since_epoch().count();
    if (!client.write(std::string(1, static_cast<char>(fd)) + bytes)) break;
  }
  auto code = session.wait();
  client.write(code.ok() ? end_message(*code) : error_message(code.err().message));
  client.close();
}

// The client's messages to the command until the command ends, the client
// goes (the command is ended) or the session idles out.
void relay_input(const exec_limits& limits, bool tty, runtime::exec_session& s,
                 specs::message_stream& client, std::atomic<std::int64_t>& last_activity,
                 const std::atomic<bool>& ended) {
  for (;;) {
    std::string m;
    auto r = client.read(m, std::chrono::seconds(1));
    if (ended) return;
    if (r == read_result::closed) {
      // The client went: the command goes too (a terminal's shell hangs up first).
      if (tty) s.signal(SIGHUP);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      s.signal(SIGKILL);
      return;
    }
    auto idle = std::chrono::steady_clock::now() -
                std::chrono::steady_clock::time_point(
                    std::chrono::steady_clock::duration(last_activity.load()));
    if (r == read_result::timed_out) {
      if (idle < limits.idle_timeout) continue;
      client.write(error_message("idle for " +
                                 std::to_string(limits.idle_timeout.count() / 60000) +
                                 " min; the command was ended"));
      s.signal(SIGKILL);
      return;
    }
    last_activity = std::chrono::steady_clock::now().time_since_epoch().count();
    if (m.empty()) continue;
    if (m[0] == '\0' && m.size() == 1) s.close_stdin();
    if (m[0] == '\0' && m.size() > 1) s.write_stdin(m.substr(1));
    if (m[0] == '\x04')
      if (auto size = specs::parse_json(m.substr(1)); size.ok())
        s.resize(static_cast<unsigned>(specs::int_at(*size, "width").value_or(80)),
                 static_cast<unsigned>(specs::int_at(*size, "height").value_or(24)));
  }
}

void serve(const exec_limits& limits, runtime::incus_client& incus, const std::string& name,
           specs::message_stream& client) {
  std::string first;
  if (client.read(first, limits.start_timeout) != read_result::message) return;
  auto start = parse_start(first);
  if (!start.ok()) {
    client.write(error_message(start.err().message));
    return;
  }
  auto user = resolve_user(incus, name, start->user);
  if (!user.ok()) {
    client.write(error_message(user.err().message));
    return;
  }
  auto& x = start->request;
  x.uid = user->uid;
  x.gid = user->gid;
  if (x.cwd.empty()) x.cwd = user->home;
  for (auto [k, v] : std::initializer_list<std::pair<const char*, std::string>>{
           {"HOME", user->home}, {"USER", user->name}, {"LOGNAME", user->name},
           {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}})
    x.environment.try_emplace(k, v);
  if (x.tty) x.environment.try_emplace("TERM", "xterm-256color");
  auto session = incus.exec(name, x);
  if (!session.ok()) {
    client.write(error_message(session.err().message));
    return;
  }
  auto& s = **session;
  if (!start->stdin_open) s.close_stdin();
  std::atomic<std::int64_t> last_activity{std::chrono::steady_clock::now().time_since_epoch().count()};
  std::atomic<bool> ended{false};
  std::thread output([&] {
    pump_output(s, client, last_activity);
    ended = true;
  });
  relay_input(limits, x.tty, s, client, last_activity, ended);
  output.join();
}

}  // namespace

specs::subresource exec_subresource(const subresource_services& services,
                                    std::shared_ptr<exec_limits> limits) {
  auto upgrade = [&services, limits](const specs::subresource_request& r)
      -> specs::result<std::function<void(specs::message_stream&)>> {
    if (auto obj = services.store.get("Workspace", r.name); !obj.ok()) return obj.err();
    if (services.incus == nullptr)
      return make_error(reason::unavailable,
                        "this controller does not reach Incus (--runtime is not incus)");
    // A sleeping workspace wakes for an exec, as for a request.
    if (services.activity != nullptr)
      if (auto st = wake_workspace(services.store, *services.activity, r.name,
                                   services.wake_timeout);
          !st.ok())
        return st.err();
    auto inst = services.incus->get_instance(r.name);
    if (!inst.ok()) return inst.err();
    if (!*inst || (*inst)->status != "Running")
      return make_error(reason::conflict, "workspace " + r.name + " is not running");
    if (!limits->enter(r.name))
      return make_error(reason::unavailable,
                        "workspace " + r.name + " has " + std::to_string(limits->per_workspace) +
                            " exec sessions open already; close one first");
    auto* incus = services.incus;
    auto* activity = services.activity;
    if (activity != nullptr) activity->session_opened(r.name);  // an open session keeps it awake
    return std::function<void(specs::message_stream&)>(
        [limits, incus, activity, name = r.name](specs::message_stream& client) {
          serve(*limits, *incus, name, client);
          limits->leave(name);
          if (activity != nullptr) activity->session_closed(name);
        });
  };
  specs::subresource sub{"Workspace", "exec", {"GET"}, nullptr};
  sub.handle = [](const specs::subresource_request&) -> specs::result<specs::subresource_response> {
    return make_error(reason::bad_request,
                      "exec is a WebSocket: connect with an Upgrade: websocket request "
                      "(rpctl exec, rpctl shell)");
  };
  sub.upgrade = std::move(upgrade);
  return sub;
}

bool exec_limits::enter(const std::string& workspace) {
  std::lock_guard lk(mu_);
  auto& n = open_[workspace];
  if (n >= per_workspace) return false;
  ++n;
  return true;
}

void exec_limits::leave(const std::string& workspace) {
  std::lock_guard lk(mu_);
  if (auto it = open_.find(workspace); it != open_.end() && --it->second == 0) open_.erase(it);
}

}  // namespace rockpool::actors::workspace
