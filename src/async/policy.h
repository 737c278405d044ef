// Lambda's async delivery policy as pure functions (no clock, no I/O), so unit tests pin it.
// Reference: shared/reference/events.md §5.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

namespace lambdad::async {

struct Limits {
  int max_retry_attempts = 2;   // MaximumRetryAttempts, 0-2
  int max_event_age_s = 21600;  // MaximumEventAgeInSeconds, 60-21600
};

enum class Outcome {
  kSuccess,        // the function ran and returned
  kFunctionError,  // the function ran and failed (error, timeout, crash): counts an attempt
  kThrottle,       // 429 or a 5xx before the function ran: back to the queue, no attempt used
  kGone,           // 404 and other 4xx: the function is gone, the event is dropped
};

inline Outcome classify(int status, const std::string& function_error) {
  if (status == 200) return function_error.empty() ? Outcome::kSuccess : Outcome::kFunctionError;
  if (status == 429 || status >= 500) return Outcome::kThrottle;
  return Outcome::kGone;
}

// Delay before the retry that follows the `attempts`-th failed attempt: Lambda waits ~1 min
// before the first retry and ~2 min before the second (base 60 s, doubling).
inline std::chrono::milliseconds retry_delay(std::chrono::milliseconds base, int attempts) {
  const int shift = std::clamp(attempts - 1, 0, 20);
  return base * (int64_t{1} << shift);
}

// Throttles back off exponentially from 1 s up to 5 min (never above `base`'s scale start, so
// tests with a short base also throttle-retry quickly).
inline std::chrono::milliseconds throttle_delay(std::chrono::milliseconds base, int throttles) {
  const auto start = std::min<std::chrono::milliseconds>(base, std::chrono::seconds(1));
  const int shift = std::clamp(throttles - 1, 0, 20);
  return std::min<std::chrono::milliseconds>(start * (int64_t{1} << shift),
                                             std::chrono::minutes(5));
}

// `age_unit_ms` is how long one second of MaximumEventAgeInSeconds lasts (1000; tests shrink it).
inline bool expired(int64_t enqueued_ms, int64_t now_ms, int max_event_age_s,
                    int64_t age_unit_ms = 1000) {
  return now_ms - enqueued_ms > int64_t{max_event_age_s} * age_unit_ms;
}

// After `attempts` failed invocations: no retry left when attempts > MaximumRetryAttempts.
inline bool retries_exhausted(int attempts, int max_retry_attempts) {
  return attempts > max_retry_attempts;
}

}  // namespace lambdad::async
