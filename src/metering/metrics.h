// Prometheus metrics: per-function counters and a duration histogram, rendered in the
// Prometheus text exposition format (version 0.0.4) for GET /metrics.
// Thread rules: the invoker updates it on the io thread (one call per completion or
// throttle); render() may run on any thread. A mutex guards the maps (uncontended in
// practice: one writer thread, an occasional scrape).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace lambdad::metering {

// Histogram bucket upper bounds in seconds (Prometheus `le`), +Inf implied.
inline constexpr std::array<double, 14> kDurationBuckets = {
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300};

// Point-in-time values the server samples at scrape time.
struct Gauges {
  int live_environments = 0;
  int64_t async_queue_depth = 0;  // 0 until async invocation (#7) reports its queue
};

class Metrics {
 public:
  // One completed invocation (any outcome except a throttle).
  void observe(const std::string& function, std::chrono::microseconds duration, bool error,
               bool cold);
  void throttled(const std::string& function);
  std::string render(const Gauges& gauges) const;

 private:
  struct Fn {
    int64_t invocations = 0;
    int64_t errors = 0;
    int64_t throttles = 0;
    int64_t cold_starts = 0;
    std::array<int64_t, kDurationBuckets.size()> buckets{};  // non-cumulative
    int64_t count = 0;
    int64_t sum_us = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, Fn> fns_;  // GUARDED_BY(mu_)
};

}  // namespace lambdad::metering
