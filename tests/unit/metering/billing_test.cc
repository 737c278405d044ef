#include "metering/billing.h"

#include <gtest/gtest.h>

#include <chrono>

namespace lambdad::metering {
namespace {

using std::chrono::microseconds;

TEST(BillingTest, BilledDurationRoundsUpToTheMillisecond) {
  EXPECT_EQ(billed_ms(microseconds(1)), 1);
  EXPECT_EQ(billed_ms(microseconds(1000)), 1);
  EXPECT_EQ(billed_ms(microseconds(1001)), 2);
  EXPECT_EQ(billed_ms(microseconds(38660)), 39);
  EXPECT_EQ(billed_ms(microseconds(0)), 1);
}

TEST(BillingTest, ComputeCostUsesMemoryAndArchitecturePrices) {
  Prices p;
  // 1,000 ms at 1,024 MB = 1 GB-s.
  EXPECT_EQ(compute_cost_pico(1000, 1024, "x86_64", p), 16'666'700);
  EXPECT_EQ(compute_cost_pico(1000, 1024, "arm64", p), 13'333'400);
  // 1 ms at 128 MB = 1/8000 GB-s = 2083.3375 pico$ -> 2083.
  EXPECT_EQ(compute_cost_pico(1, 128, "x86_64", p), 2083);
  EXPECT_EQ(dollars(16'666'700), "0.0000166667");
  EXPECT_EQ(dollars(200'000), "0.0000002000");
  EXPECT_EQ(dollars(41'666), "0.0000000417");  // rounded, not truncated
  EXPECT_EQ(dollars(41'649), "0.0000000416");
}

TEST(ReportLineTest, MatchesLambdaTextFormatExactly) {
  ReportFields f;
  f.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
  f.duration = microseconds(38661);
  f.billed_ms = 39;
  f.memory_mb = 128;
  f.max_memory_used_mb = 54;
  EXPECT_EQ(report_line(f),
            "REPORT RequestId: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\tDuration: 38.66 ms\t"
            "Billed Duration: 39 ms\tMemory Size: 128 MB\tMax Memory Used: 54 MB\t\n");
  f.init_duration = microseconds(203690);
  f.status = "timeout";
  EXPECT_EQ(report_line(f),
            "REPORT RequestId: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\tDuration: 38.66 ms\t"
            "Billed Duration: 39 ms\tMemory Size: 128 MB\tMax Memory Used: 54 MB\t"
            "Init Duration: 203.69 ms\tStatus: timeout\t\n");
  f.init_duration.reset();
  f.status = "error";
  f.error_type = "Runtime.ExitError";
  EXPECT_NE(report_line(f).find("\tStatus: error\tError Type: Runtime.ExitError\t\n"),
            std::string::npos);
}

TEST(ReportLineTest, StartAndEndUseSingleSpaces) {
  EXPECT_EQ(start_line("abc", "$LATEST"), "START RequestId: abc Version: $LATEST\n");
  EXPECT_EQ(end_line("abc"), "END RequestId: abc\n");
}

TEST(TimeoutLineTest, PrintsConfiguredTimeoutWithTwoDecimals) {
  const std::string line = timeout_line("abc", 3);
  EXPECT_NE(line.find("Z abc Task timed out after 3.00 seconds\n"), std::string::npos);
  EXPECT_EQ(line[4], '-');
}

}  // namespace
}  // namespace lambdad::metering
