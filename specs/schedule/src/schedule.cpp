#include "rockpool/specs/schedule.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <array>
#include <cctype>
#include <vector>

namespace rockpool::specs {

namespace {

struct field_spec {
  const char* name;
  int low, high;
  std::array<const char*, 12> names;  // for months (1-based) and weekdays (0-based)
};

constexpr field_spec fields[] = {
    {"minute", 0, 59, {}},
    {"hour", 0, 23, {}},
    {"day of month", 1, 31, {}},
    {"month",
     1,
     12,
     {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
    {"day of week", 0, 7, {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
};

// A number or (months, weekdays) a three-letter name.
std::optional<int> value_of(std::string_view s, const field_spec& f) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  if (std::isalpha(static_cast<unsigned char>(s[0]))) {
    std::string up;
    for (char c : s) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (std::size_t i = 0; i < f.names.size() && f.names[i] != nullptr; ++i)
      if (up == f.names[i]) return static_cast<int>(i) + (f.low == 1 ? 1 : 0);
    return std::nullopt;
  }
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

// One field into the set of values it allows; false when it is malformed.
bool parse_field(std::string_view text, const field_spec& f, std::vector<bool>& out, bool& any) {
  out.assign(static_cast<std::size_t>(f.high) + 1, false);
  any = text == "*";
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty() || (comma != std::string_view::npos && text.empty())) return false;
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      auto s = value_of(item.substr(slash + 1), field_spec{f.name, 1, 1000, {}});
      if (!s || *s < 1 || *s > f.high + 1) return false;
      step = *s;
      item = item.substr(0, slash);
    }
    int from = f.low, to = f.high;
    if (item != "*") {
      auto dash = item.find('-');
      auto a = value_of(item.substr(0, dash), f);
      auto b = dash == std::string_view::npos ? a : value_of(item.substr(dash + 1), f);
      if (!a || !b || *a < f.low || *b > f.high || *a > *b) return false;
      from = *a;
      // N/STEP runs from N to the end, as in cron.
      to = dash == std::string_view::npos && step > 1 ? f.high : *b;
    }
    for (int v = from; v <= to; v += step) out[static_cast<std::size_t>(v)] = true;
  }
  return true;
}

}  // namespace

result<cron_schedule> cron_schedule::parse(std::string_view expression, std::string_view zone) {
  std::vector<std::string_view> parts;
  for (std::size_t at = 0; at < expression.size();) {
    while (at < expression.size() && expression[at] == ' ') ++at;
    auto end = expression.find(' ', at);
    if (end == std::string_view::npos) end = expression.size();
    if (end > at) parts.push_back(expression.substr(at, end - at));
    at = end;
  }
  if (parts.size() != 5)
    return make_error(reason::invalid,
                      "a cron expression has 5 fields (minute hour day-of-month month "
                      "day-of-week), got " +
                          std::to_string(parts.size()));
  cron_schedule c;
  for (std::size_t i = 0; i < 5; ++i) {
    std::vector<bool> allowed;
    bool any = false;
    if (!parse_field(parts[i], fields[i], allowed, any))
      return make_error(reason::invalid, std::string("the ") + fields[i].name + " field \"" +
                                             std::string(parts[i].substr(0, 32)) +
                                             "\" is not N, N-M, * or a list of them, with /STEP, "
                                             "within " +
                                             std::to_string(fields[i].low) + "-" +
                                             std::to_string(fields[i].high));
    for (std::size_t v = 0; v < allowed.size(); ++v) {
      if (!allowed[v]) continue;
      switch (i) {
        case 0:
          c.minute_.set(v);
          break;
        case 1:
          c.hour_.set(v);
          break;
        case 2:
          c.day_.set(v);
          break;
        case 3:
          c.month_.set(v);
          break;
        default:
          c.weekday_.set(v % 7);
          break;  // 7 is Sunday too
      }
    }
    if (i == 2) c.any_day_ = any;
    if (i == 4) c.any_weekday_ = any;
  }
  if (!zone.empty() && zone != "UTC" && zone != "Etc/UTC") {
    try {
      c.zone_ = date::locate_zone(std::string(zone));
    } catch (const std::exception&) {
      return make_error(reason::invalid, "unknown time zone \"" + std::string(zone.substr(0, 64)) +
                                             "\" (an IANA name such as Europe/Berlin)");
    }
  }
  return c;
}

cron_schedule::local_minutes cron_schedule::to_local(time_point t) const {
  auto m = std::chrono::floor<std::chrono::minutes>(t);
  if (zone_ == nullptr) return m;
  auto local = zone_->to_local(m);
  return local_minutes(std::chrono::floor<std::chrono::minutes>(local.time_since_epoch()));
}

cron_schedule::time_point cron_schedule::to_sys(local_minutes local) const {
  if (zone_ == nullptr) return local;
  date::local_time<std::chrono::minutes> lt(local.time_since_epoch());
  auto info = zone_->get_info(lt);
  switch (info.result) {
    case date::local_info::nonexistent:
      return time_point(info.second.begin);  // in a skipped hour: when the clock jumps
    case date::local_info::ambiguous:        // in a repeated hour: the first time
    case date::local_info::unique:
    default:
      return time_point(local.time_since_epoch() - info.first.offset);
  }
}

std::optional<cron_schedule::local_minutes> cron_schedule::next_local(local_minutes after) const {
  using namespace std::chrono;
  auto start = after + minutes(1);
  auto day = floor<date::days>(start);
  auto first_minute = duration_cast<minutes>(start - day).count();
  for (int d = 0; d < 4 * 366; ++d, first_minute = 0) {
    auto today = day + date::days(d);
    date::year_month_day ymd(today);
    if (!month_.test(static_cast<unsigned>(ymd.month()))) continue;
    bool dom = day_.test(static_cast<unsigned>(ymd.day()));
    bool dow = weekday_.test(date::weekday(today).c_encoding());
    // Both restricted: either one; else the restricted one (or any day).
    bool day_ok = (!any_day_ && !any_weekday_) ? (dom || dow) : (dom && dow);
    if (!day_ok) continue;
    for (auto m = first_minute; m < 24 * 60; ++m)
      if (hour_.test(static_cast<std::size_t>(m / 60)) &&
          minute_.test(static_cast<std::size_t>(m % 60)))
        return local_minutes(today.time_since_epoch() + minutes(m));
  }
  return std::nullopt;
}

std::optional<cron_schedule::time_point> cron_schedule::next_after(time_point t) const {
  auto local = to_local(t);
  for (int guard = 0; guard < 4; ++guard) {  // a repeated hour may give a time not after t
    auto next = next_local(local);
    if (!next) return std::nullopt;
    auto sys = to_sys(*next);
    if (sys > t) return sys;
    local = *next;
  }
  return std::nullopt;
}

std::optional<cron_schedule::time_point> cron_schedule::last_in(time_point from,
                                                                time_point to) const {
  from = std::max(from, to - std::chrono::hours(24 * 31));
  std::optional<time_point> last;
  // At most one firing a minute: bounded by the window's minutes.
  for (auto t = next_after(from); t && *t <= to; t = next_after(*t)) last = t;
  return last;
}

}  // namespace rockpool::specs
