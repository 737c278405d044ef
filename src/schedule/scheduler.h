// The scheduler: EventBridge-style rules (rate()/cron(), schedule/expression.h) that invoke a
// function asynchronously. Keeps every schedule in memory with its next firing, sleeps on one
// steady timer until the earliest, and fires a due schedule by enqueueing an Event invocation
// in the async queue (async/queue.h: durable, retried, destinations) whose payload is the
// scheduled event of events.md §6, or the schedule's constant input.
//
// Missed firings are not replayed: at start the next firing is computed from now, and a
// scheduler that wakes late (suspend, a busy io thread) fires a due schedule once and moves
// on to the first firing after now.
//
// Time: the "schedule clock" is the wall clock (UTC), except that the test hook
// `SchedulerOptions::minute` (lambdad serve --schedule-minute-ms) makes one of its minutes last
// that long in real time, counted from the moment the scheduler opened. Created/fired times
// are in schedule-clock epoch ms.
//
// Thread rules: everything runs on the io thread of `io` except open() (any thread, before
// start()); SQLite (schedule/store.h) is touched only by the scheduler's own store thread,
// whose completions are posted back to the io thread. The io thread never blocks.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "async/queue.h"
#include "common/result.h"
#include "invoke/invoker.h"
#include "schedule/expression.h"
#include "schedule/store.h"

namespace lambdad::schedule {

struct SchedulerOptions {
  std::string data_dir;
  std::string region = "us-east-1";
  std::string account = "000000000000";
  // Test hook: the real length of one schedule-clock minute (rate(1 minute) fires this often).
  std::chrono::milliseconds minute{std::chrono::minutes(1)};
};

// A schedule as the scheduler holds it.
struct Entry {
  Schedule schedule;
  Expression expression;
  std::optional<Time> next;  // schedule clock; nullopt when disabled or never firing again
};

struct SchedulerStats {
  int64_t schedules = 0;
  int64_t fired = 0;    // events committed to the async queue
  int64_t skipped = 0;  // due, but the function or qualifier did not exist
  int64_t errors = 0;   // the async queue or schedules.db refused a write
};

class Scheduler {
 public:
  // Opens <data_dir>/schedules.db and loads every schedule. kInternal on SQLite failure.
  static Result<std::unique_ptr<Scheduler>> open(boost::asio::io_context& io, async::Queue& queue,
                                                 invoke::Invoker& invoker,
                                                 SchedulerOptions options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Computes each schedule's next firing from now and arms the timer. Call once.
  void start();
  // Cancels the timer, finishes pending store writes and joins the store thread. Idempotent.
  void shutdown();

  // Now on the schedule clock, in epoch ms.
  int64_t now_ms() const;

  const Entry* find(const std::string& name) const;
  // Every schedule, by name.
  std::vector<const Entry*> list() const;

  // Stores `schedule` (its expression must parse) and then arms it; `done` runs on the io
  // thread after the commit. `create_only`: kConflict when the name exists. Replacing a
  // schedule keeps its last firing, and its creation time (the rate() anchor) when the
  // expression is unchanged.
  void put(Schedule schedule, bool create_only, std::function<void(Result<void>)> done);
  // false when there was no such schedule.
  void remove(std::string name, std::function<void(Result<bool>)> done);

  // "arn:aws:events:<region>:<account>:rule/<name>"
  std::string rule_arn(const std::string& name) const;
  SchedulerStats stats() const;

  struct Impl;

 private:
  explicit Scheduler(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

// The scheduled event of events.md §6, keys in EventBridge's order.
std::string scheduled_event(const std::string& id, Time time, const std::string& region,
                            const std::string& account, const std::string& rule_arn);

}  // namespace lambdad::schedule
