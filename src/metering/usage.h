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
  std::string status;     // "ok", "error", "timeout", "throttled"
  int64_t cost_pico = 0;  // compute + request charge
};

class UsageRecorder {
 public:
  // Opens/creates <data_dir>/usage.db.
  static Result<std::unique_ptr<UsageRecorder>> open(const std::string& data_dir);
  ~UsageRecorder();
  void record(UsageRecord r);
  void flush();

 private:
  explicit UsageRecorder(sqlite3* db);
  void run();
  sqlite3* db_;
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
  int64_t gb_ms_x1024 = 0;  // sum(billed_ms * memory_mb): GB-s = this / 1024 / 1000
  int64_t cost_pico = 0;
  int64_t avg_duration_us = 0;
  int64_t p50_duration_us = 0;
  int64_t p99_duration_us = 0;
  int max_memory_used_mb = 0;
};

// Per-function totals since `since_ms` (0 = all), sorted by function. Empty function = all.
Result<std::vector<UsageSummary>> summarize_usage(const std::string& data_dir,
                                                  const std::string& function, int64_t since_ms);

}  // namespace lambdad::metering
