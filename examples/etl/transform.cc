#include "transform.h"

#include <cstdio>
#include <ctime>

namespace etl {
namespace {

using lambdad::sdk_detail::JsonValue;

bool digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int num(std::string_view s, std::size_t at, std::size_t n) {
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

bool digits_at(std::string_view s, std::size_t at, std::size_t n) {
  return at + n <= s.size() && digits(s.substr(at, n));
}

std::optional<std::int64_t> parse_iso8601(std::string_view s) {
  // YYYY-MM-DD[(T| )HH:MM[:SS[.fff]][Z|+hh:mm|-hh:mm|+hhmm]]
  if (!digits_at(s, 0, 4) || s.size() < 10 || s[4] != '-' || !digits_at(s, 5, 2) || s[7] != '-' ||
      !digits_at(s, 8, 2)) {
    return std::nullopt;
  }
  int y = num(s, 0, 4), mo = num(s, 5, 2), d = num(s, 8, 2);
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1]) return std::nullopt;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return std::nullopt;
  int h = 0, mi = 0, sec = 0, offset_min = 0;
  std::size_t at = 10;
  if (at < s.size()) {
    if ((s[at] != 'T' && s[at] != ' ') || !digits_at(s, at + 1, 2) || at + 3 >= s.size() ||
        s[at + 3] != ':' || !digits_at(s, at + 4, 2)) {
      return std::nullopt;
    }
    h = num(s, at + 1, 2);
    mi = num(s, at + 4, 2);
    at += 6;
    if (at < s.size() && s[at] == ':') {
      if (!digits_at(s, at + 1, 2)) return std::nullopt;
      sec = num(s, at + 1, 2);
      at += 3;
      if (at < s.size() && (s[at] == '.' || s[at] == ',')) {
        ++at;
        std::size_t start = at;
        while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
        if (at == start) return std::nullopt;  // fraction truncated to whole seconds
      }
    }
    if (at < s.size()) {
      if (s[at] == 'Z' || s[at] == 'z') {
        ++at;
      } else if (s[at] == '+' || s[at] == '-') {
        int sign = s[at] == '-' ? -1 : 1;
        int oh, om;
        if (digits_at(s, at + 1, 2) && at + 3 < s.size() && s[at + 3] == ':' &&
            digits_at(s, at + 4, 2)) {
          oh = num(s, at + 1, 2);
          om = num(s, at + 4, 2);
          at += 6;
        } else if (digits_at(s, at + 1, 4)) {
          oh = num(s, at + 1, 2);
          om = num(s, at + 3, 2);
          at += 5;
        } else {
          return std::nullopt;
        }
        if (oh > 23 || om > 59) return std::nullopt;
        offset_min = sign * (oh * 60 + om);
      }
    }
    if (at != s.size() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  }
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
         h * 3600 + mi * 60 + sec - offset_min * 60;
}

std::string format_utc(std::int64_t epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Non-negative decimal with at most 2 fraction digits, in cents.
std::optional<std::int64_t> parse_cents(std::string_view s) {
  auto dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if (!digits(whole) || whole.size() > 12) return std::nullopt;
  if (dot != std::string_view::npos && (frac.empty() || frac.size() > 2 || !digits(frac))) {
    return std::nullopt;
  }
  std::int64_t cents = 0;
  for (char c : whole) cents = cents * 10 + (c - '0');
  cents *= 100;
  if (frac.size() >= 1) cents += (frac[0] - '0') * 10;
  if (frac.size() == 2) cents += frac[1] - '0';
  return cents;
}

std::string format_cents(std::int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return buf;
}

bool bad(std::string* reason, std::string why) {
  if (reason != nullptr) *reason = std::move(why);
  return false;
}

}  // namespace

std::optional<std::string> normalize_timestamp(const JsonValue& v) {
  if (v.kind() == JsonValue::Kind::kNumber) {
    std::string_view t = v.text();
    if (!digits(t) || t.size() > 15) return std::nullopt;  // non-negative integers only
    std::int64_t n = std::stoll(std::string(t));
    if (n >= 100000000000LL) n /= 1000;  // >= 1e11: milliseconds (after 1973-03-03 in ms)
    return format_utc(n);
  }
  if (!v.is_string()) return std::nullopt;
  auto epoch = parse_iso8601(v.text());
  if (!epoch) return std::nullopt;
  return format_utc(*epoch);
}

std::optional<Row> transform(const JsonValue& record, std::string_view source_file,
                             std::string* reason) {
  if (!record.is_object()) {
    bad(reason, "record is not an object");
    return std::nullopt;
  }
  Row row;
  row.source_file = std::string(source_file);
  const JsonValue* id = record.find("order_id");
  if (id == nullptr ||
      !(id->is_string() || (id->kind() == JsonValue::Kind::kNumber && digits(id->text()))) ||
      id->text().empty()) {
    bad(reason, "order_id missing or not a string/integer");
    return std::nullopt;
  }
  row.id = id->text();
  const JsonValue* created = record.find("created");
  std::optional<std::string> ts = created ? normalize_timestamp(*created) : std::nullopt;
  if (!ts) {
    bad(reason, "created missing or not a timestamp");
    return std::nullopt;
  }
  row.created_at = *ts;
  const JsonValue* customer = record.find("customer");
  if (customer == nullptr || !customer->is_string()) {
    bad(reason, "customer missing or not a string");
    return std::nullopt;
  }
  row.customer_name = customer->text();
  const JsonValue* price = record.find("unit_price");
  std::optional<std::int64_t> cents;
  if (price != nullptr && (price->is_string() || price->kind() == JsonValue::Kind::kNumber)) {
    cents = parse_cents(price->text());
  }
  if (!cents) {
    bad(reason, "unit_price missing or not a decimal >= 0 with at most 2 places");
    return std::nullopt;
  }
  const JsonValue* qty = record.find("quantity");
  if (qty == nullptr || qty->kind() != JsonValue::Kind::kNumber || !digits(qty->text()) ||
      qty->text().size() > 9) {
    bad(reason, "quantity missing or not an integer >= 0");
    return std::nullopt;
  }
  std::int64_t q = std::stoll(qty->text());
  row.price = format_cents(*cents);
  row.qty = std::to_string(q);
  row.total = format_cents(*cents * q);
  if (const JsonValue* note = record.find("note"); note != nullptr && note->is_string()) {
    row.note = note->text();
  }
  return row;
}

namespace {

void append_field(std::string_view f, std::string& out) {
  if (f.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(f);
    return;
  }
  out += '"';
  for (char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace

void append_csv(const Row& row, std::string& out) {
  const std::string* fields[] = {&row.id,  &row.created_at, &row.customer_name, &row.price,
                                 &row.qty, &row.total,      &row.note,          &row.source_file};
  bool first = true;
  for (const std::string* f : fields) {
    if (!first) out += ',';
    first = false;
    append_field(*f, out);
  }
  out += "\r\n";
}

}  // namespace etl
