// SQLite (WAL) implementation of Registry. One connection, guarded by mu_: SQLite calls
// block, and the registry is off the invoke hot path, so one writer at a time is enough.
#include <sqlite3.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "registry/registry.h"

namespace lambdad::registry {
namespace {

namespace json = boost::json;

// Lambda's ListFunctions default page size; MaxItems is 1..10000.
constexpr int kDefaultMaxItems = 50;
constexpr int kMaxMaxItems = 10000;
constexpr int kBusyTimeoutMs = 5000;

// Each entry migrates user_version i to i+1. Append only; never edit a shipped step.
// The record is one JSON document so new FunctionRecord fields need no migration;
// name, package_id and revision_id are columns because we query or compare them.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE functions (
  name        TEXT PRIMARY KEY NOT NULL,
  revision_id TEXT NOT NULL,
  package_id  TEXT NOT NULL,
  record      TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX functions_package_id ON functions(package_id);
)sql",
};

json::object to_json_map(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

std::string encode(const FunctionRecord& fn) {
  json::object o;
  o["name"] = fn.name;
  o["runtime"] = fn.runtime;
  o["handler"] = fn.handler;
  o["role"] = fn.role;
  o["description"] = fn.description;
  o["memory_mb"] = fn.memory_mb;
  o["timeout_s"] = fn.timeout_s;
  o["ephemeral_mb"] = fn.ephemeral_mb;
  o["architecture"] = fn.architecture;
  o["environment"] = to_json_map(fn.environment);
  o["tags"] = to_json_map(fn.tags);
  o["code_sha256"] = fn.code_sha256;
  o["code_size"] = fn.code_size;
  o["package_id"] = fn.package_id;
  o["last_modified"] = fn.last_modified;
  o["revision_id"] = fn.revision_id;
  o["generation"] = fn.generation;
  return json::serialize(o);
}

// Missing or mistyped members keep FunctionRecord's defaults, so rows written by an older
// build still decode.
void read_string(const json::object& o, const char* key, std::string& out) {
  if (const auto* v = o.if_contains(key); v && v->is_string()) out = std::string(v->get_string());
}
template <class Int>
void read_int(const json::object& o, const char* key, Int& out) {
  if (const auto* v = o.if_contains(key)) {
    if (v->is_int64()) out = static_cast<Int>(v->get_int64());
    if (v->is_uint64()) out = static_cast<Int>(v->get_uint64());
  }
}
void read_map(const json::object& o, const char* key, std::map<std::string, std::string>& out) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_object()) return;
  for (const auto& [k, val] : v->get_object()) {
    if (val.is_string()) out[std::string(k)] = std::string(val.get_string());
  }
}

Result<FunctionRecord> decode(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return Error::make(Code::kInternal, "registry: corrupt function record: " + ec.message());
  }
  const json::object& o = v.get_object();
  FunctionRecord fn;
  read_string(o, "name", fn.name);
  read_string(o, "runtime", fn.runtime);
  read_string(o, "handler", fn.handler);
  read_string(o, "role", fn.role);
  read_string(o, "description", fn.description);
  read_int(o, "memory_mb", fn.memory_mb);
  read_int(o, "timeout_s", fn.timeout_s);
  read_int(o, "ephemeral_mb", fn.ephemeral_mb);
  read_string(o, "architecture", fn.architecture);
  read_map(o, "environment", fn.environment);
  read_map(o, "tags", fn.tags);
  read_string(o, "code_sha256", fn.code_sha256);
  read_int(o, "code_size", fn.code_size);
  read_string(o, "package_id", fn.package_id);
  read_string(o, "last_modified", fn.last_modified);
  read_string(o, "revision_id", fn.revision_id);
  read_int(o, "generation", fn.generation);
  return fn;
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Error db_error(sqlite3* db, const std::string& what) {
  return Error::make(Code::kInternal, "registry: " + what + ": " + sqlite3_errmsg(db));
}

Result<void> exec(sqlite3* db, const char* sql, const std::string& what) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg ? msg : sqlite3_errmsg(db);
    sqlite3_free(msg);
    return Error::make(Code::kInternal, "registry: " + what + ": " + text);
  }
  return ok();
}

std::string column_text(sqlite3_stmt* s, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, col))) : std::string();
}

// Rolls back unless commit() succeeded; keeps every early return from leaving a transaction
// open on the shared connection.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  ~Transaction() {
    if (open_) (void)exec(db_, "ROLLBACK", "rollback");
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Result<void> begin() {
    // IMMEDIATE takes the write lock now, so a read-then-write cannot hit SQLITE_BUSY
    // half-way when another process shares the file.
    auto r = exec(db_, "BEGIN IMMEDIATE", "begin transaction");
    open_ = r.ok();
    return r;
  }
  Result<void> commit() {
    auto r = exec(db_, "COMMIT", "commit");
    if (r.ok()) open_ = false;
    return r;
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

class SqliteRegistry final : public Registry {
 public:
  explicit SqliteRegistry(Db db) : db_(std::move(db)) {}

  Result<void> create(const FunctionRecord& fn) override {
    FunctionRecord rec = with_defaults(fn);
    std::lock_guard lock(mu_);
    auto stmt = prepare(
        "INSERT INTO functions(name, revision_id, package_id, record) VALUES(?1, ?2, ?3, ?4) "
        "ON CONFLICT(name) DO NOTHING");
    if (!stmt.ok()) return stmt.error();
    bind_record(stmt->get(), rec);
    if (sqlite3_step(stmt->get()) != SQLITE_DONE) return db_error(db_.get(), "insert " + fn.name);
    if (sqlite3_changes(db_.get()) == 0) {
      // Lambda's own wording, "exist" included.
      return Error::make(Code::kConflict, "Function already exist: " + fn.name);
    }
    return ok();
  }

  Result<FunctionRecord> get(const std::string& name) override {
    std::lock_guard lock(mu_);
    auto stmt = prepare("SELECT record FROM functions WHERE name = ?1");
    if (!stmt.ok()) return stmt.error();
    sqlite3_bind_text(stmt->get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
    const int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_DONE) return not_found(name);
    if (rc != SQLITE_ROW) return db_error(db_.get(), "select " + name);
    return decode(column_text(stmt->get(), 0));
  }

  Result<ListPage> list(const std::string& marker, int max_items) override {
    if (max_items <= 0) max_items = kDefaultMaxItems;
    if (max_items > kMaxMaxItems) max_items = kMaxMaxItems;
    std::lock_guard lock(mu_);
    // One extra row tells us whether another page exists.
    auto stmt = prepare("SELECT record FROM functions WHERE name > ?1 ORDER BY name LIMIT ?2");
    if (!stmt.ok()) return stmt.error();
    sqlite3_bind_text(stmt->get(), 1, marker.data(), static_cast<int>(marker.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int(stmt->get(), 2, max_items + 1);
    ListPage page;
    bool more = false;
    int rc;
    while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
      if (static_cast<int>(page.functions.size()) == max_items) {
        more = true;
        break;
      }
      auto fn = decode(column_text(stmt->get(), 0));
      if (!fn.ok()) return fn.error();
      page.functions.push_back(std::move(*fn));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(db_.get(), "list functions");
    if (more) page.next_marker = page.functions.back().name;
    return page;
  }

  Result<void> update(const FunctionRecord& fn,
                      const std::optional<std::string>& expected_revision) override {
    FunctionRecord rec = with_defaults(fn);
    std::lock_guard lock(mu_);
    Transaction tx(db_.get());
    if (auto r = tx.begin(); !r.ok()) return r;

    auto sel = prepare("SELECT revision_id FROM functions WHERE name = ?1");
    if (!sel.ok()) return sel.error();
    sqlite3_bind_text(sel->get(), 1, fn.name.data(), static_cast<int>(fn.name.size()),
                      SQLITE_TRANSIENT);
    const int rc = sqlite3_step(sel->get());
    if (rc == SQLITE_DONE) return not_found(fn.name);
    if (rc != SQLITE_ROW) return db_error(db_.get(), "select " + fn.name);
    if (expected_revision && *expected_revision != column_text(sel->get(), 0)) {
      return Error::make(Code::kConflict,
                         std::string(kPreconditionFailedPrefix) +
                             "The Revision Id provided does not match the latest Revision Id. "
                             "Call the GetFunction/GetAlias API to retrieve the latest "
                             "Revision Id");
    }
    sel.value().reset();

    auto upd = prepare(
        "UPDATE functions SET revision_id = ?2, package_id = ?3, record = ?4 WHERE name = ?1");
    if (!upd.ok()) return upd.error();
    bind_record(upd->get(), rec);
    if (sqlite3_step(upd->get()) != SQLITE_DONE) return db_error(db_.get(), "update " + fn.name);
    return tx.commit();
  }

  Result<void> remove(const std::string& name) override {
    std::lock_guard lock(mu_);
    auto stmt = prepare("DELETE FROM functions WHERE name = ?1");
    if (!stmt.ok()) return stmt.error();
    sqlite3_bind_text(stmt->get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(stmt->get()) != SQLITE_DONE) return db_error(db_.get(), "delete " + name);
    if (sqlite3_changes(db_.get()) == 0) return not_found(name);
    return ok();
  }

  Result<std::vector<std::string>> referenced_packages() override {
    std::lock_guard lock(mu_);
    auto stmt = prepare(
        "SELECT DISTINCT package_id FROM functions WHERE package_id <> '' ORDER BY package_id");
    if (!stmt.ok()) return stmt.error();
    std::vector<std::string> ids;
    int rc;
    while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
      ids.push_back(column_text(stmt->get(), 0));
    }
    if (rc != SQLITE_DONE) return db_error(db_.get(), "list package ids");
    return ids;
  }

 private:
  static FunctionRecord with_defaults(const FunctionRecord& fn) {
    FunctionRecord rec = fn;
    if (rec.revision_id.empty()) rec.revision_id = uuid4();
    if (rec.last_modified.empty()) rec.last_modified = lambda_timestamp_now();
    return rec;
  }

  static Error not_found(const std::string& name) {
    return Error::make(Code::kNotFound, "Function not found: " + name);
  }

  // Binds ?1 name, ?2 revision_id, ?3 package_id, ?4 record.
  static void bind_record(sqlite3_stmt* s, const FunctionRecord& rec) {
    const std::string doc = encode(rec);
    sqlite3_bind_text(s, 1, rec.name.data(), static_cast<int>(rec.name.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, rec.revision_id.data(), static_cast<int>(rec.revision_id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, rec.package_id.data(), static_cast<int>(rec.package_id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, doc.data(), static_cast<int>(doc.size()), SQLITE_TRANSIENT);
  }

  Result<Stmt> prepare(const char* sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr) != SQLITE_OK) {
      return db_error(db_.get(), std::string("prepare ") + sql);
    }
    return Stmt(raw);
  }

  std::mutex mu_;
  Db db_;  // GUARDED_BY(mu_)
};

Result<void> migrate(sqlite3* db) {
  constexpr int kLatest = static_cast<int>(std::size(kMigrations));
  // Another process may migrate at the same time; the IMMEDIATE transaction serialises us and
  // user_version is re-read inside it.
  Transaction tx(db);
  if (auto r = tx.begin(); !r.ok()) return r;
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &raw, nullptr) != SQLITE_OK) {
    return db_error(db, "read user_version");
  }
  Stmt stmt(raw);
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) return db_error(db, "read user_version");
  const int version = sqlite3_column_int(stmt.get(), 0);
  stmt.reset();
  if (version > kLatest) {
    return Error::make(Code::kInternal, "registry: schema version " + std::to_string(version) +
                                            " is newer than this build (" +
                                            std::to_string(kLatest) + "); upgrade lambdad");
  }
  for (int v = version; v < kLatest; ++v) {
    if (auto r = exec(db, kMigrations[v], "migrate schema to " + std::to_string(v + 1)); !r.ok()) {
      return r;
    }
    // PRAGMA takes no bound parameters.
    const std::string set = "PRAGMA user_version = " + std::to_string(v + 1);
    if (auto r = exec(db, set.c_str(), "set user_version"); !r.ok()) return r;
  }
  return tx.commit();
}

}  // namespace

Result<std::unique_ptr<Registry>> open_sqlite_registry(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return Error{Code::kInternal, ec.value(), "registry: create data dir " + data_dir};
  }
  const std::string path = (std::filesystem::path(data_dir) / "registry.db").string();
  sqlite3* raw = nullptr;
  // NOMUTEX: mu_ serialises every use of the connection.
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    return Error::make(Code::kInternal, "registry: open " + path + ": " +
                                            (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  if (auto r = exec(db.get(), "PRAGMA journal_mode = WAL", "enable WAL on " + path); !r.ok()) {
    return r.error();
  }
  // NORMAL is durable across application crashes in WAL mode; only a power loss can drop the
  // last commits, which is acceptable for a single-machine control plane.
  if (auto r = exec(db.get(), "PRAGMA synchronous = NORMAL", "set synchronous"); !r.ok()) {
    return r.error();
  }
  if (auto r = exec(db.get(), "PRAGMA foreign_keys = ON", "enable foreign keys"); !r.ok()) {
    return r.error();
  }
  if (auto r = migrate(db.get()); !r.ok()) return r.error();
  return std::unique_ptr<Registry>(std::make_unique<SqliteRegistry>(std::move(db)));
}

}  // namespace lambdad::registry
