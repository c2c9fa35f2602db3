// rockpoold's log lines: text for people, JSON lines for log collectors.
#include "rockpool/controller/daemon.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <ctime>

namespace rockpool::controller {

namespace {

// {"time":"2026-12-06T23:00:00.123Z","level":"info","component":"rockpoold","message":"..."}
class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto since = msg.time.time_since_epoch();
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since);
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since - seconds).count();
    std::time_t t = seconds.count();
    std::tm utc{};
    gmtime_r(&t, &utc);
    char time[40];
    auto n = std::strftime(time, sizeof time, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(time + n, sizeof time - n, ".%03dZ", static_cast<int>(millis));
    auto level = spdlog::level::to_string_view(msg.level);
    boost::json::object line{
        {"time", time},
        {"level", std::string_view(level.data(), level.size())},
        {"component", msg.logger_name.size() ? std::string_view(msg.logger_name.data(),
                                                                msg.logger_name.size())
                                             : std::string_view("rockpoold")},
        {"message", std::string_view(msg.payload.data(), msg.payload.size())}};
    auto text = boost::json::serialize(line);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

}  // namespace

void configure_logging(const std::string& level, const std::string& format) {
  spdlog::set_level(spdlog::level::from_str(level));
  if (format == "json")
    spdlog::set_formatter(std::make_unique<json_formatter>());
  else
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
}

}  // namespace rockpool::controller
