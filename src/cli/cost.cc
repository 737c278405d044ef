// `lambdad cost [NAME] [--since 1h|1d|ISO] [--data-dir DIR]`: per-function usage and cost
// from <data-dir>/usage.db (read-only use; works while the server runs).
#include <time.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "cli/cli.h"
#include "metering/billing.h"
#include "metering/usage.h"

namespace lambdad::cli {

// "90s", "15m", "1h", "1d", "2w" (relative to now) or "2026-12-01[THH:MM[:SS]][Z]" (UTC).
std::optional<int64_t> parse_since(const std::string& s, int64_t now_ms) {
  if (s.empty()) return std::nullopt;
  const char unit = s.back();
  const std::string digits = s.substr(0, s.size() - 1);
  if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos &&
      digits.size() < 10) {
    const int64_t n = std::stoll(digits);
    int64_t mult = 0;
    if (unit == 's')
      mult = 1000;
    else if (unit == 'm')
      mult = 60'000;
    else if (unit == 'h')
      mult = 3'600'000;
    else if (unit == 'd')
      mult = 86'400'000;
    else if (unit == 'w')
      mult = 7 * 86'400'000LL;
    if (mult) return now_ms - n * mult;
  }
  for (const char* fmt : {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%MZ",
                          "%Y-%m-%dT%H:%M", "%Y-%m-%d"}) {
    struct tm tm {};
    const char* end = ::strptime(s.c_str(), fmt, &tm);
    if (end && *end == '\0') return int64_t(::timegm(&tm)) * 1000;
  }
  return std::nullopt;
}

namespace {

std::string gb_seconds(int64_t gb_ms_x1024) {
  // GB-s = x / 1024 / 1000; print 9 decimals exactly.
  const __int128 nano = (static_cast<__int128>(gb_ms_x1024) * 1'000'000'000 + 512'000) / 1'024'000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(nano / 1'000'000'000),
                static_cast<long long>(nano % 1'000'000'000));
  return buf;
}

}  // namespace

int cost(Args& args) {
  std::string data_dir = "./.lambdad";
  std::string name, since_text;
  for (size_t i = 0; i < args.rest.size(); ++i) {
    const std::string& a = args.rest[i];
    if (a == "--data-dir" && i + 1 < args.rest.size())
      data_dir = args.rest[++i];
    else if (a == "--since" && i + 1 < args.rest.size())
      since_text = args.rest[++i];
    else if (name.empty() && !a.starts_with("-"))
      name = a;
    else {
      std::fprintf(stderr, "usage: lambdad cost [NAME] [--since 1h|1d|ISO] [--data-dir DIR]\n");
      return 2;
    }
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  int64_t since = 0;
  if (!since_text.empty()) {
    auto s = parse_since(since_text, now);
    if (!s) {
      std::fprintf(stderr, "lambdad cost: --since wants 15m, 1h, 1d, 2w or an ISO date\n");
      return 2;
    }
    since = *s;
  }
  auto rows = metering::summarize_usage(data_dir, name, since);
  if (!rows) {
    std::fprintf(stderr, "lambdad cost: %s\n", rows.error().message().c_str());
    return 1;
  }
  std::printf("%-28s %11s %7s %6s %12s %16s %14s %14s %14s\n", "FUNCTION", "INVOCATIONS", "ERRORS",
              "COLD", "BILLED_MS", "GB_SECONDS", "REQUEST_$", "COMPUTE_$", "TOTAL_$");
  metering::UsageSummary total;
  total.function = "TOTAL";
  auto line = [](const metering::UsageSummary& s) {
    std::printf("%-28s %11lld %7lld %6lld %12lld %16s %14s %14s %14s\n", s.function.c_str(),
                static_cast<long long>(s.invocations), static_cast<long long>(s.errors),
                static_cast<long long>(s.cold_starts), static_cast<long long>(s.billed_ms),
                gb_seconds(s.gb_ms_x1024).c_str(), metering::dollars(s.request_pico).c_str(),
                metering::dollars(s.cost_pico - s.request_pico).c_str(),
                metering::dollars(s.cost_pico).c_str());
  };
  for (const auto& s : *rows) {
    line(s);
    total.invocations += s.invocations;
    total.errors += s.errors;
    total.cold_starts += s.cold_starts;
    total.billed_ms += s.billed_ms;
    total.gb_ms_x1024 += s.gb_ms_x1024;
    total.request_pico += s.request_pico;
    total.cost_pico += s.cost_pico;
  }
  line(total);
  return 0;
}

}  // namespace lambdad::cli
