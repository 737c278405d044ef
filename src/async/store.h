// The durable async-invocation store: <data_dir>/async.db (SQLite, WAL, synchronous=FULL so a
// commit is on disk before the 202 leaves). Holds accepted Event invocations until their outcome
// is final, and the per-function event invoke configs (Put/Get/...FunctionEventInvokeConfig).
// Thread rules: every call blocks on SQLite; only the queue's writer thread uses a Store.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

struct sqlite3;

namespace lambdad::async {

struct Event {
  int64_t seq = 0;  // store key, assigned by insert(); grows monotonically (AUTOINCREMENT)
  std::string request_id;
  std::string function;
  std::string qualifier = "$LATEST";
  std::string payload;
  int attempts = 0;         // invocations that ran the function (function errors counted)
  int64_t enqueued_ms = 0;  // epoch ms when accepted
  int64_t next_ms = 0;      // epoch ms: not delivered before this
  bool started = false;     // a delivery began before (in this or an earlier run)
};

struct EventInvokeConfig {
  std::string function;
  std::string qualifier = "$LATEST";
  std::optional<int> max_retry_attempts;  // 0-2, default 2 when unset
  std::optional<int> max_event_age_s;     // 60-21600, default 21600 when unset
  std::string on_success;                 // destination ARN or ""
  std::string on_failure;
  int64_t last_modified_ms = 0;
};

struct FunctionDepth {
  std::string function;
  int64_t depth = 0;
};

class Store {
 public:
  // Opens or creates <data_dir>/async.db. kInternal with the SQLite message on failure.
  static Result<std::unique_ptr<Store>> open(const std::string& data_dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Result<void> begin();
  Result<void> commit();
  void rollback();

  // Sets event.seq.
  Result<void> insert(Event& event);
  Result<void> remove(int64_t seq);
  Result<void> reschedule(int64_t seq, int attempts, int64_t next_ms);
  Result<void> mark_started(int64_t seq);
  // Up to `limit` events with seq > after, in seq order.
  Result<std::vector<Event>> read_after(int64_t after, int limit);
  // Largest seq ever assigned (0 when none).
  Result<int64_t> max_seq();
  Result<std::vector<FunctionDepth>> depths();

  Result<void> put_config(const EventInvokeConfig& config);
  // false when there was none.
  Result<bool> delete_config(const std::string& function, const std::string& qualifier);
  Result<std::vector<EventInvokeConfig>> configs();

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  sqlite3* db_;  // owned
};

}  // namespace lambdad::async
