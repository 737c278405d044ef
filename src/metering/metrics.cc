#include "metering/metrics.h"

#include <cstdio>

namespace lambdad::metering {
namespace {

// Label values escape \, " and newline.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

void Metrics::observe(const std::string& function, std::chrono::microseconds duration, bool error,
                      bool cold) {
  std::lock_guard lock(mu_);
  Fn& f = fns_[function];
  f.invocations++;
  if (error) f.errors++;
  if (cold) f.cold_starts++;
  const double s = double(duration.count()) / 1e6;
  for (size_t i = 0; i < kDurationBuckets.size(); ++i) {
    if (s <= kDurationBuckets[i]) {
      f.buckets[i]++;
      break;
    }
  }
  f.count++;
  f.sum_us += duration.count();
}

void Metrics::throttled(const std::string& function) {
  std::lock_guard lock(mu_);
  fns_[function].throttles++;
}

std::string Metrics::render(const Gauges& g) const {
  std::lock_guard lock(mu_);
  std::string o;
  auto counter = [&](const char* name, const char* help, int64_t Fn::*field) {
    o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
    for (const auto& [fn, f] : fns_)
      o +=
          std::string(name) + "{function=\"" + label(fn) + "\"} " + std::to_string(f.*field) + "\n";
  };
  counter("lambdad_invocations_total", "Completed invocations (any outcome but throttles).",
          &Fn::invocations);
  counter("lambdad_errors_total", "Invocations that ended in a function error or timeout.",
          &Fn::errors);
  counter("lambdad_throttles_total", "Invocations rejected with 429.", &Fn::throttles);
  counter("lambdad_cold_starts_total", "Invocations that ran an init phase.", &Fn::cold_starts);
  o += "# HELP lambdad_duration_seconds Invocation duration (REPORT Duration).\n"
       "# TYPE lambdad_duration_seconds histogram\n";
  for (const auto& [fn, f] : fns_) {
    const std::string l = "function=\"" + label(fn) + "\"";
    int64_t cum = 0;
    for (size_t i = 0; i < kDurationBuckets.size(); ++i) {
      cum += f.buckets[i];
      o += "lambdad_duration_seconds_bucket{" + l + ",le=\"" + num(kDurationBuckets[i]) + "\"} " +
           std::to_string(cum) + "\n";
    }
    o += "lambdad_duration_seconds_bucket{" + l + ",le=\"+Inf\"} " + std::to_string(f.count) + "\n";
    char sum[48];
    std::snprintf(sum, sizeof sum, "%.6f", double(f.sum_us) / 1e6);
    o += "lambdad_duration_seconds_sum{" + l + "} " + sum + "\n";
    o += "lambdad_duration_seconds_count{" + l + "} " + std::to_string(f.count) + "\n";
  }
  o += "# HELP lambdad_environments Live execution environments.\n"
       "# TYPE lambdad_environments gauge\n"
       "lambdad_environments " +
       std::to_string(g.live_environments) + "\n";
  o += "# HELP lambdad_async_queue_depth Event invocations waiting to run.\n"
       "# TYPE lambdad_async_queue_depth gauge\n"
       "lambdad_async_queue_depth " +
       std::to_string(g.async_queue_depth) + "\n";
  return o;
}

}  // namespace lambdad::metering
