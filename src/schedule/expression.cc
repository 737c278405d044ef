#include "schedule/expression.h"

#include <array>
#include <cstdio>
#include <variant>
#include <vector>

namespace lambdad::schedule {

namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_days;
using std::chrono::year_month_day;

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const std::array<const char*, 12>* names;  // names[i] is value min + i; nullptr: none
};

constexpr std::array<const char*, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 12> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI",
                                                   "SAT", "",    "",    "",    "",    ""};

constexpr FieldSpec kMinutes{"Minutes", 0, 59, nullptr};
constexpr FieldSpec kHours{"Hours", 0, 23, nullptr};
constexpr FieldSpec kDayOfMonth{"Day-of-month", 1, 31, nullptr};
constexpr FieldSpec kMonth{"Month", 1, 12, &kMonthNames};
constexpr FieldSpec kDayOfWeek{"Day-of-week", 1, 7, &kDayNames};
constexpr FieldSpec kYear{"Year", kMinYear, kMaxYear, nullptr};

// Parse failures carry the field's message; parse() prefixes the whole expression.
struct Fail {
  std::string why;
};

template <class T>
using Parsed = std::variant<T, Fail>;

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string range_text(const FieldSpec& f) {
  std::string r = std::to_string(f.min) + "-" + std::to_string(f.max);
  if (f.names == &kMonthNames) r += " or JAN-DEC";
  if (f.names == &kDayNames) r += " or SUN-SAT";
  return r;
}

// One value of field `f`: digits or (for Month / Day-of-week) a three-letter name.
std::optional<int> value_of(const FieldSpec& f, std::string_view s, std::string& why) {
  if (s.empty()) {
    why = std::string(f.name) + ": a value is missing";
    return std::nullopt;
  }
  if (s.size() <= 4 && s.find_first_not_of("0123456789") == std::string_view::npos) {
    int v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    if (v < f.min || v > f.max) {
      why = std::string(f.name) + ": " + quoted(s) + " is out of range " + range_text(f);
      return std::nullopt;
    }
    return v;
  }
  if (f.names != nullptr) {
    const std::string u = upper(s);
    for (size_t i = 0; i < f.names->size(); ++i)
      if (u == (*f.names)[i]) return f.min + static_cast<int>(i);
  }
  why = std::string(f.name) + ": " + quoted(s) + " is not a value (" + range_text(f) + ")";
  return std::nullopt;
}

// Sets the bits of one comma-separated list. Items: *, */n, a, a-b, a/n, a-b/n.
template <size_t N>
std::optional<Fail> parse_list(const FieldSpec& f, std::string_view field, std::bitset<N>& bits) {
  const int size = f.max - f.min + 1;
  size_t start = 0;
  for (;;) {
    const size_t comma = field.find(',', start);
    const std::string_view item = field.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) return Fail{std::string(f.name) + ": empty item in list " + quoted(field)};
    std::string_view range = item;
    int step = 1;
    bool has_step = false;
    if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      const std::string_view s = item.substr(slash + 1);
      if (s.empty() || s.size() > 4 || s.find_first_not_of("0123456789") != std::string_view::npos)
        return Fail{std::string(f.name) + ": increment " + quoted(s) + " in " + quoted(item) +
                    " is not a number"};
      step = std::stoi(std::string(s));
      if (step < 1 || step > size)
        return Fail{std::string(f.name) + ": increment " + quoted(s) + " in " + quoted(item) +
                    " must be between 1 and " + std::to_string(size)};
      has_step = true;
    }
    int lo = 0;
    int hi = 0;
    std::string why;
    if (range == "*") {
      lo = f.min;
      hi = f.max;
    } else if (const size_t dash = range.find('-'); dash != std::string_view::npos) {
      auto a = value_of(f, range.substr(0, dash), why);
      if (!a) return Fail{why};
      auto b = value_of(f, range.substr(dash + 1), why);
      if (!b) return Fail{why};
      lo = *a;
      hi = *b;
      if (lo > hi && f.min == kMinYear)
        return Fail{std::string(f.name) + ": range " + quoted(range) + " runs backwards"};
    } else {
      auto a = value_of(f, range, why);
      if (!a) return Fail{why};
      lo = *a;
      hi = has_step ? f.max : *a;  // "a/n": from a to the end of the field
    }
    // A range may wrap (FRI-MON, 22-2): walk it cyclically.
    const int span = (hi - lo + size) % size;
    // Year bits count from kMinYear; the other fields' bits are their values.
    const int bit0 = f.min == kMinYear ? kMinYear : 0;
    for (int k = 0; k <= span; k += step)
      bits.set(static_cast<size_t>(f.min + (lo - f.min + k) % size - bit0));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return std::nullopt;
}

bool has_any_of(std::string_view s, std::string_view chars) {
  return s.find_first_of(chars) != std::string_view::npos;
}

std::optional<Fail> parse_day_of_month(std::string_view field, Expression::Cron& c) {
  const std::string u = upper(field);
  if (u == "?") {
    c.dom = Expression::DayRule::kAny;
    return std::nullopt;
  }
  if (u == "L") {
    c.dom = Expression::DayRule::kLastDay;
    return std::nullopt;
  }
  if (u == "LW") {
    c.dom = Expression::DayRule::kLastWeekday;
    return std::nullopt;
  }
  if (has_any_of(u, "LW")) {
    if (u.size() >= 2 && u.back() == 'W' && u.find_first_not_of("0123456789") == u.size() - 1) {
      std::string why;
      auto d = value_of(kDayOfMonth, std::string_view(u).substr(0, u.size() - 1), why);
      if (!d) return Fail{why};
      c.dom = Expression::DayRule::kNearestWeekday;
      c.day = *d;
      return std::nullopt;
    }
    return Fail{"Day-of-month: " + quoted(field) +
                " is not valid: L, LW and nW (e.g. 15W) stand alone, without lists, ranges or "
                "offsets"};
  }
  if (has_any_of(u, "?#"))
    return Fail{"Day-of-month: " + quoted(field) +
                " is not valid: '?' stands alone and '#' "
                "belongs to Day-of-week"};
  c.dom = Expression::DayRule::kSet;
  return parse_list(kDayOfMonth, field, c.days);
}

std::optional<Fail> parse_day_of_week(std::string_view field, Expression::Cron& c) {
  const std::string u = upper(field);
  if (u == "?") {
    c.dow = Expression::DayRule::kAny;
    return std::nullopt;
  }
  if (u == "L") {  // the last day of the week: Saturday
    c.dow = Expression::DayRule::kSet;
    c.weekdays.set(7);
    return std::nullopt;
  }
  std::string why;
  if (const size_t hash = u.find('#'); hash != std::string::npos) {
    auto d = value_of(kDayOfWeek, std::string_view(u).substr(0, hash), why);
    if (!d) return Fail{why + " (in " + quoted(field) + ")"};
    const std::string_view n = std::string_view(u).substr(hash + 1);
    if (n.size() != 1 || n[0] < '1' || n[0] > '5')
      return Fail{"Day-of-week: " + quoted(field) + ": the n in d#n must be 1 to 5"};
    c.dow = Expression::DayRule::kNth;
    c.weekday = *d;
    c.nth = n[0] - '0';
    return std::nullopt;
  }
  // dL: "5L", "THUL". The names contain no L except... none of SUN-SAT ends in L.
  if (u.size() >= 2 && u.back() == 'L' && !has_any_of(u, ",-/*")) {
    auto d = value_of(kDayOfWeek, std::string_view(u).substr(0, u.size() - 1), why);
    if (!d) return Fail{why + " (in " + quoted(field) + ")"};
    c.dow = Expression::DayRule::kLastOf;
    c.weekday = *d;
    return std::nullopt;
  }
  if (has_any_of(u, "?#") || u.find('L') != std::string::npos)
    return Fail{"Day-of-week: " + quoted(field) + " is not valid: '?', L, dL and d#n stand alone"};
  c.dow = Expression::DayRule::kSet;
  return parse_list(kDayOfWeek, field, c.weekdays);
}

template <size_t N>
std::optional<Fail> parse_plain(const FieldSpec& f, std::string_view field, std::bitset<N>& bits) {
  if (has_any_of(field, "?#"))
    return Fail{std::string(f.name) + ": " + quoted(field) +
                " is not valid: '?' and '#' belong to the day fields"};
  return parse_list(f, field, bits);
}

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size()) break;
    const size_t j = s.find(' ', i);
    out.push_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j;
  }
  return out;
}

// Day of the week, EventBridge numbering: 1 = SUN .. 7 = SAT.
int weekday_of(sys_days d) { return static_cast<int>(std::chrono::weekday(d).c_encoding()) + 1; }

// The days of (y, m) the day fields select, as bits 1..31.
std::bitset<32> days_in(const Expression::Cron& c, std::chrono::year y, std::chrono::month m) {
  using R = Expression::DayRule;
  const sys_days first = sys_days(y / m / 1);
  const int last = static_cast<int>(unsigned(year_month_day(y / m / std::chrono::last).day()));
  const int first_wd = weekday_of(first);
  auto wd = [&](int day) { return (first_wd - 1 + day - 1) % 7 + 1; };
  std::bitset<32> out;
  switch (c.dom) {
    case R::kSet:
      for (int d = 1; d <= last; ++d)
        if (c.days.test(static_cast<size_t>(d))) out.set(static_cast<size_t>(d));
      return out;
    case R::kLastDay:
      out.set(static_cast<size_t>(last));
      return out;
    case R::kLastWeekday: {
      int d = last;
      while (wd(d) == 1 || wd(d) == 7) --d;
      out.set(static_cast<size_t>(d));
      return out;
    }
    case R::kNearestWeekday: {
      // Quartz/EventBridge: the weekday nearest day n, never crossing into another month;
      // a month without day n has no firing.
      int d = c.day;
      if (d > last) return out;
      if (wd(d) == 7)  // Saturday: Friday before, or Monday after when n is the 1st
        d = d > 1 ? d - 1 : d + 2;
      else if (wd(d) == 1)  // Sunday: Monday after, or Friday before when n is the last day
        d = d < last ? d + 1 : d - 2;
      out.set(static_cast<size_t>(d));
      return out;
    }
    default:
      break;
  }
  switch (c.dow) {
    case R::kSet:
      for (int d = 1; d <= last; ++d)
        if (c.weekdays.test(static_cast<size_t>(wd(d)))) out.set(static_cast<size_t>(d));
      return out;
    case R::kLastOf:
      for (int d = last; d >= 1; --d)
        if (wd(d) == c.weekday) {
          out.set(static_cast<size_t>(d));
          break;
        }
      return out;
    case R::kNth: {
      const int d = 1 + (c.weekday - first_wd + 7) % 7 + 7 * (c.nth - 1);
      if (d <= last) out.set(static_cast<size_t>(d));
      return out;
    }
    default:
      return out;
  }
}

std::optional<Time> next_cron(const Expression::Cron& c, Time after) {
  const Time start = std::chrono::floor<minutes>(after) + minutes(1);
  const sys_days start_day = std::chrono::floor<days>(start);
  const year_month_day sd(start_day);
  const int start_minute = static_cast<int>((start - start_day) / minutes(1));
  const int sh = start_minute / 60;
  const int sm = start_minute % 60;
  for (int y = int(sd.year()); y <= kMaxYear; ++y) {
    if (y < kMinYear || !c.years.test(static_cast<size_t>(y - kMinYear))) continue;
    for (unsigned mo = 1; mo <= 12; ++mo) {
      if (!c.months.test(mo)) continue;
      const std::chrono::year_month ym{std::chrono::year(y), std::chrono::month(mo)};
      if (ym < std::chrono::year_month{sd.year(), sd.month()}) continue;
      const std::bitset<32> ds = days_in(c, ym.year(), ym.month());
      for (unsigned d = 1; d <= 31; ++d) {
        if (!ds.test(d)) continue;
        const sys_days day = sys_days(ym / std::chrono::day(d));
        if (day < start_day) continue;
        const bool first_day = day == start_day;
        for (int h = first_day ? sh : 0; h < 24; ++h) {
          if (!c.hours.test(static_cast<size_t>(h))) continue;
          for (int mi = (first_day && h == sh) ? sm : 0; mi < 60; ++mi) {
            if (c.minutes.test(static_cast<size_t>(mi))) return Time(day) + hours(h) + minutes(mi);
          }
        }
      }
    }
  }
  return std::nullopt;
}

Parsed<seconds> parse_rate(std::string_view inner) {
  const size_t space = inner.find(' ');
  if (space == std::string_view::npos || inner.find(' ', space + 1) != std::string_view::npos)
    return Fail{"rate() takes a value and a unit separated by one space, e.g. rate(5 minutes)"};
  const std::string_view value = inner.substr(0, space);
  const std::string_view unit = inner.substr(space + 1);
  if (value.empty() || value.size() > 9 ||
      value.find_first_not_of("0123456789") != std::string_view::npos)
    return Fail{"rate(): the value " + quoted(value) + " is not a positive whole number"};
  const int64_t n = std::stoll(std::string(value));
  if (n < 1) return Fail{"rate(): the value must be at least 1"};
  struct Unit {
    const char* one;
    const char* many;
    int64_t seconds;
  };
  for (const Unit& u :
       {Unit{"minute", "minutes", 60}, Unit{"hour", "hours", 3600}, Unit{"day", "days", 86400}}) {
    if (unit != u.one && unit != u.many) continue;
    if (n == 1 && unit == u.many)
      return Fail{"rate(): use the singular for 1: rate(1 " + std::string(u.one) + ")"};
    if (n > 1 && unit == u.one)
      return Fail{"rate(): use the plural for values above 1: rate(" + std::string(value) + " " +
                  u.many + ")"};
    return seconds(n * u.seconds);
  }
  return Fail{"rate(): unknown unit " + quoted(unit) +
              " (minute, minutes, hour, hours, day or days)"};
}

Parsed<Expression::Cron> parse_cron(std::string_view inner) {
  const auto fields = split_spaces(inner);
  if (fields.size() != 6)
    return Fail{
        "cron() takes 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), got " +
        std::to_string(fields.size()) +
        (fields.size() == 5 ? " (EventBridge cron has a Year field; use * for any year)" : "")};
  Expression::Cron c;
  if (auto f = parse_plain(kMinutes, fields[0], c.minutes)) return *f;
  if (auto f = parse_plain(kHours, fields[1], c.hours)) return *f;
  if (auto f = parse_day_of_month(fields[2], c)) return *f;
  if (auto f = parse_plain(kMonth, fields[3], c.months)) return *f;
  if (auto f = parse_day_of_week(fields[4], c)) return *f;
  if (auto f = parse_plain(kYear, fields[5], c.years)) return *f;
  using R = Expression::DayRule;
  if (c.dom == R::kAny && c.dow == R::kAny)
    return Fail{"Day-of-month and Day-of-week cannot both be '?'"};
  if (c.dom != R::kAny && c.dow != R::kAny)
    return Fail{
        "one of Day-of-month and Day-of-week must be '?' (e.g. cron(0 12 * * ? *) or "
        "cron(0 12 ? * MON-FRI *))"};
  return c;
}

}  // namespace

Result<Expression> Expression::parse(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Error::make(
        Code::kInvalidArgument,
        (text.size() > 64 ? std::string(text.substr(0, 64)) + "..." : std::string(text)) + ": " +
            why);
  };
  if (text.empty()) return Error::make(Code::kInvalidArgument, "the expression is empty");
  if (text.size() > kMaxExpressionLength)
    return bad("longer than " + std::to_string(kMaxExpressionLength) + " characters");
  Expression e;
  e.text_ = std::string(text);
  if (text.starts_with("rate(") && text.ends_with(")")) {
    auto r = parse_rate(text.substr(5, text.size() - 6));
    if (auto* f = std::get_if<Fail>(&r)) return bad(f->why);
    e.rate_ = std::get<seconds>(r);
    return e;
  }
  if (text.starts_with("cron(") && text.ends_with(")")) {
    auto r = parse_cron(text.substr(5, text.size() - 6));
    if (auto* f = std::get_if<Fail>(&r)) return bad(f->why);
    e.cron_ = std::get<Cron>(r);
    // An expression that matches no date at all (cron(0 0 30 2 ? *)) is accepted here, as
    // EventBridge accepts it; next_fire() answers nullopt.
    return e;
  }
  if (text.starts_with("at("))
    return bad("one-time at() schedules belong to EventBridge Scheduler; use rate() or cron()");
  return bad(
      "expected rate(Value Unit) or cron(Minutes Hours Day-of-month Month Day-of-week "
      "Year)");
}

std::optional<Time> Expression::next_fire(Time after, Time anchor) const {
  if (is_rate()) {
    // The first anchor + k * rate_ > after, with floor division for after < anchor.
    const int64_t diff = (after - anchor).count();
    const int64_t r = rate_.count();
    int64_t k = diff / r;
    if (diff % r != 0 && diff < 0) --k;
    return anchor + seconds((k + 1) * r);
  }
  return next_cron(cron_, after);
}

std::string format_time(Time t) {
  const sys_days d = std::chrono::floor<days>(t);
  const year_month_day ymd(d);
  const auto s = (t - d).count();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lldZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

}  // namespace lambdad::schedule
