#include "schedule/expression.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lambdad::schedule {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

Time at(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return Time(std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(mo) /
                                    std::chrono::day(d))) +
         hours(h) + minutes(mi) + seconds(s);
}

Expression parse_ok(const std::string& text) {
  auto e = Expression::parse(text);
  EXPECT_TRUE(e.ok()) << text << ": " << (e.ok() ? "" : e.error().message());
  return e.ok() ? *e : Expression{};
}

std::string parse_error(const std::string& text) {
  auto e = Expression::parse(text);
  EXPECT_FALSE(e.ok()) << text << " parsed";
  if (e.ok()) return "";
  EXPECT_EQ(e.error().code, Code::kInvalidArgument);
  return e.error().message();
}

std::string next(const std::string& text, Time after) {
  auto t = parse_ok(text).next_fire(after);
  return t ? format_time(*t) : "never";
}

// --- rate() ---------------------------------------------------------------------------------

TEST(ScheduleRateTest, AcceptsSingularForOneAndPluralOtherwise) {
  struct Case {
    const char* text;
    int64_t seconds;
  } cases[] = {
      {"rate(1 minute)", 60},     {"rate(5 minutes)", 300}, {"rate(1 hour)", 3600},
      {"rate(2 hours)", 7200},    {"rate(1 day)", 86400},   {"rate(2 days)", 172800},
      {"rate(90 minutes)", 5400},
  };
  for (const auto& c : cases) {
    Expression e = parse_ok(c.text);
    EXPECT_TRUE(e.is_rate()) << c.text;
    EXPECT_EQ(e.rate().count(), c.seconds) << c.text;
    EXPECT_EQ(e.text(), c.text);
  }
}

TEST(ScheduleRateTest, RejectsWrongNumberOfUnitAndBadValues) {
  EXPECT_NE(parse_error("rate(1 minutes)").find("singular for 1: rate(1 minute)"),
            std::string::npos);
  EXPECT_NE(parse_error("rate(5 minute)").find("plural"), std::string::npos);
  EXPECT_NE(parse_error("rate(1 days)").find("rate(1 day)"), std::string::npos);
  EXPECT_NE(parse_error("rate(0 minutes)").find("at least 1"), std::string::npos);
  EXPECT_NE(parse_error("rate(5 weeks)").find("unknown unit 'weeks'"), std::string::npos);
  for (const char* bad :
       {"rate(-1 minutes)", "rate(1.5 hours)", "rate(minutes)", "rate(5)", "rate(5  minutes)",
        "rate( 5 minutes)", "rate(5 minutes )", "rate(5 Minutes)", "RATE(5 minutes)",
        "rate(5 minutes", "rate 5 minutes", "rate()", "rate(1234567890 minutes)"})
    parse_error(bad);
}

TEST(ScheduleRateTest, NextFireCountsWholeIntervalsFromTheAnchor) {
  Expression e = parse_ok("rate(5 minutes)");
  const Time anchor = at(2024, 1, 1, 0, 0, 7);
  EXPECT_EQ(e.next_fire(anchor, anchor), anchor + minutes(5));  // strictly after
  EXPECT_EQ(e.next_fire(anchor + minutes(4), anchor), anchor + minutes(5));
  EXPECT_EQ(e.next_fire(anchor + minutes(5), anchor), anchor + minutes(10));
  EXPECT_EQ(e.next_fire(anchor + hours(10) + seconds(1), anchor), anchor + hours(10) + minutes(5));
  // Before the anchor (a clock set back): still on the anchor's grid, never in a burst.
  EXPECT_EQ(e.next_fire(anchor - seconds(1), anchor), anchor);
  EXPECT_EQ(e.next_fire(anchor - minutes(5), anchor), anchor);
  EXPECT_EQ(e.next_fire(anchor - minutes(7), anchor), anchor - minutes(5));
}

// --- cron(): firing times -------------------------------------------------------------------

TEST(ScheduleCronTest, EveryMinuteFiresOnTheNextWholeMinute) {
  EXPECT_EQ(next("cron(* * * * ? *)", at(2024, 1, 1, 12, 0, 30)), "2024-01-01T12:01:00Z");
  EXPECT_EQ(next("cron(* * * * ? *)", at(2024, 1, 1, 12, 0, 0)), "2024-01-01T12:01:00Z");
  EXPECT_EQ(next("cron(* * * * ? *)", at(2024, 12, 31, 23, 59, 59)), "2025-01-01T00:00:00Z");
}

TEST(ScheduleCronTest, DailyAndIncrements) {
  EXPECT_EQ(next("cron(0 12 * * ? *)", at(2024, 1, 1, 12)), "2024-01-02T12:00:00Z");
  EXPECT_EQ(next("cron(0 12 * * ? *)", at(2024, 1, 1, 11, 59)), "2024-01-01T12:00:00Z");
  EXPECT_EQ(next("cron(0/15 * * * ? *)", at(2024, 1, 1, 0, 44)), "2024-01-01T00:45:00Z");
  EXPECT_EQ(next("cron(0/15 * * * ? *)", at(2024, 1, 1, 0, 45)), "2024-01-01T01:00:00Z");
  EXPECT_EQ(next("cron(*/20 * * * ? *)", at(2024, 1, 1, 0, 41)), "2024-01-01T01:00:00Z");
  EXPECT_EQ(next("cron(10-30/10 * * * ? *)", at(2024, 1, 1, 0, 30)), "2024-01-01T01:10:00Z");
  EXPECT_EQ(next("cron(5,7 1 * * ? *)", at(2024, 1, 1, 1, 5)), "2024-01-01T01:07:00Z");
  // AWS's example: every 5 minutes, Monday to Friday, 08:00-17:55. 2024-03-01 is a Friday.
  EXPECT_EQ(next("cron(0/5 8-17 ? * MON-FRI *)", at(2024, 3, 1, 17, 55)), "2024-03-04T08:00:00Z");
  EXPECT_EQ(next("cron(0/5 8-17 ? * MON-FRI *)", at(2024, 3, 1, 12, 3)), "2024-03-01T12:05:00Z");
}

TEST(ScheduleCronTest, RangesWrapAround) {
  EXPECT_EQ(next("cron(0 22-2 * * ? *)", at(2024, 1, 1, 2)), "2024-01-01T22:00:00Z");
  EXPECT_EQ(next("cron(0 22-2 * * ? *)", at(2024, 1, 1, 23)), "2024-01-02T00:00:00Z");
  // 2024-03-05 is a Tuesday; FRI-MON = Fri, Sat, Sun, Mon.
  EXPECT_EQ(next("cron(0 0 ? * FRI-MON *)", at(2024, 3, 5)), "2024-03-08T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 ? * FRI-MON *)", at(2024, 3, 10)), "2024-03-11T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 ? * FRI-MON *)", at(2024, 3, 11)), "2024-03-15T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 1 NOV-FEB ? *)", at(2024, 2, 1)), "2024-11-01T00:00:00Z");
}

TEST(ScheduleCronTest, NamesAreCaseInsensitiveAndNumbersStartAtSunday) {
  // 1 = SUN ... 7 = SAT. 2024-01-07 is a Sunday.
  EXPECT_EQ(next("cron(0 0 ? * 1 *)", at(2024, 1, 1)), "2024-01-07T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 ? * SUN *)", at(2024, 1, 1)), "2024-01-07T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 ? * 7 *)", at(2024, 1, 1)), "2024-01-06T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 ? * sat *)", at(2024, 1, 1)), "2024-01-06T00:00:00Z");
  // JUL holds an L, WED a W: names, not the day-field specials.
  EXPECT_EQ(next("cron(0 0 ? jan,jul wed *)", at(2024, 1, 31)), "2024-07-03T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 1 Jul ? *)", at(2024, 1, 1)), "2024-07-01T00:00:00Z");
}

TEST(ScheduleCronTest, LeapYearsAndMissingDaysAreSkipped) {
  EXPECT_EQ(next("cron(0 0 29 2 ? *)", at(2023, 3, 1)), "2024-02-29T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 29 2 ? *)", at(2024, 2, 29)), "2028-02-29T00:00:00Z");
  // 2100 is not a leap year (divisible by 100, not by 400); 2000 was.
  EXPECT_EQ(next("cron(0 0 29 2 ? *)", at(2096, 2, 29)), "2104-02-29T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 29 2 ? *)", at(1999, 1, 1)), "2000-02-29T00:00:00Z");
  // The 31st skips February and the 30-day months.
  EXPECT_EQ(next("cron(0 0 31 * ? *)", at(2024, 1, 31)), "2024-03-31T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 31 * ? *)", at(2024, 3, 31)), "2024-05-31T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 30 * ? *)", at(2023, 1, 30)), "2023-03-30T00:00:00Z");
  // Feb 30 and 31 never come: accepted, never fires (scanned to 2199, quickly).
  EXPECT_EQ(next("cron(0 0 30 2 ? *)", at(2024, 1, 1)), "never");
  EXPECT_EQ(next("cron(0 0 31 2,4,6,9,11 ? *)", at(2024, 1, 1)), "never");
}

TEST(ScheduleCronTest, LastDayOfMonth) {
  EXPECT_EQ(next("cron(0 0 L * ? *)", at(2024, 2, 1)), "2024-02-29T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 L * ? *)", at(2023, 2, 1)), "2023-02-28T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 L * ? *)", at(2024, 4, 1)), "2024-04-30T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 L * ? *)", at(2024, 4, 30)), "2024-05-31T00:00:00Z");
  EXPECT_EQ(next("cron(30 23 L 12 ? *)", at(2024, 12, 31, 23, 30)), "2025-12-31T23:30:00Z");
}

TEST(ScheduleCronTest, LastWeekdayOfMonth) {
  // 2024-03-31 is a Sunday, 2024-08-31 a Saturday, 2024-02-29 a Thursday.
  EXPECT_EQ(next("cron(0 0 LW * ? *)", at(2024, 3, 1)), "2024-03-29T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 LW * ? *)", at(2024, 8, 1)), "2024-08-30T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 LW * ? *)", at(2024, 2, 1)), "2024-02-29T00:00:00Z");
}

TEST(ScheduleCronTest, NearestWeekdayNeverLeavesTheMonth) {
  // 2024-06-15 is a Saturday -> Friday 14th; 2024-09-15 a Sunday -> Monday 16th.
  EXPECT_EQ(next("cron(0 0 15W * ? *)", at(2024, 6, 1)), "2024-06-14T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 15W * ? *)", at(2024, 9, 1)), "2024-09-16T00:00:00Z");
  // A weekday stays put: 2024-05-15 is a Wednesday.
  EXPECT_EQ(next("cron(0 0 15W * ? *)", at(2024, 5, 1)), "2024-05-15T00:00:00Z");
  // 2024-06-01 is a Saturday: Monday the 3rd, not Friday May 31st.
  EXPECT_EQ(next("cron(0 0 1W * ? *)", at(2024, 5, 31)), "2024-06-03T00:00:00Z");
  // 2024-09-01 is a Sunday: Monday the 2nd.
  EXPECT_EQ(next("cron(0 0 1W * ? *)", at(2024, 8, 2)), "2024-09-02T00:00:00Z");
  // 2024-03-31 is a Sunday and the last day: Friday the 29th, not Monday April 1st.
  EXPECT_EQ(next("cron(0 0 31W * ? *)", at(2024, 3, 1)), "2024-03-29T00:00:00Z");
  // 2024-11-30 is a Saturday and the last day: Friday the 29th.
  EXPECT_EQ(next("cron(0 0 30W * ? *)", at(2024, 11, 1)), "2024-11-29T00:00:00Z");
  // A month without day n has no firing: 30W skips February.
  EXPECT_EQ(next("cron(0 0 30W * ? *)", at(2024, 2, 1)), "2024-03-29T00:00:00Z");
}

TEST(ScheduleCronTest, LastAndNthWeekdayOfMonth) {
  // AWS's example: 10:15 on the last Friday of each month, 2022-2023.
  EXPECT_EQ(next("cron(15 10 ? * 6L 2022-2023)", at(2022, 1, 1)), "2022-01-28T10:15:00Z");
  EXPECT_EQ(next("cron(15 10 ? * FRIL 2022-2023)", at(2022, 1, 1)), "2022-01-28T10:15:00Z");
  EXPECT_EQ(next("cron(15 10 ? * 6L 2022-2023)", at(2023, 12, 29, 10, 15)), "never");
  EXPECT_EQ(next("cron(15 10 ? * 6L 2022-2023)", at(2023, 12, 29, 10, 14)), "2023-12-29T10:15:00Z");
  // L alone in Day-of-week is the last day of the week: Saturday.
  EXPECT_EQ(next("cron(0 0 ? * L *)", at(2024, 1, 1)), "2024-01-06T00:00:00Z");
  // Second Tuesday: 2024-01-09.
  EXPECT_EQ(next("cron(0 0 ? * 3#2 *)", at(2024, 1, 1)), "2024-01-09T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 ? * TUE#1 *)", at(2024, 1, 1)), "2024-01-02T00:00:00Z");
  // First Monday when the month starts on one (2024-01-01).
  EXPECT_EQ(next("cron(0 9 ? * MON#1 *)", at(2023, 12, 31)), "2024-01-01T09:00:00Z");
  // A fifth Monday: January 2024 has one (29th), February and March do not, April does.
  EXPECT_EQ(next("cron(0 0 ? * MON#5 *)", at(2024, 1, 1)), "2024-01-29T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 ? * MON#5 *)", at(2024, 1, 29)), "2024-04-29T00:00:00Z");
}

TEST(ScheduleCronTest, YearsBoundTheSchedule) {
  EXPECT_EQ(next("cron(0 0 1 1 ? 2199)", at(2024, 1, 1)), "2199-01-01T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 1 1 ? 2199)", at(2199, 1, 1)), "never");
  EXPECT_EQ(next("cron(0 0 1 1 ? 2020)", at(2024, 1, 1)), "never");
  EXPECT_EQ(next("cron(0 0 1 1 ? 2025/5)", at(2026, 1, 1)), "2030-01-01T00:00:00Z");
  EXPECT_EQ(next("cron(* * * * ? *)", at(2199, 12, 31, 23, 59)), "never");
}

// --- cron(): invalid expressions --------------------------------------------------------------

TEST(ScheduleCronTest, RejectsDayFieldCombinations) {
  EXPECT_NE(parse_error("cron(0 12 ? * ? *)").find("cannot both be '?'"), std::string::npos);
  EXPECT_NE(parse_error("cron(0 12 * * * *)").find("must be '?'"), std::string::npos);
  EXPECT_NE(parse_error("cron(0 12 1 * MON *)").find("must be '?'"), std::string::npos);
}

TEST(ScheduleCronTest, RejectsFieldCountWithAHintForUnixCron) {
  std::string five = parse_error("cron(0 12 * * ?)");
  EXPECT_NE(five.find("takes 6 fields"), std::string::npos) << five;
  EXPECT_NE(five.find("Year"), std::string::npos) << five;
  EXPECT_NE(parse_error("cron(0 12 * * ? * *)").find("got 7"), std::string::npos);
  EXPECT_NE(parse_error("cron()").find("got 0"), std::string::npos);
}

TEST(ScheduleCronTest, RejectsOutOfRangeValuesNamingTheField) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"cron(60 * * * ? *)", "Minutes: '60' is out of range 0-59"},
      {"cron(0 24 * * ? *)", "Hours: '24' is out of range 0-23"},
      {"cron(0 0 0 * ? *)", "Day-of-month: '0' is out of range 1-31"},
      {"cron(0 0 32 * ? *)", "Day-of-month: '32' is out of range 1-31"},
      {"cron(0 0 1 13 ? *)", "Month: '13' is out of range 1-12 or JAN-DEC"},
      {"cron(0 0 1 FOO ? *)", "Month: 'FOO' is not a value"},
      {"cron(0 0 ? * 0 *)", "Day-of-week: '0' is out of range 1-7 or SUN-SAT"},
      {"cron(0 0 ? * 8 *)", "Day-of-week: '8' is out of range"},
      {"cron(0 0 ? * MON-FOO *)", "Day-of-week: 'FOO' is not a value"},
      {"cron(0 0 1 1 ? 1969)", "Year: '1969' is out of range 1970-2199"},
      {"cron(0 0 1 1 ? 2200)", "Year: '2200' is out of range 1970-2199"},
      {"cron(0 0 1 1 ? 2030-2025)", "Year: range '2030-2025' runs backwards"},
      {"cron(*/0 * * * ? *)", "Minutes: increment '0' in '*/0' must be between 1 and 60"},
      {"cron(0/61 * * * ? *)", "must be between 1 and 60"},
      {"cron(0/x * * * ? *)", "increment 'x' in '0/x' is not a number"},
      {"cron(1,,2 * * * ? *)", "Minutes: empty item in list '1,,2'"},
      {"cron(1, * * * ? *)", "Minutes: empty item"},
      {"cron(1- * * * ? *)", "Minutes: a value is missing"},
      {"cron(? * * * ? *)", "Minutes: '?' is not valid"},
      {"cron(0 0 ? * 3#6 *)", "the n in d#n must be 1 to 5"},
      {"cron(0 0 ? * 3#0 *)", "the n in d#n must be 1 to 5"},
      {"cron(0 0 ? * 9#1 *)", "Day-of-week: '9' is out of range"},
      {"cron(0 0 ? * 8L *)", "Day-of-week: '8' is out of range"},
      {"cron(0 0 ? * 1-5L *)", "stand alone"},
      {"cron(0 0 ? * 1,L *)", "stand alone"},
      {"cron(0 0 L-2 * ? *)", "stand alone"},
      {"cron(0 0 5W,10 * ? *)", "stand alone"},
      {"cron(0 0 32W * ? *)", "Day-of-month: '32' is out of range"},
      {"cron(0 0 W * ? *)", "stand alone"},
      {"cron(0 0 1#2 * ? *)", "belongs to Day-of-week"},
      {"cron(0 0 1 * ?,1 *)", "stand alone"},
      {"cron(0 0 -1 * ? *)", "a value is missing"},
  };
  for (const auto& c : cases) {
    const std::string m = parse_error(c.text);
    EXPECT_NE(m.find(c.message), std::string::npos) << c.text << " -> " << m;
    EXPECT_EQ(m.rfind(c.text, 0), 0u) << "message starts with the expression: " << m;
  }
}

TEST(ScheduleExpressionTest, RejectsOtherShapes) {
  EXPECT_EQ(parse_error(""), "the expression is empty");
  EXPECT_NE(parse_error("at(2024-01-01T00:00:00)").find("EventBridge Scheduler"),
            std::string::npos);
  EXPECT_NE(parse_error("0 12 * * ? *").find("expected rate(Value Unit) or cron("),
            std::string::npos);
  EXPECT_NE(parse_error("cron(" + std::string(300, '1') + ")").find("longer than 256"),
            std::string::npos);
  parse_error("Cron(0 12 * * ? *)");
  parse_error("cron(0 12 * * ? *) ");
}

TEST(ScheduleExpressionTest, FormatsTimesAsRfc3339Utc) {
  EXPECT_EQ(format_time(at(2019, 3, 1, 1, 23, 45)), "2019-03-01T01:23:45Z");
  EXPECT_EQ(format_time(at(1970, 1, 1)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_time(at(2199, 12, 31, 23, 59, 59)), "2199-12-31T23:59:59Z");
}

}  // namespace
}  // namespace lambdad::schedule
