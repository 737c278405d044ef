// The schedule store: <data_dir>/schedules.db (SQLite, WAL). One row per schedule: its name,
// target function (name and qualifier), expression, enabled flag, constant input, who manages
// it ("sam" for `lambdad deploy`, "" otherwise), creation time (the anchor of rate()
// schedules) and the time it last fired.
// Thread rules: every call blocks on SQLite; the scheduler calls it from its one store thread
// (and open() at start-up). Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

struct sqlite3;

namespace lambdad::schedule {

struct Schedule {
  std::string name;
  std::string function;   // unqualified function name
  std::string qualifier;  // "" = unqualified ($LATEST)
  std::string expression;
  bool enabled = true;
  std::optional<std::string> input;  // JSON text sent instead of the scheduled event
  std::string managed_by;            // "sam" when `lambdad deploy` owns it
  int64_t created_ms = 0;            // epoch ms (schedule time, see Scheduler)
  int64_t last_fired_ms = 0;         // 0 = never
};

class Store {
 public:
  // Opens or creates <data_dir>/schedules.db. kInternal with the SQLite message on failure.
  static Result<std::unique_ptr<Store>> open(const std::string& data_dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // kConflict when a schedule of that name exists.
  Result<void> insert(const Schedule& s);
  // Creates or replaces.
  Result<void> upsert(const Schedule& s);
  // false when there was none.
  Result<bool> remove(const std::string& name);
  Result<void> set_last_fired(const std::string& name, int64_t ms);
  // Every schedule, by name.
  Result<std::vector<Schedule>> all();

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  Result<void> write(const Schedule& s, const char* verb);
  sqlite3* db_;  // owned
};

}  // namespace lambdad::schedule
