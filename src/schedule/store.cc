#include "schedule/store.h"

#include <sqlite3.h>

namespace lambdad::schedule {

namespace {

Error sql_error(sqlite3* db, const std::string& what) {
  return Error::make(Code::kInternal, what + " in schedules.db: " + sqlite3_errmsg(db));
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
  void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind(int i, const std::optional<std::string>& v) {
    if (v)
      bind(i, *v);
    else
      sqlite3_bind_null(s_, i);
  }
  std::string text(int i) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, i))) : std::string();
  }
  std::optional<std::string> opt_text(int i) {
    if (sqlite3_column_type(s_, i) == SQLITE_NULL) return std::nullopt;
    return text(i);
  }
  int64_t integer(int i) { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3_stmt* s_ = nullptr;
  bool ok_ = false;
};

// Schema version 1 (PRAGMA user_version); later versions add steps after it.
constexpr const char* kSchemaV1 = R"(
CREATE TABLE IF NOT EXISTS schedules (
  name TEXT PRIMARY KEY,
  function TEXT NOT NULL,
  qualifier TEXT NOT NULL,
  expression TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  input TEXT,
  managed_by TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  last_fired_ms INTEGER NOT NULL DEFAULT 0
);
PRAGMA user_version = 1;
)";

Result<void> exec(sqlite3* db, const char* sql, const std::string& what) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "unknown";
    sqlite3_free(msg);
    return Error::make(Code::kInternal, what + " in schedules.db: " + m);
  }
  return ok();
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string& data_dir) {
  const std::string path = data_dir + "/schedules.db";
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Error::make(Code::kInternal, "open " + path + ": " + m);
  }
  std::unique_ptr<Store> store(new Store(db));
  // NORMAL: a schedule write that a power cut loses is the client's retry; the WAL keeps the
  // file consistent either way.
  if (auto r = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", "set WAL"); !r)
    return r.error();
  sqlite3_busy_timeout(db, 5000);
  int64_t version = 0;
  {
    Stmt s(db, "PRAGMA user_version");
    if (!s.ok() || sqlite3_step(s.get()) != SQLITE_ROW) return sql_error(db, "read user_version");
    version = s.integer(0);
  }
  if (version < 1) {
    if (auto r = exec(db, kSchemaV1, "create schema"); !r) return r.error();
  } else if (version > 1) {
    return Error::make(Code::kInternal, path + " has schema version " + std::to_string(version) +
                                            ", newer than this lambdad (1): upgrade lambdad");
  }
  return store;
}

Store::~Store() { sqlite3_close(db_); }

Result<void> Store::write(const Schedule& s, const char* verb) {
  const std::string sql =
      std::string(verb) +
      " INTO schedules (name, function, qualifier, expression, enabled, "
      "input, managed_by, created_ms, last_fired_ms) VALUES (?,?,?,?,?,?,?,?,?)";
  Stmt st(db_, sql.c_str());
  if (!st.ok()) return sql_error(db_, "prepare write");
  st.bind(1, s.name);
  st.bind(2, s.function);
  st.bind(3, s.qualifier);
  st.bind(4, s.expression);
  st.bind(5, int64_t{s.enabled ? 1 : 0});
  st.bind(6, s.input);
  st.bind(7, s.managed_by);
  st.bind(8, s.created_ms);
  st.bind(9, s.last_fired_ms);
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_CONSTRAINT)
    return Error::make(Code::kConflict, "Schedule already exists: " + s.name);
  if (rc != SQLITE_DONE) return sql_error(db_, "write schedule " + s.name);
  return ok();
}

Result<void> Store::insert(const Schedule& s) { return write(s, "INSERT"); }
Result<void> Store::upsert(const Schedule& s) { return write(s, "INSERT OR REPLACE"); }

Result<bool> Store::remove(const std::string& name) {
  Stmt s(db_, "DELETE FROM schedules WHERE name = ?");
  if (!s.ok()) return sql_error(db_, "prepare delete");
  s.bind(1, name);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return sql_error(db_, "delete schedule " + name);
  return sqlite3_changes(db_) > 0;
}

Result<void> Store::set_last_fired(const std::string& name, int64_t ms) {
  Stmt s(db_, "UPDATE schedules SET last_fired_ms = ? WHERE name = ?");
  if (!s.ok()) return sql_error(db_, "prepare update");
  s.bind(1, ms);
  s.bind(2, name);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return sql_error(db_, "update schedule " + name);
  return ok();
}

Result<std::vector<Schedule>> Store::all() {
  Stmt s(db_,
         "SELECT name, function, qualifier, expression, enabled, input, managed_by, created_ms, "
         "last_fired_ms FROM schedules ORDER BY name");
  if (!s.ok()) return sql_error(db_, "prepare read");
  std::vector<Schedule> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    Schedule x;
    x.name = s.text(0);
    x.function = s.text(1);
    x.qualifier = s.text(2);
    x.expression = s.text(3);
    x.enabled = s.integer(4) != 0;
    x.input = s.opt_text(5);
    x.managed_by = s.text(6);
    x.created_ms = s.integer(7);
    x.last_fired_ms = s.integer(8);
    out.push_back(std::move(x));
  }
  if (rc != SQLITE_DONE) return sql_error(db_, "read schedules");
  return out;
}

}  // namespace lambdad::schedule
