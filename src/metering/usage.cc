#include "metering/usage.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string_view>

namespace lambdad::metering {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS usage ("
    " ts_ms INTEGER NOT NULL, function TEXT NOT NULL, version TEXT NOT NULL,"
    " request_id TEXT NOT NULL, arch TEXT NOT NULL, memory_mb INTEGER NOT NULL,"
    " duration_us INTEGER NOT NULL, billed_ms INTEGER NOT NULL, init_us INTEGER NOT NULL,"
    " max_memory_mb INTEGER NOT NULL, status TEXT NOT NULL, cost_pico INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS usage_fn_ts ON usage(function, ts_ms);"
    "CREATE INDEX IF NOT EXISTS usage_ts ON usage(ts_ms);";

int64_t now_epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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
  // Added after the first schema: ignore "duplicate column" on databases that have it.
  sqlite3_exec(db, "ALTER TABLE usage ADD COLUMN request_pico INTEGER NOT NULL DEFAULT 0", nullptr,
               nullptr, nullptr);
  return db;
}

}  // namespace

Result<std::unique_ptr<UsageRecorder>> UsageRecorder::open(const std::string& data_dir,
                                                           Retention retention) {
  auto db = open_db(data_dir);
  if (!db) return db.error();
  return std::unique_ptr<UsageRecorder>(new UsageRecorder(*db, retention));
}

UsageRecorder::UsageRecorder(sqlite3* db, Retention retention) : db_(db), retention_(retention) {
  busy_ = true;  // until the startup prune is done: flush() waits for it
  thread_ = std::thread([this] { run(); });
}

void UsageRecorder::prune(int64_t now_ms) {
  last_prune_ms_ = now_ms;
  if (retention_.max_age_days > 0) {
    sqlite3_stmt* del = nullptr;
    sqlite3_prepare_v2(db_, "DELETE FROM usage WHERE ts_ms < ?1", -1, &del, nullptr);
    sqlite3_bind_int64(del, 1, now_ms - int64_t(retention_.max_age_days) * 86'400'000);
    sqlite3_step(del);
    sqlite3_finalize(del);
  }
  if (retention_.max_rows > 0) {
    sqlite3_stmt* del = nullptr;
    sqlite3_prepare_v2(db_, "DELETE FROM usage WHERE rowid <= (SELECT MAX(rowid) FROM usage) - ?1",
                       -1, &del, nullptr);
    sqlite3_bind_int64(del, 1, retention_.max_rows);
    sqlite3_step(del);
    sqlite3_finalize(del);
  }
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
  sqlite3_prepare_v2(db_,
                     "INSERT INTO usage (ts_ms, function, version, request_id, arch, memory_mb,"
                     " duration_us, billed_ms, init_us, max_memory_mb, status, cost_pico,"
                     " request_pico) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                     -1, &ins, nullptr);
  prune(now_epoch_ms());
  std::unique_lock lock(mu_);
  busy_ = false;
  if (queue_.empty()) drained_.notify_all();
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
      sqlite3_bind_int64(ins, 13, r.request_pico);
      sqlite3_step(ins);
      sqlite3_reset(ins);
    }
    const int64_t now = now_epoch_ms();
    if (now - last_prune_ms_ >= 60'000) prune(now);
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
                     " max_memory_mb, init_us, request_pico FROM usage WHERE ts_ms >= ?1 AND (?2 = "
                     "'' OR function = ?2)"
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
    if (sqlite3_column_int64(q, 7) > 0) s.cold_starts++;
    s.request_pico += sqlite3_column_int64(q, 8);
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

int64_t percentile(const std::vector<int64_t>& sorted, int p) {
  if (sorted.empty()) return 0;
  // Nearest rank: ceil(p/100 * n), 1-based.
  size_t rank = (size_t(p) * sorted.size() + 99) / 100;
  if (rank < 1) rank = 1;
  return sorted[std::min(rank, sorted.size()) - 1];
}

Result<std::vector<MinuteBucket>> usage_per_minute(const std::string& data_dir,
                                                   const std::string& function, int64_t since_ms) {
  auto db = open_db(data_dir);
  if (!db) return db.error();
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(*db,
                     "SELECT function, (ts_ms / 60000) * 60000 AS minute, duration_us, billed_ms,"
                     " memory_mb, cost_pico, status, init_us FROM usage"
                     " WHERE ts_ms >= ?1 AND (?2 = '' OR function = ?2)"
                     " ORDER BY function, minute",
                     -1, &q, nullptr);
  sqlite3_bind_int64(q, 1, since_ms);
  sqlite3_bind_text(q, 2, function.c_str(), -1, SQLITE_TRANSIENT);
  std::vector<MinuteBucket> out;
  std::vector<int64_t> durations;
  auto close_bucket = [&] {
    if (out.empty()) return;
    std::sort(durations.begin(), durations.end());
    out.back().p50_duration_us = percentile(durations, 50);
    out.back().p95_duration_us = percentile(durations, 95);
    out.back().p99_duration_us = percentile(durations, 99);
    out.back().max_duration_us = durations.empty() ? 0 : durations.back();
    durations.clear();
  };
  while (sqlite3_step(q) == SQLITE_ROW) {
    const std::string fn = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
    const int64_t minute = sqlite3_column_int64(q, 1);
    if (out.empty() || out.back().function != fn || out.back().minute_ms != minute) {
      close_bucket();
      out.push_back(MinuteBucket{});
      out.back().function = fn;
      out.back().minute_ms = minute;
    }
    auto& b = out.back();
    b.invocations++;
    durations.push_back(sqlite3_column_int64(q, 2));
    b.gb_ms_x1024 += sqlite3_column_int64(q, 3) * sqlite3_column_int64(q, 4);
    b.cost_pico += sqlite3_column_int64(q, 5);
    if (std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(q, 6))) != "ok")
      b.errors++;
    if (sqlite3_column_int64(q, 7) > 0) b.cold_starts++;
  }
  close_bucket();
  sqlite3_finalize(q);
  sqlite3_close(*db);
  return out;
}

Result<std::vector<MinuteBucket>> usage_series(const std::string& data_dir,
                                               const std::string& function, int64_t since_ms,
                                               int64_t until_ms, int64_t step_ms) {
  if (step_ms <= 0 || until_ms < since_ms)
    return Error::make(Code::kInvalidArgument, "usage series: bad range or step");
  const int64_t first = since_ms - (since_ms % step_ms + step_ms) % step_ms;  // floor
  const int64_t count = (until_ms - first + step_ms - 1) / step_ms;
  if (count > kMaxSeriesBuckets)
    return Error::make(Code::kInvalidArgument, "usage series: more than " +
                                                   std::to_string(kMaxSeriesBuckets) +
                                                   " buckets; use a larger step or a later start");
  std::vector<MinuteBucket> out(static_cast<size_t>(std::max<int64_t>(count, 0)));
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].function = function;
    out[i].minute_ms = first + int64_t(i) * step_ms;
  }
  if (out.empty()) return out;
  auto db = open_db(data_dir);
  if (!db) return db.error();
  sqlite3_stmt* q = nullptr;
  // Two statements rather than "(?3 = '' OR function = ?3)", so that one function's query
  // walks the (function, ts_ms) index instead of every function's rows in the range.
  const std::string sql = std::string(
                              "SELECT ts_ms, duration_us, billed_ms, memory_mb, cost_pico, status,"
                              " init_us FROM usage WHERE ts_ms >= ?1 AND ts_ms < ?2") +
                          (function.empty() ? "" : " AND function = ?3");
  sqlite3_prepare_v2(*db, sql.c_str(), -1, &q, nullptr);
  sqlite3_bind_int64(q, 1, first);
  sqlite3_bind_int64(q, 2, until_ms);
  if (!function.empty()) sqlite3_bind_text(q, 3, function.c_str(), -1, SQLITE_TRANSIENT);
  std::vector<std::vector<int64_t>> durations(out.size());
  while (sqlite3_step(q) == SQLITE_ROW) {
    const auto i = static_cast<size_t>((sqlite3_column_int64(q, 0) - first) / step_ms);
    if (i >= out.size()) continue;
    auto& b = out[i];
    b.invocations++;
    durations[i].push_back(sqlite3_column_int64(q, 1));
    b.gb_ms_x1024 += sqlite3_column_int64(q, 2) * sqlite3_column_int64(q, 3);
    b.cost_pico += sqlite3_column_int64(q, 4);
    if (std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(q, 5))) != "ok")
      b.errors++;
    if (sqlite3_column_int64(q, 6) > 0) b.cold_starts++;
  }
  sqlite3_finalize(q);
  sqlite3_close(*db);
  for (size_t i = 0; i < out.size(); ++i) {
    auto& d = durations[i];
    if (d.empty()) continue;
    std::sort(d.begin(), d.end());
    out[i].p50_duration_us = percentile(d, 50);
    out[i].p95_duration_us = percentile(d, 95);
    out[i].p99_duration_us = percentile(d, 99);
    out[i].max_duration_us = d.back();
  }
  return out;
}

Result<std::vector<UsageRecord>> recent_usage(const std::string& data_dir,
                                              const std::string& function, int limit) {
  auto db = open_db(data_dir);
  if (!db) return db.error();
  sqlite3_stmt* q = nullptr;
  const std::string sql =
      std::string(
          "SELECT ts_ms, function, version, request_id, arch, memory_mb, duration_us, billed_ms,"
          " init_us, max_memory_mb, status, cost_pico, request_pico FROM usage") +
      (function.empty() ? "" : " WHERE function = ?2") + " ORDER BY ts_ms DESC LIMIT ?1";
  sqlite3_prepare_v2(*db, sql.c_str(), -1, &q, nullptr);
  sqlite3_bind_int(q, 1, std::max(0, limit));
  if (!function.empty()) sqlite3_bind_text(q, 2, function.c_str(), -1, SQLITE_TRANSIENT);
  auto text = [q](int col) {
    const auto* t = sqlite3_column_text(q, col);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  };
  std::vector<UsageRecord> out;
  while (sqlite3_step(q) == SQLITE_ROW) {
    UsageRecord r;
    r.timestamp_ms = sqlite3_column_int64(q, 0);
    r.function = text(1);
    r.version = text(2);
    r.request_id = text(3);
    r.arch = text(4);
    r.memory_mb = sqlite3_column_int(q, 5);
    r.duration_us = sqlite3_column_int64(q, 6);
    r.billed_ms = sqlite3_column_int64(q, 7);
    r.init_us = sqlite3_column_int64(q, 8);
    r.max_memory_used_mb = sqlite3_column_int(q, 9);
    r.status = text(10);
    r.cost_pico = sqlite3_column_int64(q, 11);
    r.request_pico = sqlite3_column_int64(q, 12);
    out.push_back(std::move(r));
  }
  sqlite3_finalize(q);
  sqlite3_close(*db);
  return out;
}

Result<int64_t> usage_row_count(const std::string& data_dir) {
  auto db = open_db(data_dir);
  if (!db) return db.error();
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(*db, "SELECT COUNT(*) FROM usage", -1, &q, nullptr);
  int64_t n = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
  sqlite3_finalize(q);
  sqlite3_close(*db);
  return n;
}

}  // namespace lambdad::metering
