// The async invocation queue: accepts Event invocations durably (group-committed to
// <data_dir>/async.db by a writer thread), delivers them through the invoker with Lambda's
// retry / maximum-age policy (policy.h), sends destination records, and keeps the event
// invoke configs. Delivery is at least once: an event leaves the store only after its
// outcome is final, and undelivered events are delivered after a restart.
//
// Thread rules: every method runs on the io thread of `io` (the invoker's), except open()
// (any thread, before start()). SQLite is touched only by the writer thread; completions are
// posted back to the io thread. The io thread never blocks.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "async/policy.h"
#include "async/store.h"
#include "common/result.h"
#include "invoke/invoker.h"

namespace lambdad::async {

struct QueueOptions {
  std::string data_dir;
  std::string region = "us-east-1";
  std::string account = "000000000000";
  std::chrono::milliseconds retry_base{std::chrono::minutes(1)};  // --async-retry-base-ms
  // Test hook (--async-age-unit-ms): one second of MaximumEventAgeInSeconds lasts this long.
  std::chrono::milliseconds age_unit{1000};
  int max_in_flight_per_function = 16;
  int memory_events = 4096;  // events held in memory; the rest wait in the store
  int read_batch = 1024;
  int commit_batch = 2048;  // operations per group commit at most
};

class Queue {
 public:
  // Opens the store and reads configs and queue depths. kInternal on SQLite failure.
  static Result<std::unique_ptr<Queue>> open(boost::asio::io_context& io, invoke::Invoker& invoker,
                                             QueueOptions options);
  ~Queue();
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  // Starts the writer thread and delivery (reads undelivered events). Call once.
  void start();
  // Stops delivery (in-flight outcomes are ignored: those events stay stored), flushes and
  // joins the writer thread. Idempotent.
  void shutdown();

  // Stores `event` (request_id, function, qualifier, payload set by the caller). `done` runs
  // on the io thread once the event is committed (ok) or could not be (error).
  void enqueue(Event event, std::function<void(Result<void>)> done);

  // Event invoke configs (cached in memory; writes committed first, then cached).
  void put_config(EventInvokeConfig config, std::function<void(Result<void>)> done);
  void delete_config(std::string function, std::string qualifier,
                     std::function<void(Result<bool>)> done);
  const EventInvokeConfig* find_config(const std::string& function,
                                       const std::string& qualifier) const;
  std::vector<EventInvokeConfig> configs_of(const std::string& function) const;

  // GET /lambdad/async: {"functions":[{"name","depth","inFlight","oldestEventAgeSeconds"}],
  // "totals":{...}} (see docs/ARCHITECTURE.md).
  std::string status_json() const;
  // Events stored and not yet final, over all functions (the /metrics gauge).
  int64_t total_depth() const;

  const QueueOptions& options() const;

  struct Impl;

 private:
  explicit Queue(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

// The destination record of events.md §5 (keys in Lambda's order). `response_body` and
// `function_error` are ignored when `ran` is false (no invocation happened).
std::string destination_record(const Event& event, const std::string& function_arn,
                               const std::string& condition, bool ran, int status,
                               const std::string& executed_version,
                               const std::string& function_error, const std::string& response_body,
                               int64_t now_ms);

}  // namespace lambdad::async
