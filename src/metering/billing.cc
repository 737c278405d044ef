#include "metering/billing.h"

#include <sys/time.h>

#include <cstdio>
#include <ctime>

namespace lambdad::metering {

int64_t billed_ms(std::chrono::microseconds d) {
  const int64_t us = d.count();
  if (us <= 0) return 1;  // Lambda bills at least 1 ms
  return (us + 999) / 1000;
}

int64_t compute_cost_pico(int64_t billed, int memory_mb, std::string_view arch,
                          const Prices& prices) {
  const int64_t rate = arch == "arm64" ? prices.arm_per_gb_second : prices.x86_per_gb_second;
  // GB-s = billed/1000 * MB/1024; round half up to the pico-dollar.
  const __int128 num = static_cast<__int128>(billed) * memory_mb * rate;
  const __int128 den = 1000 * 1024;
  return static_cast<int64_t>((num + den / 2) / den);
}

std::string dollars(int64_t pico) {
  char buf[64];
  const bool neg = pico < 0;
  if (neg) pico = -pico;
  // 10 decimals, as Lambda's prices have, rounded half up (not truncated).
  const int64_t tenths_of_nano = (pico + 50) / 100;  // units of 1e-10 $
  std::snprintf(buf, sizeof buf, "%s%lld.%010lld", neg ? "-" : "",
                static_cast<long long>(tenths_of_nano / 10'000'000'000),
                static_cast<long long>(tenths_of_nano % 10'000'000'000));
  return buf;
}

std::optional<int64_t> parse_dollars(std::string_view t) {
  if (!t.empty() && t.front() == '$') t.remove_prefix(1);
  if (t.empty()) return std::nullopt;
  int64_t whole = 0, frac = 0;
  int frac_digits = 0;
  bool dot = false, any = false;
  for (char c : t) {
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    any = true;
    if (!dot) {
      if (whole > 1'000'000) return std::nullopt;
      whole = whole * 10 + (c - '0');
    } else if (frac_digits < 12) {
      frac = frac * 10 + (c - '0');
      frac_digits++;
    }
  }
  if (!any) return std::nullopt;
  while (frac_digits < 12) {
    frac *= 10;
    frac_digits++;
  }
  return whole * 1'000'000'000'000 + frac;
}

int64_t cost_per_million_pico(int64_t billed, int memory_mb, std::string_view arch,
                              const Prices& prices) {
  const int64_t rate = arch == "arm64" ? prices.arm_per_gb_second : prices.x86_per_gb_second;
  const __int128 num = static_cast<__int128>(billed) * memory_mb * rate * 1'000'000;
  const __int128 den = 1000 * 1024;
  return static_cast<int64_t>((num + den / 2) / den) + prices.per_request * 1'000'000;
}

namespace {
std::string ms2(std::chrono::microseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(d.count() / 1000),
                static_cast<long long>((d.count() % 1000) / 10));
  return buf;
}
}  // namespace

std::string start_line(std::string_view id, std::string_view version) {
  std::string s = "START RequestId: ";
  s.append(id).append(" Version: ").append(version).append("\n");
  return s;
}

std::string end_line(std::string_view id) {
  std::string s = "END RequestId: ";
  s.append(id).append("\n");
  return s;
}

std::string report_line(const ReportFields& f) {
  std::string s = "REPORT RequestId: " + f.request_id;
  s += "\tDuration: " + ms2(f.duration) + " ms";
  s += "\tBilled Duration: " + std::to_string(f.billed_ms) + " ms";
  s += "\tMemory Size: " + std::to_string(f.memory_mb) + " MB";
  s += "\tMax Memory Used: " + std::to_string(f.max_memory_used_mb) + " MB";
  if (f.init_duration) s += "\tInit Duration: " + ms2(*f.init_duration) + " ms";
  if (!f.status.empty()) {
    s += "\tStatus: " + f.status;
    if (!f.error_type.empty()) s += "\tError Type: " + f.error_type;
  }
  s += "\t\n";
  return s;
}

std::string timeout_line(std::string_view id, int timeout_s) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm t{};
  gmtime_r(&tv.tv_sec, &t);
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, int(tv.tv_usec / 1000));
  std::string s = buf;
  s.append(id);
  s += " Task timed out after " + std::to_string(timeout_s) + ".00 seconds\n";
  return s;
}

}  // namespace lambdad::metering
