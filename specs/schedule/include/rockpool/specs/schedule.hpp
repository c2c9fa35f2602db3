#pragma once

// Cron schedules in a time zone (a workspace's spec.lifecycle.schedule).
// Five fields, as Vixie cron reads them: minute (0-59), hour (0-23), day of
// month (1-31), month (1-12 or JAN-DEC), day of week (0-7, 0 and 7 Sunday, or
// SUN-SAT); each a list of *, N, N-M, with /STEP. When both day fields are
// restricted, a day matching either fires (as cron does). Time zones come
// from the system's tz database (/usr/share/zoneinfo, through Howard
// Hinnant's date library, Debian's libhowardhinnant-date-dev); UTC needs none.
//
// Daylight saving: a firing in a skipped hour happens when the clock jumps
// (02:30 on a spring-forward night fires at 03:00), and one in a repeated
// hour happens once, the first time.

#include "rockpool/specs/result.hpp"

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace rockpool::specs {

class cron_schedule {
 public:
  using time_point = std::chrono::system_clock::time_point;

  /// Parses a 5-field expression in a zone ("" or "UTC": UTC). The error
  /// names the field that is wrong, or the unknown zone.
  static result<cron_schedule> parse(std::string_view expression, std::string_view zone = {});

  /// The first firing strictly after t; nothing when none comes within four
  /// years (e.g. 30 February).
  std::optional<time_point> next_after(time_point t) const;
  /// The latest firing in (from, to], if any (looking back at most 31 days).
  std::optional<time_point> last_in(time_point from, time_point to) const;

 private:
  using local_minutes = std::chrono::time_point<std::chrono::system_clock, std::chrono::minutes>;
  // Local civil time is kept as minutes on the system clock's epoch.
  std::optional<local_minutes> next_local(local_minutes after) const;
  local_minutes to_local(time_point t) const;
  time_point to_sys(local_minutes local) const;

  std::bitset<60> minute_;
  std::bitset<24> hour_;
  std::bitset<32> day_;     // 1..31
  std::bitset<13> month_;   // 1..12
  std::bitset<7> weekday_;  // 0 = Sunday
  bool any_day_ = true, any_weekday_ = true;
  const date::time_zone* zone_ = nullptr;  // null: UTC
};

}  // namespace rockpool::specs
