// Lambda's billing arithmetic and platform log lines (START/END/REPORT), integral where
// money and billed time are concerned. Pure functions; any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lambdad::metering {

// Prices in pico-dollars (1e-12 $), first tier of AWS's published on-demand prices (us-east-1),
// as listed in docs/reference limits-and-billing.md §3: unchanged since tiered pricing began
// (AWS Compute blog, Aug 2022); checked 2026-12-01. `lambdad serve --price-x86/--price-arm/
// --price-request` override them (in dollars).
inline constexpr const char* kPricesDate = "2026-12-01 (AWS us-east-1 on-demand, first tier)";
struct Prices {
  int64_t x86_per_gb_second = 16'666'700;  // $0.0000166667
  int64_t arm_per_gb_second = 13'333'400;  // $0.0000133334
  int64_t per_request = 200'000;           // $0.20 per 1M requests
};

// Billed duration: ceil to 1 ms.
int64_t billed_ms(std::chrono::microseconds duration);
// Compute cost of one invocation in pico-dollars (without the request charge).
int64_t compute_cost_pico(int64_t billed_ms, int memory_mb, std::string_view arch,
                          const Prices& prices);
// "0.0000020834" style rendering of pico-dollars as dollars.
std::string dollars(int64_t pico);
// "0.0000166667" (or "$0.20", "2e-7" not accepted) -> pico-dollars, exact to 12 decimals;
// nullopt when not a plain non-negative decimal.
std::optional<int64_t> parse_dollars(std::string_view text);
// Cost of one million invocations of `billed_ms` each: compute + request charges.
int64_t cost_per_million_pico(int64_t billed_ms, int memory_mb, std::string_view arch,
                              const Prices& prices);

struct ReportFields {
  std::string request_id;
  std::chrono::microseconds duration{0};
  int64_t billed_ms = 0;
  int memory_mb = 128;
  int max_memory_used_mb = 0;
  std::optional<std::chrono::microseconds> init_duration;
  std::string status;      // "" ok, "timeout", "error"
  std::string error_type;  // with status "error"
};

std::string start_line(std::string_view request_id, std::string_view version);
std::string end_line(std::string_view request_id);
// Exactly Lambda's text format, TAB separated, ending "\t\n".
std::string report_line(const ReportFields& f);
// "<ISO ts>Z <id> Task timed out after 3.00 seconds\n"
std::string timeout_line(std::string_view request_id, int timeout_s);

}  // namespace lambdad::metering
