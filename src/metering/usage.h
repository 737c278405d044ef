// Usage records: one row per invocation (billed ms, memory, GB-s, cost), written to
// <data_dir>/usage.db in batches by a background thread -- never on the invoke path.
// Thread rules: record() is safe from any thread and never blocks on I/O; query
// functions open their own read connection and may block (CLI, console).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"

struct sqlite3;

namespace lambdad::metering {

struct UsageRecord {
  int64_t timestamp_ms = 0;  // epoch ms at invoke start
  std::string function;
  std::string version = "$LATEST";
  std::string request_id;
  std::string arch = "x86_64";
  int memory_mb = 128;
  int64_t duration_us = 0;
  int64_t billed_ms = 0;
  int64_t init_us = 0;  // 0 when warm
  int max_memory_used_mb = 0;
  std::string status;        // "ok", "error", "timeout", "throttled"
  int64_t cost_pico = 0;     // compute + request charge
  int64_t request_pico = 0;  // the request charge alone (part of cost_pico)
};

// Retention bound, applied on the writer thread (when it starts, then after a batch at most
// once a minute): rows older than max_age_days and rows beyond the newest max_rows are deleted.
// 0 = unbounded (the library default); `lambdad serve` keeps 30 days / 1M rows by default.
struct Retention {
  int max_age_days = 0;
  int64_t max_rows = 0;
};

class UsageRecorder {
 public:
  // Opens/creates <data_dir>/usage.db.
  static Result<std::unique_ptr<UsageRecorder>> open(const std::string& data_dir,
                                                     Retention retention = {});
  ~UsageRecorder();
  void record(UsageRecord r);
  void flush();

 private:
  UsageRecorder(sqlite3* db, Retention retention);
  void run();
  void prune(int64_t now_ms);
  sqlite3* db_;
  Retention retention_;
  int64_t last_prune_ms_ = 0;  // writer thread only
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable drained_;
  std::deque<UsageRecord> queue_;  // GUARDED_BY(mu_)
  bool stop_ = false;
  bool flush_requested_ = false;  // GUARDED_BY(mu_)
  static constexpr size_t kWakeBatch = 4096;
  static constexpr std::chrono::milliseconds kTick{200};
  bool busy_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

struct UsageSummary {
  std::string function;
  int64_t invocations = 0;
  int64_t errors = 0;
  int64_t billed_ms = 0;
  int64_t gb_ms_x1024 = 0;   // sum(billed_ms * memory_mb): GB-s = this / 1024 / 1000
  int64_t cost_pico = 0;     // compute + request charge
  int64_t request_pico = 0;  // request charge alone
  int64_t cold_starts = 0;   // rows with init_us > 0
  int64_t avg_duration_us = 0;
  int64_t p50_duration_us = 0;
  int64_t p99_duration_us = 0;
  int max_memory_used_mb = 0;
};

// Per-function totals since `since_ms` (0 = all), sorted by function. Empty function = all.
Result<std::vector<UsageSummary>> summarize_usage(const std::string& data_dir,
                                                  const std::string& function, int64_t since_ms);

// One function's figures for one minute (minute_ms = start of the minute, epoch ms); also
// one bucket of usage_series (minute_ms = start of the bucket).
struct MinuteBucket {
  std::string function;
  int64_t minute_ms = 0;
  int64_t invocations = 0;
  int64_t errors = 0;
  int64_t cold_starts = 0;
  int64_t gb_ms_x1024 = 0;
  int64_t cost_pico = 0;
  int64_t p50_duration_us = 0;
  int64_t p95_duration_us = 0;
  int64_t p99_duration_us = 0;
  int64_t max_duration_us = 0;
};

// Per-function per-minute aggregation since `since_ms`, ordered by function then minute.
Result<std::vector<MinuteBucket>> usage_per_minute(const std::string& data_dir,
                                                   const std::string& function, int64_t since_ms);

// One function's (or, with function "", all functions') usage in fixed buckets of `step_ms`
// (aligned to multiples of step_ms since the epoch) covering [since_ms, until_ms): every bucket
// is present, empty ones with zeros, so a chart's x axis is regular. kInvalidArgument when
// step_ms <= 0, until_ms < since_ms or more than kMaxSeriesBuckets buckets would result.
inline constexpr int64_t kMaxSeriesBuckets = 10'000;
Result<std::vector<MinuteBucket>> usage_series(const std::string& data_dir,
                                               const std::string& function, int64_t since_ms,
                                               int64_t until_ms, int64_t step_ms);

// The newest `limit` records of `function` ("" = any), newest first (console).
Result<std::vector<UsageRecord>> recent_usage(const std::string& data_dir,
                                              const std::string& function, int limit);

// Nearest-rank percentile (p in 0..100) of a sorted vector; 0 when empty.
int64_t percentile(const std::vector<int64_t>& sorted, int p);

// Rows currently stored (tests, console).
Result<int64_t> usage_row_count(const std::string& data_dir);

}  // namespace lambdad::metering
