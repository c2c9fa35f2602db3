// Cron schedules in a time zone (issue 23, schedules): the fields, the day
// rule, and daylight saving in Europe/Berlin (2026: clocks go forward on
// 29 March at 02:00, back on 25 October at 03:00).
#include "rockpool/specs/clock.hpp"
#include "rockpool/specs/schedule.hpp"

#include <gtest/gtest.h>

using rockpool::specs::cron_schedule;
using rockpool::specs::format_rfc3339;
using rockpool::specs::parse_rfc3339;

namespace {

std::string next(const cron_schedule& c, const std::string& after) {
  auto t = c.next_after(parse_rfc3339(after));
  return t ? format_rfc3339(*t) : "never";
}

cron_schedule parsed(const std::string& expr, const std::string& zone = "") {
  auto c = cron_schedule::parse(expr, zone);
  EXPECT_TRUE(c.ok()) << expr << ": " << (c.ok() ? "" : c.err().message);
  return c.ok() ? *c : *cron_schedule::parse("* * * * *");
}

}  // namespace

TEST(schedule, fields_lists_ranges_steps_and_names) {
  EXPECT_EQ(next(parsed("0 8 * * *"), "2026-12-06T07:59:00Z"), "2026-12-06T08:00:00Z");
  EXPECT_EQ(next(parsed("0 8 * * *"), "2026-12-06T08:00:00Z"), "2026-12-07T08:00:00Z");
  EXPECT_EQ(next(parsed("*/15 * * * *"), "2026-12-06T10:07:30Z"), "2026-12-06T10:15:00Z");
  EXPECT_EQ(next(parsed("5,35 9-10 * * *"), "2026-12-06T10:36:00Z"), "2026-12-07T09:05:00Z");
  EXPECT_EQ(next(parsed("0 0 1 jan *"), "2026-12-06T00:00:00Z"), "2027-01-01T00:00:00Z");
  // 2026-12-06 is a Sunday: weekdays (MON-FRI) skip to Monday; 7 is Sunday too.
  EXPECT_EQ(next(parsed("0 9 * * MON-FRI"), "2026-12-06T00:00:00Z"), "2026-12-07T09:00:00Z");
  EXPECT_EQ(next(parsed("0 9 * * 7"), "2026-12-05T00:00:00Z"), "2026-12-06T09:00:00Z");
  // Both day fields restricted: either matches (the 8th, or a Sunday).
  EXPECT_EQ(next(parsed("0 0 8 * 0"), "2026-12-06T01:00:00Z"), "2026-12-08T00:00:00Z");
  EXPECT_EQ(next(parsed("0 0 31 2 *"), "2026-12-06T01:00:00Z"), "never");
}

TEST(schedule, bad_expressions_and_zones_say_which_field) {
  for (auto [expr, field] : std::initializer_list<std::pair<const char*, const char*>>{
           {"60 * * * *", "minute"},
           {"* 24 * * *", "hour"},
           {"* * 0 * *", "day of month"},
           {"* * * 13 *", "month"},
           {"* * * * 8", "day of week"},
           {"5-1 * * * *", "minute"},
           {"*/0 * * * *", "minute"},
           {"1,,2 * * * *", "minute"},
           {"* * * FOO *", "month"}}) {
    auto c = cron_schedule::parse(expr);
    ASSERT_FALSE(c.ok()) << expr;
    EXPECT_NE(c.err().message.find(field), std::string::npos) << expr << ": " << c.err().message;
  }
  EXPECT_NE(cron_schedule::parse("* * * *").err().message.find("5 fields"), std::string::npos);
  auto zone = cron_schedule::parse("* * * * *", "Mars/Olympus");
  ASSERT_FALSE(zone.ok());
  EXPECT_NE(zone.err().message.find("unknown time zone"), std::string::npos);
}

TEST(schedule, a_zone_shifts_the_firing_and_daylight_saving_is_followed) {
  auto eight = parsed("0 8 * * *", "Europe/Berlin");
  // Winter (UTC+1), summer (UTC+2).
  EXPECT_EQ(next(eight, "2026-12-06T00:00:00Z"), "2026-12-06T07:00:00Z");
  EXPECT_EQ(next(eight, "2026-07-01T00:00:00Z"), "2026-07-01T06:00:00Z");
  // Across the spring change: 8:00 local both days, an hour apart less in UTC.
  EXPECT_EQ(next(eight, "2026-03-28T08:00:00Z"), "2026-03-29T06:00:00Z");
  // 02:30 does not exist on 29 March: it fires when the clock jumps (03:00 CEST).
  auto half_past_two = parsed("30 2 * * *", "Europe/Berlin");
  EXPECT_EQ(next(half_past_two, "2026-03-28T02:00:00Z"), "2026-03-29T01:00:00Z");
  // 02:30 happens twice on 25 October: it fires once, the first time (CEST).
  EXPECT_EQ(next(half_past_two, "2026-10-24T23:00:00Z"), "2026-10-25T00:30:00Z");
  EXPECT_EQ(next(half_past_two, "2026-10-25T00:30:00Z"), "2026-10-26T01:30:00Z");
}

TEST(schedule, last_in_finds_the_latest_firing_of_a_window) {
  auto hourly = parsed("0 * * * *");
  auto last = hourly.last_in(parse_rfc3339("2026-12-06T07:30:00Z"),
                             parse_rfc3339("2026-12-06T10:15:00Z"));
  ASSERT_TRUE(last);
  EXPECT_EQ(format_rfc3339(*last), "2026-12-06T10:00:00Z");
  EXPECT_FALSE(hourly.last_in(parse_rfc3339("2026-12-06T10:00:00Z"),
                              parse_rfc3339("2026-12-06T10:59:00Z")));
  // (from, to]: a firing at `to` counts, one at `from` does not.
  EXPECT_TRUE(hourly.last_in(parse_rfc3339("2026-12-06T09:59:00Z"),
                             parse_rfc3339("2026-12-06T10:00:00Z")));
}
