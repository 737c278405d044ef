// Price maths, per-minute aggregation and retention of the metering store.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>

#include "metering/billing.h"
#include "metering/metrics.h"
#include "metering/usage.h"

namespace lambdad::metering {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/lambdad-cost-XXXXXX";
  return ::mkdtemp(tmpl);
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(PriceTest, ParsesDollarsExactly) {
  EXPECT_EQ(parse_dollars("0.0000166667"), 16'666'700);
  EXPECT_EQ(parse_dollars("$0.0000133334"), 13'333'400);
  EXPECT_EQ(parse_dollars("0.0000002"), 200'000);
  EXPECT_EQ(parse_dollars("1"), 1'000'000'000'000);
  EXPECT_EQ(parse_dollars("2.5"), 2'500'000'000'000);
  EXPECT_FALSE(parse_dollars(""));
  EXPECT_FALSE(parse_dollars("."));
  EXPECT_FALSE(parse_dollars("-1"));
  EXPECT_FALSE(parse_dollars("2e-7"));
  EXPECT_FALSE(parse_dollars("1.2.3"));
}

TEST(PriceTest, DefaultsAreAwsFirstTier) {
  Prices p;
  EXPECT_EQ(dollars(p.x86_per_gb_second), "0.0000166667");
  EXPECT_EQ(dollars(p.arm_per_gb_second), "0.0000133334");
  EXPECT_EQ(dollars(p.per_request * 1'000'000), "0.2000000000");
}

TEST(PriceTest, CostPerMillion) {
  Prices p;
  // 1 GB for 1 s, a million times: 1e6 GB-s * $0.0000166667 + $0.20 = $16.8667
  EXPECT_EQ(cost_per_million_pico(1000, 1024, "x86_64", p), 16'666'700'000'000 + 200'000'000'000);
  // 128 MB for 1 ms: 1/8000 GB-s each -> 125 GB-s per million.
  EXPECT_EQ(cost_per_million_pico(1, 128, "x86_64", p), 125 * 16'666'700 + 200'000'000'000);
  EXPECT_EQ(cost_per_million_pico(1, 128, "arm64", p), 125 * 13'333'400 + 200'000'000'000);
  // Consistent with the per-invocation figure (rounded to the pico-dollar there).
  EXPECT_NEAR(double(cost_per_million_pico(7, 256, "x86_64", p)),
              1e6 * double(compute_cost_pico(7, 256, "x86_64", p) + p.per_request), 1e6);
}

TEST(PercentileTest, NearestRank) {
  std::vector<int64_t> v{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(percentile(v, 50), 5);
  EXPECT_EQ(percentile(v, 95), 10);
  EXPECT_EQ(percentile(v, 100), 10);
  EXPECT_EQ(percentile(v, 0), 1);
  EXPECT_EQ(percentile({}, 50), 0);
}

UsageRecord rec(int64_t ts, const std::string& fn, int64_t dur_ms, bool cold, const char* status) {
  UsageRecord r;
  r.timestamp_ms = ts;
  r.function = fn;
  r.memory_mb = 512;
  r.duration_us = dur_ms * 1000;
  r.billed_ms = dur_ms;
  r.init_us = cold ? 5000 : 0;
  r.status = status;
  r.request_pico = 200'000;
  r.cost_pico = compute_cost_pico(dur_ms, 512, "x86_64", Prices{}) + r.request_pico;
  return r;
}

TEST(AggregationTest, PerFunctionPerMinute) {
  const std::string dir = temp_dir();
  const int64_t base = 1'700'000'080'000;  // 40 s into the minute 1'700'000'040'000
  {
    auto r = UsageRecorder::open(dir);
    ASSERT_TRUE(r.ok());
    (*r)->record(rec(base, "a", 10, true, "ok"));
    (*r)->record(rec(base + 5'000, "a", 20, false, "error"));
    (*r)->record(rec(base + 30'000, "a", 30, false, "ok"));  // next minute
    (*r)->record(rec(base + 1'000, "b", 40, true, "timeout"));
    (*r)->flush();
  }
  auto m = usage_per_minute(dir, "", 0);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 3u);
  const auto& a0 = (*m)[0];
  EXPECT_EQ(a0.function, "a");
  EXPECT_EQ(a0.minute_ms, 1'700'000'040'000);
  EXPECT_EQ(a0.invocations, 2);
  EXPECT_EQ(a0.errors, 1);
  EXPECT_EQ(a0.cold_starts, 1);
  EXPECT_EQ(a0.gb_ms_x1024, 30 * 512);
  EXPECT_EQ(a0.p50_duration_us, 10'000);
  EXPECT_EQ(a0.p95_duration_us, 20'000);
  EXPECT_EQ(a0.max_duration_us, 20'000);
  EXPECT_EQ((*m)[1].function, "a");
  EXPECT_EQ((*m)[1].minute_ms, a0.minute_ms + 60'000);
  EXPECT_EQ((*m)[1].invocations, 1);
  EXPECT_EQ((*m)[2].function, "b");
  EXPECT_EQ((*m)[2].errors, 1);
  auto only_b = usage_per_minute(dir, "b", 0);
  ASSERT_TRUE(only_b.ok());
  EXPECT_EQ(only_b->size(), 1u);

  auto s = summarize_usage(dir, "a", 0);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].cold_starts, 1);
  EXPECT_EQ((*s)[0].request_pico, 3 * 200'000);
  EXPECT_EQ((*s)[0].cost_pico, compute_cost_pico(10, 512, "x86_64", Prices{}) +
                                   compute_cost_pico(20, 512, "x86_64", Prices{}) +
                                   compute_cost_pico(30, 512, "x86_64", Prices{}) + 3 * 200'000);
}

TEST(AggregationTest, SeriesHasEveryBucketWithPercentilesAndCost) {
  const std::string dir = temp_dir();
  const int64_t minute = 1'700'000'040'000;  // a multiple of 60 s and of 120 s
  {
    auto r = UsageRecorder::open(dir);
    ASSERT_TRUE(r.ok());
    // Minute 0: 100 invocations of 1..100 ms, the first cold, every tenth an error.
    for (int i = 1; i <= 100; ++i)
      (*r)->record(rec(minute + i * 100, "f", i, i == 1, i % 10 == 0 ? "error" : "ok"));
    // Minute 1: nothing. Minute 2: one of 7 ms; another function in the same minute.
    (*r)->record(rec(minute + 120'000 + 5, "f", 7, false, "ok"));
    (*r)->record(rec(minute + 120'000 + 6, "g", 50, true, "timeout"));
    // Before the range: not counted.
    (*r)->record(rec(minute - 1, "f", 99, false, "ok"));
    (*r)->flush();
  }
  auto s = usage_series(dir, "f", minute + 30'000, minute + 180'000, 60'000);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(s->size(), 3u);  // the start is floored to its bucket
  const auto& b0 = (*s)[0];
  EXPECT_EQ(b0.minute_ms, minute);
  EXPECT_EQ(b0.invocations, 100);
  EXPECT_EQ(b0.errors, 10);
  EXPECT_EQ(b0.cold_starts, 1);
  EXPECT_EQ(b0.p50_duration_us, 50'000);
  EXPECT_EQ(b0.p95_duration_us, 95'000);
  EXPECT_EQ(b0.p99_duration_us, 99'000);
  EXPECT_EQ(b0.max_duration_us, 100'000);
  EXPECT_EQ(b0.gb_ms_x1024, 5050 * 512);
  int64_t cost = 0;
  for (int i = 1; i <= 100; ++i) cost += compute_cost_pico(i, 512, "x86_64", Prices{}) + 200'000;
  EXPECT_EQ(b0.cost_pico, cost);
  EXPECT_EQ((*s)[1].minute_ms, minute + 60'000);
  EXPECT_EQ((*s)[1].invocations, 0);
  EXPECT_EQ((*s)[1].p99_duration_us, 0);
  EXPECT_EQ((*s)[2].invocations, 1);
  EXPECT_EQ((*s)[2].p50_duration_us, 7'000);
  EXPECT_EQ((*s)[2].p99_duration_us, 7'000);

  // All functions, two-minute steps: minute 2 holds f and g.
  auto all = usage_series(dir, "", minute, minute + 240'000, 120'000);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].invocations, 100);
  EXPECT_EQ((*all)[1].invocations, 2);
  EXPECT_EQ((*all)[1].errors, 1);
  EXPECT_EQ((*all)[1].cold_starts, 1);
  EXPECT_EQ((*all)[1].p50_duration_us, 7'000);
  EXPECT_EQ((*all)[1].max_duration_us, 50'000);

  // Per-minute aggregation carries p99 too.
  auto m = usage_per_minute(dir, "f", minute);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0].p99_duration_us, 99'000);

  EXPECT_FALSE(usage_series(dir, "f", minute, minute + 60'000, 0).ok());
  EXPECT_FALSE(usage_series(dir, "f", minute, minute - 1, 60'000).ok());
  EXPECT_FALSE(usage_series(dir, "f", 0, (kMaxSeriesBuckets + 1) * int64_t(60'000), 60'000).ok());
  auto empty = usage_series(dir, "f", minute, minute, 60'000);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(AggregationTest, RecentUsageIsNewestFirstAndBounded) {
  const std::string dir = temp_dir();
  {
    auto r = UsageRecorder::open(dir);
    ASSERT_TRUE(r.ok());
    for (int i = 0; i < 5; ++i) {
      UsageRecord u = rec(1'000 + i, "f", 10 + i, i == 0, "ok");
      u.request_id = "req-" + std::to_string(i);
      u.max_memory_used_mb = 20 + i;
      (*r)->record(u);
    }
    (*r)->record(rec(2'000, "other", 1, false, "error"));
    (*r)->flush();
  }
  auto recent = recent_usage(dir, "f", 3);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 3u);
  EXPECT_EQ((*recent)[0].request_id, "req-4");
  EXPECT_EQ((*recent)[0].duration_us, 14'000);
  EXPECT_EQ((*recent)[0].billed_ms, 14);
  EXPECT_EQ((*recent)[0].max_memory_used_mb, 24);
  EXPECT_EQ((*recent)[0].memory_mb, 512);
  EXPECT_EQ((*recent)[0].init_us, 0);
  EXPECT_EQ((*recent)[2].request_id, "req-2");
  auto all = recent_usage(dir, "f", 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ(all->back().init_us, 5000);
  auto any = recent_usage(dir, "", 1);
  ASSERT_TRUE(any.ok());
  ASSERT_EQ(any->size(), 1u);
  EXPECT_EQ((*any)[0].function, "other");
  EXPECT_EQ((*any)[0].status, "error");
}

TEST(RetentionTest, DropsOldRowsAndKeepsTheNewestMaxRows) {
  const std::string dir = temp_dir();
  const int64_t now = now_ms();
  auto write = [&](Retention retention, const std::vector<UsageRecord>& rows) {
    auto r = UsageRecorder::open(dir, retention);
    ASSERT_TRUE(r.ok());
    for (const auto& row : rows) (*r)->record(row);
    (*r)->flush();
  };
  // Unbounded: everything is kept.
  write(Retention{}, {rec(now - 8 * 86'400'000LL, "old", 1, false, "ok"),
                      rec(now - 6 * 86'400'000LL, "recent", 1, false, "ok")});
  EXPECT_EQ(*usage_row_count(dir), 2);
  // The writer applies the bound when it starts (flush waits for that).
  write(Retention{7, 0}, {});
  auto s = summarize_usage(dir, "", 0);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].function, "recent");

  std::vector<UsageRecord> rows;
  for (int i = 0; i < 9; ++i)
    rows.push_back(rec(now + i, "fn" + std::to_string(i), 1, false, "ok"));
  write(Retention{}, rows);
  EXPECT_EQ(*usage_row_count(dir), 10);
  write(Retention{0, 5}, {});
  EXPECT_EQ(*usage_row_count(dir), 5);
  auto newest = summarize_usage(dir, "fn8", 0);
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ(newest->size(), 1u);
  auto oldest = summarize_usage(dir, "fn3", 0);
  ASSERT_TRUE(oldest.ok());
  EXPECT_EQ(oldest->size(), 0u);
  auto kept = summarize_usage(dir, "fn4", 0);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->size(), 1u);
}

TEST(MetricsTest, RendersCountersAndCumulativeHistogram) {
  Metrics m;
  m.observe("f", std::chrono::microseconds(3000), false, true);
  m.observe("f", std::chrono::microseconds(700'000), true, false);
  m.throttled("f");
  m.throttled("g\"x");
  Gauges g;
  g.live_environments = 2;
  const std::string t = m.render(g);
  EXPECT_NE(t.find("lambdad_invocations_total{function=\"f\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("lambdad_errors_total{function=\"f\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("lambdad_cold_starts_total{function=\"f\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("lambdad_throttles_total{function=\"g\\\"x\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("lambdad_duration_seconds_bucket{function=\"f\",le=\"0.001\"} 0\n"),
            std::string::npos);
  EXPECT_NE(t.find("lambdad_duration_seconds_bucket{function=\"f\",le=\"0.005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(t.find("lambdad_duration_seconds_bucket{function=\"f\",le=\"1\"} 2\n"),
            std::string::npos);
  EXPECT_NE(t.find("lambdad_duration_seconds_bucket{function=\"f\",le=\"+Inf\"} 2\n"),
            std::string::npos);
  EXPECT_NE(t.find("lambdad_duration_seconds_sum{function=\"f\"} 0.703000\n"), std::string::npos);
  EXPECT_NE(t.find("lambdad_environments 2\n"), std::string::npos);
  EXPECT_NE(t.find("lambdad_async_queue_depth 0\n"), std::string::npos);
}

}  // namespace
}  // namespace lambdad::metering
