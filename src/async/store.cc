#include "async/store.h"

#include <sqlite3.h>

namespace lambdad::async {

namespace {

Error sql_error(sqlite3* db, const std::string& what) {
  return Error::make(Code::kInternal, what + " in async.db: " + sqlite3_errmsg(db));
}

Result<void> exec(sqlite3* db, const char* sql, const std::string& what) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "unknown";
    sqlite3_free(msg);
    return Error::make(Code::kInternal, what + " in async.db: " + m);
  }
  return ok();
}

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    ok_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) == SQLITE_OK;
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return ok_; }
  sqlite3_stmt* get() { return s_; }
  void bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind_blob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind_opt(int i, const std::optional<int>& v) {
    if (v)
      sqlite3_bind_int64(s_, i, *v);
    else
      sqlite3_bind_null(s_, i);
  }
  std::string text(int i) {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, i))) : std::string();
  }
  int64_t integer(int i) { return sqlite3_column_int64(s_, i); }
  std::optional<int> opt(int i) {
    if (sqlite3_column_type(s_, i) == SQLITE_NULL) return std::nullopt;
    return static_cast<int>(sqlite3_column_int64(s_, i));
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  bool ok_ = false;
};

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id TEXT NOT NULL,
  function TEXT NOT NULL,
  qualifier TEXT NOT NULL,
  payload BLOB NOT NULL,
  attempts INTEGER NOT NULL,
  enqueued_ms INTEGER NOT NULL,
  next_ms INTEGER NOT NULL,
  started INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS event_invoke_configs (
  function TEXT NOT NULL,
  qualifier TEXT NOT NULL,
  max_retry_attempts INTEGER,
  max_event_age_s INTEGER,
  on_success TEXT NOT NULL,
  on_failure TEXT NOT NULL,
  last_modified_ms INTEGER NOT NULL,
  PRIMARY KEY (function, qualifier)
);
)";

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string& data_dir) {
  const std::string path = data_dir + "/async.db";
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Error::make(Code::kInternal, "open " + path + ": " + m);
  }
  std::unique_ptr<Store> store(new Store(db));
  // FULL: each (group) commit fsyncs the WAL, so an accepted event survives power loss too.
  if (auto r = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", "set WAL"); !r)
    return r.error();
  sqlite3_busy_timeout(db, 5000);
  if (auto r = exec(db, kSchema, "create schema"); !r) return r.error();
  return store;
}

Store::~Store() { sqlite3_close(db_); }

Result<void> Store::begin() { return exec(db_, "BEGIN IMMEDIATE", "begin"); }
Result<void> Store::commit() { return exec(db_, "COMMIT", "commit"); }
void Store::rollback() { (void)exec(db_, "ROLLBACK", "rollback"); }

Result<void> Store::insert(Event& e) {
  Stmt s(db_,
         "INSERT INTO events (request_id, function, qualifier, payload, attempts, enqueued_ms, "
         "next_ms) VALUES (?,?,?,?,?,?,?)");
  if (!s.ok()) return sql_error(db_, "prepare insert");
  s.bind(1, e.request_id);
  s.bind(2, e.function);
  s.bind(3, e.qualifier);
  s.bind_blob(4, e.payload);
  s.bind(5, static_cast<int64_t>(e.attempts));
  s.bind(6, e.enqueued_ms);
  s.bind(7, e.next_ms);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return sql_error(db_, "insert event");
  e.seq = sqlite3_last_insert_rowid(db_);
  return ok();
}

Result<void> Store::remove(int64_t seq) {
  Stmt s(db_, "DELETE FROM events WHERE seq = ?");
  if (!s.ok()) return sql_error(db_, "prepare delete");
  s.bind(1, seq);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return sql_error(db_, "delete event");
  return ok();
}

Result<void> Store::reschedule(int64_t seq, int attempts, int64_t next_ms) {
  Stmt s(db_, "UPDATE events SET attempts = ?, next_ms = ? WHERE seq = ?");
  if (!s.ok()) return sql_error(db_, "prepare update");
  s.bind(1, static_cast<int64_t>(attempts));
  s.bind(2, next_ms);
  s.bind(3, seq);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return sql_error(db_, "update event");
  return ok();
}

Result<void> Store::mark_started(int64_t seq) {
  Stmt s(db_, "UPDATE events SET started = 1 WHERE seq = ?");
  if (!s.ok()) return sql_error(db_, "prepare mark");
  s.bind(1, seq);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return sql_error(db_, "mark event started");
  return ok();
}

Result<std::vector<Event>> Store::read_after(int64_t after, int limit) {
  Stmt s(db_,
         "SELECT seq, request_id, function, qualifier, payload, attempts, enqueued_ms, next_ms, "
         "started "
         "FROM events WHERE seq > ? ORDER BY seq LIMIT ?");
  if (!s.ok()) return sql_error(db_, "prepare read");
  s.bind(1, after);
  s.bind(2, static_cast<int64_t>(limit));
  std::vector<Event> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    Event e;
    e.seq = s.integer(0);
    e.request_id = s.text(1);
    e.function = s.text(2);
    e.qualifier = s.text(3);
    e.payload = s.text(4);
    e.attempts = static_cast<int>(s.integer(5));
    e.enqueued_ms = s.integer(6);
    e.next_ms = s.integer(7);
    e.started = s.integer(8) != 0;
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return sql_error(db_, "read events");
  return out;
}

Result<int64_t> Store::max_seq() {
  // sqlite_sequence keeps the high-water mark even when the newest rows were deleted.
  Stmt s(db_, "SELECT seq FROM sqlite_sequence WHERE name = 'events'");
  if (!s.ok()) return sql_error(db_, "prepare max_seq");
  if (sqlite3_step(s.get()) == SQLITE_ROW) return s.integer(0);
  return int64_t{0};
}

Result<std::vector<FunctionDepth>> Store::depths() {
  Stmt s(db_, "SELECT function, count(*) FROM events GROUP BY function");
  if (!s.ok()) return sql_error(db_, "prepare depths");
  std::vector<FunctionDepth> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) out.push_back({s.text(0), s.integer(1)});
  return out;
}

Result<void> Store::put_config(const EventInvokeConfig& c) {
  Stmt s(db_,
         "INSERT OR REPLACE INTO event_invoke_configs (function, qualifier, max_retry_attempts, "
         "max_event_age_s, on_success, on_failure, last_modified_ms) VALUES (?,?,?,?,?,?,?)");
  if (!s.ok()) return sql_error(db_, "prepare put config");
  s.bind(1, c.function);
  s.bind(2, c.qualifier);
  s.bind_opt(3, c.max_retry_attempts);
  s.bind_opt(4, c.max_event_age_s);
  s.bind(5, c.on_success);
  s.bind(6, c.on_failure);
  s.bind(7, c.last_modified_ms);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return sql_error(db_, "put config");
  return ok();
}

Result<bool> Store::delete_config(const std::string& function, const std::string& qualifier) {
  Stmt s(db_, "DELETE FROM event_invoke_configs WHERE function = ? AND qualifier = ?");
  if (!s.ok()) return sql_error(db_, "prepare delete config");
  s.bind(1, function);
  s.bind(2, qualifier);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return sql_error(db_, "delete config");
  return sqlite3_changes(db_) > 0;
}

Result<std::vector<EventInvokeConfig>> Store::configs() {
  Stmt s(db_,
         "SELECT function, qualifier, max_retry_attempts, max_event_age_s, on_success, "
         "on_failure, last_modified_ms FROM event_invoke_configs ORDER BY function, qualifier");
  if (!s.ok()) return sql_error(db_, "prepare configs");
  std::vector<EventInvokeConfig> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    EventInvokeConfig c;
    c.function = s.text(0);
    c.qualifier = s.text(1);
    c.max_retry_attempts = s.opt(2);
    c.max_event_age_s = s.opt(3);
    c.on_success = s.text(4);
    c.on_failure = s.text(5);
    c.last_modified_ms = s.integer(6);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace lambdad::async
