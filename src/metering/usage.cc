#include "metering/usage.h"

#include <sqlite3.h>

#include <algorithm>
#include <map>

namespace lambdad::metering {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS usage ("
    " ts_ms INTEGER NOT NULL, function TEXT NOT NULL, version TEXT NOT NULL,"
    " request_id TEXT NOT NULL, arch TEXT NOT NULL, memory_mb INTEGER NOT NULL,"
    " duration_us INTEGER NOT NULL, billed_ms INTEGER NOT NULL, init_us INTEGER NOT NULL,"
    " max_memory_mb INTEGER NOT NULL, status TEXT NOT NULL, cost_pico INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS usage_fn_ts ON usage(function, ts_ms);";

Result<sqlite3*> open_db(const std::string& data_dir) {
  sqlite3* db = nullptr;
  const std::string path = data_dir + "/usage.db";
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = "open " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return Error::make(Code::kInternal, msg);
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", nullptr, nullptr,
                   &err) != SQLITE_OK ||
      sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = "init " + path + ": " + (err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(db);
    return Error::make(Code::kInternal, msg);
  }
  return db;
}

}  // namespace

Result<std::unique_ptr<UsageRecorder>> UsageRecorder::open(const std::string& data_dir) {
  auto db = open_db(data_dir);
  if (!db) return db.error();
  return std::unique_ptr<UsageRecorder>(new UsageRecorder(*db));
}

UsageRecorder::UsageRecorder(sqlite3* db) : db_(db) {
  thread_ = std::thread([this] { run(); });
}

UsageRecorder::~UsageRecorder() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  sqlite3_close(db_);
}

void UsageRecorder::record(UsageRecord r) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(r));
    if (queue_.size() < kWakeBatch) return;  // the writer's tick picks it up
  }
  cv_.notify_one();
}

void UsageRecorder::flush() {
  std::unique_lock lock(mu_);
  flush_requested_ = true;
  cv_.notify_one();
  drained_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void UsageRecorder::run() {
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db_, "INSERT INTO usage VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)", -1,
                     &ins, nullptr);
  std::unique_lock lock(mu_);
  for (;;) {
    // Wake on a tick, not per record: one futex wake and one write (or one SQLite
    // transaction) per batch instead of per invocation.
    cv_.wait_for(lock, kTick,
                 [this] { return stop_ || flush_requested_ || queue_.size() >= kWakeBatch; });
    flush_requested_ = false;
    if (queue_.empty() && !stop_) {
      drained_.notify_all();
      continue;
    }
    if (queue_.empty() && stop_) break;
    auto batch = std::move(queue_);
    queue_.clear();
    busy_ = true;
    lock.unlock();
    // One transaction per batch: thousands of records cost one fsync-free commit (WAL).
    sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
    for (const auto& r : batch) {
      sqlite3_bind_int64(ins, 1, r.timestamp_ms);
      sqlite3_bind_text(ins, 2, r.function.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 3, r.version.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 4, r.request_id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 5, r.arch.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(ins, 6, r.memory_mb);
      sqlite3_bind_int64(ins, 7, r.duration_us);
      sqlite3_bind_int64(ins, 8, r.billed_ms);
      sqlite3_bind_int64(ins, 9, r.init_us);
      sqlite3_bind_int(ins, 10, r.max_memory_used_mb);
      sqlite3_bind_text(ins, 11, r.status.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(ins, 12, r.cost_pico);
      sqlite3_step(ins);
      sqlite3_reset(ins);
    }
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    lock.lock();
    busy_ = false;
    if (queue_.empty()) drained_.notify_all();
  }
  sqlite3_finalize(ins);
  busy_ = false;
  drained_.notify_all();
}

Result<std::vector<UsageSummary>> summarize_usage(const std::string& data_dir,
                                                  const std::string& function, int64_t since_ms) {
  auto db = open_db(data_dir);
  if (!db) return db.error();
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(*db,
                     "SELECT function, duration_us, billed_ms, memory_mb, cost_pico, status,"
                     " max_memory_mb FROM usage WHERE ts_ms >= ?1 AND (?2 = '' OR function = ?2)"
                     " ORDER BY function",
                     -1, &q, nullptr);
  sqlite3_bind_int64(q, 1, since_ms);
  sqlite3_bind_text(q, 2, function.c_str(), -1, SQLITE_TRANSIENT);
  std::map<std::string, std::pair<UsageSummary, std::vector<int64_t>>> by_fn;
  while (sqlite3_step(q) == SQLITE_ROW) {
    const std::string fn = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
    auto& [s, durations] = by_fn[fn];
    s.function = fn;
    const int64_t dur = sqlite3_column_int64(q, 1);
    const int64_t billed = sqlite3_column_int64(q, 2);
    s.invocations++;
    s.billed_ms += billed;
    s.gb_ms_x1024 += billed * sqlite3_column_int64(q, 3);
    s.cost_pico += sqlite3_column_int64(q, 4);
    const std::string status = reinterpret_cast<const char*>(sqlite3_column_text(q, 5));
    if (status != "ok") s.errors++;
    s.max_memory_used_mb = std::max(s.max_memory_used_mb, sqlite3_column_int(q, 6));
    durations.push_back(dur);
  }
  sqlite3_finalize(q);
  sqlite3_close(*db);
  std::vector<UsageSummary> out;
  for (auto& [fn, pair] : by_fn) {
    auto& [s, d] = pair;
    std::sort(d.begin(), d.end());
    int64_t sum = 0;
    for (auto v : d) sum += v;
    s.avg_duration_us = d.empty() ? 0 : sum / int64_t(d.size());
    s.p50_duration_us = d.empty() ? 0 : d[d.size() / 2];
    s.p99_duration_us = d.empty() ? 0 : d[std::min(d.size() - 1, d.size() * 99 / 100)];
    out.push_back(s);
  }
  return out;
}

}  // namespace lambdad::metering
