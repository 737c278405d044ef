// SQLite (WAL) implementation of Registry. One connection, guarded by mu_: SQLite calls
// block, and the registry is off the invoke hot path, so one writer at a time is enough.
#include <sqlite3.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cerrno>
#include <filesystem>
#include <initializer_list>
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
    // 2: versions (immutable snapshots), the per-function version counter (numbers are never
    // reused while the function exists), aliases, reserved concurrency.
    R"sql(
CREATE TABLE versions (
  name       TEXT NOT NULL,
  version    INTEGER NOT NULL,
  package_id TEXT NOT NULL,
  record     TEXT NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
CREATE TABLE version_counters (
  name TEXT PRIMARY KEY NOT NULL,
  last INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE aliases (
  function    TEXT NOT NULL,
  name        TEXT NOT NULL,
  revision_id TEXT NOT NULL,
  record      TEXT NOT NULL,
  PRIMARY KEY (function, name)
) WITHOUT ROWID;
CREATE TABLE concurrency (
  name     TEXT PRIMARY KEY NOT NULL,
  reserved INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 3: function URLs (one per function and qualifier, url_id unique) and the HTTP routes
    // `lambdad deploy` sends from SAM HttpApi/Api events (JSON list per function).
    R"sql(
CREATE TABLE function_urls (
  function  TEXT NOT NULL,
  qualifier TEXT NOT NULL,
  url_id    TEXT NOT NULL UNIQUE,
  record    TEXT NOT NULL,
  PRIMARY KEY (function, qualifier)
) WITHOUT ROWID;
CREATE TABLE http_routes (
  function TEXT PRIMARY KEY NOT NULL,
  routes   TEXT NOT NULL
) WITHOUT ROWID;
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
  o["version"] = fn.version;
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
  read_string(o, "version", fn.version);
  return fn;
}

std::string encode_alias(const AliasRecord& a) {
  json::object o;
  o["function"] = a.function;
  o["name"] = a.name;
  o["function_version"] = a.function_version;
  o["description"] = a.description;
  json::object w;
  for (const auto& [k, v] : a.additional_weights) w[k] = v;
  o["weights"] = std::move(w);
  o["revision_id"] = a.revision_id;
  return json::serialize(o);
}

Result<AliasRecord> decode_alias(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Error::make(Code::kInternal, "registry: corrupt alias record");
  const json::object& o = v.get_object();
  AliasRecord a;
  read_string(o, "function", a.function);
  read_string(o, "name", a.name);
  read_string(o, "function_version", a.function_version);
  read_string(o, "description", a.description);
  read_string(o, "revision_id", a.revision_id);
  if (const auto* w = o.if_contains("weights"); w && w->is_object())
    for (const auto& [k, val] : w->get_object())
      if (val.is_number()) a.additional_weights[std::string(k)] = val.to_number<double>();
  return a;
}

std::string encode_url(const FunctionUrlRecord& u) {
  json::object o;
  o["function"] = u.function;
  o["qualifier"] = u.qualifier;
  o["url_id"] = u.url_id;
  o["auth_type"] = u.auth_type;
  o["cors"] = u.cors;
  o["invoke_mode"] = u.invoke_mode;
  o["creation_time"] = u.creation_time;
  o["last_modified_time"] = u.last_modified_time;
  return json::serialize(o);
}

Result<FunctionUrlRecord> decode_url(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Error::make(Code::kInternal, "registry: corrupt URL record");
  const json::object& o = v.get_object();
  FunctionUrlRecord u;
  read_string(o, "function", u.function);
  read_string(o, "qualifier", u.qualifier);
  read_string(o, "url_id", u.url_id);
  read_string(o, "auth_type", u.auth_type);
  read_string(o, "cors", u.cors);
  read_string(o, "invoke_mode", u.invoke_mode);
  read_string(o, "creation_time", u.creation_time);
  read_string(o, "last_modified_time", u.last_modified_time);
  return u;
}

std::string encode_routes(const std::vector<HttpRoute>& routes) {
  json::array a;
  for (const auto& r : routes)
    a.push_back(json::object{
        {"method", r.method}, {"path", r.path}, {"payload_version", r.payload_version}});
  return json::serialize(a);
}

std::vector<HttpRoute> decode_routes(std::string_view text) {
  std::vector<HttpRoute> out;
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& item : v.get_array()) {
    if (!item.is_object()) continue;
    HttpRoute r;
    read_string(item.get_object(), "method", r.method);
    read_string(item.get_object(), "path", r.path);
    read_string(item.get_object(), "payload_version", r.payload_version);
    out.push_back(std::move(r));
  }
  return out;
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
    stmt.value().reset();
    // Versions, the counter, aliases and the reservation go with the function.
    for (const char* sql :
         {"DELETE FROM versions WHERE name = ?1", "DELETE FROM version_counters WHERE name = ?1",
          "DELETE FROM aliases WHERE function = ?1", "DELETE FROM concurrency WHERE name = ?1",
          "DELETE FROM function_urls WHERE function = ?1",
          "DELETE FROM http_routes WHERE function = ?1"}) {
      if (auto r = run(sql, {name}); !r.ok()) return r;
    }
    return ok();
  }

  Result<FunctionRecord> publish_version(const FunctionRecord& snapshot) override {
    std::lock_guard lock(mu_);
    Transaction tx(db_.get());
    if (auto r = tx.begin(); !r.ok()) return r.error();
    {
      auto sel = prepare("SELECT 1 FROM functions WHERE name = ?1");
      if (!sel.ok()) return sel.error();
      bind(sel->get(), {snapshot.name});
      if (sqlite3_step(sel->get()) != SQLITE_ROW) return not_found(snapshot.name);
    }
    int64_t last = 0;
    {
      auto sel = prepare("SELECT last FROM version_counters WHERE name = ?1");
      if (!sel.ok()) return sel.error();
      bind(sel->get(), {snapshot.name});
      if (sqlite3_step(sel->get()) == SQLITE_ROW) last = sqlite3_column_int64(sel->get(), 0);
    }
    FunctionRecord rec = with_defaults(snapshot);
    rec.version = std::to_string(last + 1);
    if (auto r = run("INSERT INTO version_counters(name, last) VALUES(?1, ?2) "
                     "ON CONFLICT(name) DO UPDATE SET last = excluded.last",
                     {rec.name, rec.version});
        !r.ok())
      return r.error();
    if (auto r = run("INSERT INTO versions(name, version, package_id, record) "
                     "VALUES(?1, CAST(?2 AS INTEGER), ?3, ?4)",
                     {rec.name, rec.version, rec.package_id, encode(rec)});
        !r.ok())
      return r.error();
    if (auto r = tx.commit(); !r.ok()) return r.error();
    return rec;
  }

  Result<FunctionRecord> get_version(const std::string& name, const std::string& version) override {
    std::lock_guard lock(mu_);
    auto sel = prepare(
        "SELECT record FROM versions WHERE name = ?1 AND version = CAST(?2 AS "
        "INTEGER) AND CAST(version AS TEXT) = ?2");
    if (!sel.ok()) return sel.error();
    bind(sel->get(), {name, version});
    const int rc = sqlite3_step(sel->get());
    if (rc == SQLITE_DONE) return not_found(name + ":" + version);
    if (rc != SQLITE_ROW) return db_error(db_.get(), "select version");
    return decode(column_text(sel->get(), 0));
  }

  Result<std::vector<FunctionRecord>> list_versions(const std::string& name) override {
    std::lock_guard lock(mu_);
    auto sel = prepare("SELECT record FROM versions WHERE name = ?1 ORDER BY version");
    if (!sel.ok()) return sel.error();
    bind(sel->get(), {name});
    std::vector<FunctionRecord> out;
    int rc;
    while ((rc = sqlite3_step(sel->get())) == SQLITE_ROW) {
      auto fn = decode(column_text(sel->get(), 0));
      if (!fn.ok()) return fn.error();
      out.push_back(std::move(*fn));
    }
    if (rc != SQLITE_DONE) return db_error(db_.get(), "list versions");
    return out;
  }

  Result<void> remove_version(const std::string& name, const std::string& version) override {
    std::lock_guard lock(mu_);
    if (auto r = run("DELETE FROM versions WHERE name = ?1 AND version = CAST(?2 AS INTEGER) AND "
                     "CAST(version AS TEXT) = ?2",
                     {name, version});
        !r.ok())
      return r;
    if (sqlite3_changes(db_.get()) == 0) return not_found(name + ":" + version);
    return ok();
  }

  Result<void> create_alias(const AliasRecord& alias) override {
    AliasRecord a = alias;
    if (a.revision_id.empty()) a.revision_id = uuid4();
    std::lock_guard lock(mu_);
    if (auto r = run("INSERT INTO aliases(function, name, revision_id, record) VALUES(?1, ?2, ?3, "
                     "?4) ON CONFLICT(function, name) DO NOTHING",
                     {a.function, a.name, a.revision_id, encode_alias(a)});
        !r.ok())
      return r;
    if (sqlite3_changes(db_.get()) == 0)
      return Error::make(Code::kConflict, "Alias already exists: " + a.name);
    return ok();
  }

  Result<AliasRecord> get_alias(const std::string& function, const std::string& name) override {
    std::lock_guard lock(mu_);
    auto sel = prepare("SELECT record FROM aliases WHERE function = ?1 AND name = ?2");
    if (!sel.ok()) return sel.error();
    bind(sel->get(), {function, name});
    const int rc = sqlite3_step(sel->get());
    if (rc == SQLITE_DONE) return Error::make(Code::kNotFound, "Alias not found: " + name);
    if (rc != SQLITE_ROW) return db_error(db_.get(), "select alias");
    return decode_alias(column_text(sel->get(), 0));
  }

  Result<std::vector<AliasRecord>> list_aliases(const std::string& function) override {
    std::lock_guard lock(mu_);
    auto sel = prepare("SELECT record FROM aliases WHERE function = ?1 ORDER BY name");
    if (!sel.ok()) return sel.error();
    bind(sel->get(), {function});
    std::vector<AliasRecord> out;
    int rc;
    while ((rc = sqlite3_step(sel->get())) == SQLITE_ROW) {
      auto a = decode_alias(column_text(sel->get(), 0));
      if (!a.ok()) return a.error();
      out.push_back(std::move(*a));
    }
    if (rc != SQLITE_DONE) return db_error(db_.get(), "list aliases");
    return out;
  }

  Result<void> update_alias(const AliasRecord& alias,
                            const std::optional<std::string>& expected_revision) override {
    AliasRecord a = alias;
    if (a.revision_id.empty()) a.revision_id = uuid4();
    std::lock_guard lock(mu_);
    Transaction tx(db_.get());
    if (auto r = tx.begin(); !r.ok()) return r;
    {
      auto sel = prepare("SELECT revision_id FROM aliases WHERE function = ?1 AND name = ?2");
      if (!sel.ok()) return sel.error();
      bind(sel->get(), {a.function, a.name});
      const int rc = sqlite3_step(sel->get());
      if (rc == SQLITE_DONE) return Error::make(Code::kNotFound, "Alias not found: " + a.name);
      if (rc != SQLITE_ROW) return db_error(db_.get(), "select alias");
      if (expected_revision && *expected_revision != column_text(sel->get(), 0))
        return Error::make(Code::kConflict,
                           std::string(kPreconditionFailedPrefix) +
                               "The Revision Id provided does not match the latest Revision Id. "
                               "Call the GetFunction/GetAlias API to retrieve the latest "
                               "Revision Id");
    }
    if (auto r = run("UPDATE aliases SET revision_id = ?3, record = ?4 WHERE function = ?1 AND "
                     "name = ?2",
                     {a.function, a.name, a.revision_id, encode_alias(a)});
        !r.ok())
      return r;
    return tx.commit();
  }

  Result<void> remove_alias(const std::string& function, const std::string& name) override {
    std::lock_guard lock(mu_);
    if (auto r = run("DELETE FROM aliases WHERE function = ?1 AND name = ?2", {function, name});
        !r.ok())
      return r;
    if (sqlite3_changes(db_.get()) == 0)
      return Error::make(Code::kNotFound, "Alias not found: " + name);
    return ok();
  }

  Result<void> set_reserved_concurrency(const std::string& name, std::optional<int> n) override {
    std::lock_guard lock(mu_);
    if (!n) return run("DELETE FROM concurrency WHERE name = ?1", {name});
    return run(
        "INSERT INTO concurrency(name, reserved) VALUES(?1, CAST(?2 AS INTEGER)) "
        "ON CONFLICT(name) DO UPDATE SET reserved = excluded.reserved",
        {name, std::to_string(*n)});
  }

  Result<std::optional<int>> reserved_concurrency(const std::string& name) override {
    std::lock_guard lock(mu_);
    auto sel = prepare("SELECT reserved FROM concurrency WHERE name = ?1");
    if (!sel.ok()) return sel.error();
    bind(sel->get(), {name});
    const int rc = sqlite3_step(sel->get());
    if (rc == SQLITE_DONE) return std::optional<int>();
    if (rc != SQLITE_ROW) return db_error(db_.get(), "select concurrency");
    return std::optional<int>(sqlite3_column_int(sel->get(), 0));
  }

  Result<std::map<std::string, int>> reserved_concurrencies() override {
    std::lock_guard lock(mu_);
    auto sel = prepare("SELECT name, reserved FROM concurrency");
    if (!sel.ok()) return sel.error();
    std::map<std::string, int> out;
    int rc;
    while ((rc = sqlite3_step(sel->get())) == SQLITE_ROW)
      out[column_text(sel->get(), 0)] = sqlite3_column_int(sel->get(), 1);
    if (rc != SQLITE_DONE) return db_error(db_.get(), "list concurrency");
    return out;
  }

  Result<void> create_function_url(const FunctionUrlRecord& u) override {
    std::lock_guard lock(mu_);
    if (auto r = run("INSERT INTO function_urls(function, qualifier, url_id, record) "
                     "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(function, qualifier) DO NOTHING",
                     {u.function, u.qualifier, u.url_id, encode_url(u)});
        !r.ok())
      return r;
    if (sqlite3_changes(db_.get()) == 0)
      return Error::make(Code::kConflict, "Function URL already exists: " + u.function);
    return ok();
  }

  Result<FunctionUrlRecord> get_function_url(const std::string& function,
                                             const std::string& qualifier) override {
    std::lock_guard lock(mu_);
    auto sel = prepare("SELECT record FROM function_urls WHERE function = ?1 AND qualifier = ?2");
    if (!sel.ok()) return sel.error();
    bind(sel->get(), {function, qualifier});
    const int rc = sqlite3_step(sel->get());
    if (rc == SQLITE_DONE)
      return Error::make(Code::kNotFound, "Function URL not found: " + function);
    if (rc != SQLITE_ROW) return db_error(db_.get(), "select function url");
    return decode_url(column_text(sel->get(), 0));
  }

  Result<std::vector<FunctionUrlRecord>> list_function_urls(const std::string& function) override {
    std::lock_guard lock(mu_);
    auto sel = prepare(
        "SELECT record FROM function_urls WHERE ?1 = '' OR function = ?1 ORDER BY function, "
        "qualifier");
    if (!sel.ok()) return sel.error();
    bind(sel->get(), {function});
    std::vector<FunctionUrlRecord> out;
    int rc;
    while ((rc = sqlite3_step(sel->get())) == SQLITE_ROW) {
      auto u = decode_url(column_text(sel->get(), 0));
      if (!u.ok()) return u.error();
      out.push_back(std::move(*u));
    }
    if (rc != SQLITE_DONE) return db_error(db_.get(), "list function urls");
    return out;
  }

  Result<void> update_function_url(const FunctionUrlRecord& u) override {
    std::lock_guard lock(mu_);
    if (auto r = run("UPDATE function_urls SET record = ?3 WHERE function = ?1 AND qualifier = ?2",
                     {u.function, u.qualifier, encode_url(u)});
        !r.ok())
      return r;
    if (sqlite3_changes(db_.get()) == 0)
      return Error::make(Code::kNotFound, "Function URL not found: " + u.function);
    return ok();
  }

  Result<void> remove_function_url(const std::string& function,
                                   const std::string& qualifier) override {
    std::lock_guard lock(mu_);
    if (auto r = run("DELETE FROM function_urls WHERE function = ?1 AND qualifier = ?2",
                     {function, qualifier});
        !r.ok())
      return r;
    if (sqlite3_changes(db_.get()) == 0)
      return Error::make(Code::kNotFound, "Function URL not found: " + function);
    return ok();
  }

  Result<void> set_http_routes(const std::string& function,
                               const std::vector<HttpRoute>& routes) override {
    std::lock_guard lock(mu_);
    if (routes.empty()) return run("DELETE FROM http_routes WHERE function = ?1", {function});
    return run(
        "INSERT INTO http_routes(function, routes) VALUES(?1, ?2) "
        "ON CONFLICT(function) DO UPDATE SET routes = excluded.routes",
        {function, encode_routes(routes)});
  }

  Result<std::map<std::string, std::vector<HttpRoute>>> http_routes() override {
    std::lock_guard lock(mu_);
    auto sel = prepare("SELECT function, routes FROM http_routes ORDER BY function");
    if (!sel.ok()) return sel.error();
    std::map<std::string, std::vector<HttpRoute>> out;
    int rc;
    while ((rc = sqlite3_step(sel->get())) == SQLITE_ROW)
      out[column_text(sel->get(), 0)] = decode_routes(column_text(sel->get(), 1));
    if (rc != SQLITE_DONE) return db_error(db_.get(), "list http routes");
    return out;
  }

  Result<std::vector<std::string>> referenced_packages() override {
    std::lock_guard lock(mu_);
    auto stmt = prepare(
        "SELECT package_id FROM functions WHERE package_id <> '' UNION SELECT package_id FROM "
        "versions WHERE package_id <> '' ORDER BY package_id");
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

  static void bind(sqlite3_stmt* s, std::initializer_list<std::string_view> values) {
    int i = 1;
    for (std::string_view v : values)
      sqlite3_bind_text(s, i++, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }

  // Prepares, binds text parameters ?1.., steps once (no rows expected).
  Result<void> run(const char* sql, std::initializer_list<std::string_view> values) {
    auto stmt = prepare(sql);
    if (!stmt.ok()) return stmt.error();
    bind(stmt->get(), values);
    if (sqlite3_step(stmt->get()) != SQLITE_DONE) return db_error(db_.get(), sql);
    return ok();
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
