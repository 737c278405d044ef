// EventBridge schedule expressions, as EventBridge rules accept them (all times UTC):
//   rate(Value Unit)   Value a positive integer; Unit minute|hour|day for 1, minutes|hours|days
//                      otherwise (EventBridge rejects "rate(1 minutes)" and "rate(5 minute)").
//   cron(Minutes Hours Day-of-month Month Day-of-week Year)
//                      Minutes 0-59, Hours 0-23, Day-of-month 1-31, Month 1-12 or JAN-DEC,
//                      Day-of-week 1-7 or SUN-SAT (1 = SUN), Year 1970-2199; in each field
//                      `*`, values, ranges a-b (a range may wrap, e.g. FRI-MON), lists a,b and
//                      increments a/n, a-b/n, */n. Exactly one of Day-of-month and
//                      Day-of-week is `?`. Day-of-month alone may be L (last day), LW (last
//                      weekday), nW (weekday nearest day n, never leaving the month);
//                      Day-of-week alone may be L (= 7, SAT), dL (last weekday d of the month)
//                      or d#n (n-th weekday d, 1 <= n <= 5).
// Pure code; any thread.
#pragma once

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace lambdad::schedule {

using Time = std::chrono::sys_seconds;

constexpr int kMinYear = 1970;
constexpr int kMaxYear = 2199;
constexpr size_t kMaxExpressionLength = 256;  // EventBridge's ScheduleExpression limit

class Expression {
 public:
  // kInvalidArgument with a message naming the field and the offending text, e.g.
  // "cron(0 12 * * ? *): Day-of-month and Day-of-week cannot both be '?'".
  static Result<Expression> parse(std::string_view text);

  const std::string& text() const { return text_; }
  bool is_rate() const { return rate_.count() > 0; }
  // The interval of a rate() expression (0 for cron()).
  std::chrono::seconds rate() const { return rate_; }

  // The first firing strictly after `after`, or nullopt when there is none up to the end of
  // kMaxYear. cron(): the first whole minute that matches. rate(): the first
  // anchor + k * interval (any integer k) after `after`; EventBridge counts a rate from the
  // rule's creation, which is what callers pass as `anchor`.
  std::optional<Time> next_fire(Time after, Time anchor = Time{}) const;

  // Internal representation of a cron() expression (public for the parser's helpers).
  enum class DayRule {
    kAny,             // '?': the other day field decides
    kSet,             // the bits
    kLastDay,         // Day-of-month L
    kLastWeekday,     // Day-of-month LW
    kNearestWeekday,  // Day-of-month nW (day = n)
    kLastOf,          // Day-of-week dL (weekday = d)
    kNth,             // Day-of-week d#n (weekday = d, nth = n)
  };
  struct Cron {
    std::bitset<60> minutes;
    std::bitset<24> hours;
    std::bitset<32> days;  // Day-of-month 1..31 (kSet)
    std::bitset<13> months;
    std::bitset<8> weekdays;  // Day-of-week 1..7 = SUN..SAT (kSet)
    std::bitset<kMaxYear - kMinYear + 1> years;
    DayRule dom = DayRule::kAny;
    DayRule dow = DayRule::kAny;
    int day = 0;      // kNearestWeekday
    int weekday = 0;  // kLastOf, kNth: 1..7
    int nth = 0;      // kNth: 1..5
  };

 private:
  std::string text_;
  std::chrono::seconds rate_{0};
  Cron cron_;
};

// "2019-03-01T01:23:45Z": RFC 3339 UTC without fractional seconds (the scheduled event's time).
std::string format_time(Time t);

}  // namespace lambdad::schedule
