// The registry: lambdad's durable state (functions; later versions, aliases, queue).
// Registry is an interface so a cluster backend (etcd) can replace the SQLite one.
// Thread rules: every method is safe to call from any thread concurrently; calls block
// (SQLite), so never call them from the invoke hot path -- go through the invoker's cache.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace lambdad::registry {

// One function's stored configuration ($LATEST). Field names follow botocore's
// FunctionConfiguration; the control API renders them.
struct FunctionRecord {
  std::string name;
  std::string runtime;  // "provided.al2023", "nodejs20.x", ...
  std::string handler;
  std::string role;
  std::string description;
  int memory_mb = 128;
  int timeout_s = 3;
  int ephemeral_mb = 512;
  std::string architecture = "x86_64";  // or "arm64"
  std::map<std::string, std::string> environment;
  std::map<std::string, std::string> tags;
  std::string code_sha256;    // base64 of SHA-256 of the zip, as Lambda reports it
  int64_t code_size = 0;      // zip bytes
  std::string package_id;     // hex SHA-256: the package store key
  std::string last_modified;  // lambda_timestamp_now() format
  std::string revision_id;    // uuid4, changes on every write
  int64_t generation = 0;     // bumps on every code/config change; drains warm environments
  // "$LATEST" for the live record; "1", "2", ... for a published (immutable) version.
  std::string version = "$LATEST";
};

// A named pointer to a version, optionally splitting traffic with a second version.
struct AliasRecord {
  std::string function;  // unqualified function name
  std::string name;      // alias name
  std::string function_version;
  std::string description;
  std::map<std::string, double> additional_weights;  // version -> weight in [0, 1]
  std::string revision_id;
};

// A function URL (issue #6). One per (function, qualifier); the url-id is the host label.
struct FunctionUrlRecord {
  std::string function;            // unqualified function name
  std::string qualifier;           // "" for the unqualified function, else an alias name
  std::string url_id;              // 32 lower-case alphanumerics
  std::string auth_type = "NONE";  // or "AWS_IAM"
  std::string cors;                // the Cors object as JSON text; "" when none
  std::string invoke_mode = "BUFFERED";
  std::string creation_time;  // "2021-10-27T20:14:02.123456Z"
  std::string last_modified_time;
};

// One HTTP route from a SAM template's HttpApi/Api event (lambdad's own, not a Lambda API).
struct HttpRoute {
  std::string method;                   // "GET", ..., or "ANY"
  std::string path;                     // "/items/{id}", "/{proxy+}"
  std::string payload_version = "2.0";  // "2.0" (HttpApi) or "1.0" (Api: REST proxy event)
};

struct ListPage {
  std::vector<FunctionRecord> functions;  // sorted by name
  std::optional<std::string> next_marker;
};

class Registry {
 public:
  virtual ~Registry() = default;

  // kConflict when the name exists.
  virtual Result<void> create(const FunctionRecord& fn) = 0;
  // kNotFound when absent.
  virtual Result<FunctionRecord> get(const std::string& name) = 0;
  // Names after `marker` (exclusive, "" = from the start), at most max_items.
  virtual Result<ListPage> list(const std::string& marker, int max_items) = 0;
  // Replaces the stored record. kNotFound when absent; kConflict with a context starting
  // with kPreconditionFailedPrefix (see is_precondition_failed) when expected_revision is set
  // and differs from the stored one.
  // create() and update() store fn as given; an empty revision_id or last_modified is
  // filled with uuid4() / lambda_timestamp_now(). Callers set a fresh revision_id per write.
  virtual Result<void> update(const FunctionRecord& fn,
                              const std::optional<std::string>& expected_revision) = 0;
  // kNotFound when absent.
  virtual Result<void> remove(const std::string& name) = 0;
  // Every package_id some function references (for package GC).
  virtual Result<std::vector<std::string>> referenced_packages() = 0;

  // ---- versions, aliases, reserved concurrency (issue #6). The defaults describe a registry
  // without them (test fakes): reads find nothing, writes answer kUnavailable. remove()
  // drops all of them with the function.

  // Stores `snapshot` (a copy of $LATEST) as the next version number of its function:
  // numbers start at 1 and are never reused while the function exists. Returns the stored
  // record with `version` set. kNotFound when the function is absent.
  virtual Result<FunctionRecord> publish_version(const FunctionRecord& snapshot);
  // kNotFound when absent.
  virtual Result<FunctionRecord> get_version(const std::string& name, const std::string& version);
  // Published versions in ascending number order (without $LATEST).
  virtual Result<std::vector<FunctionRecord>> list_versions(const std::string& name);
  // kNotFound when absent.
  virtual Result<void> remove_version(const std::string& name, const std::string& version);

  // kConflict when the alias exists.
  virtual Result<void> create_alias(const AliasRecord& alias);
  virtual Result<AliasRecord> get_alias(const std::string& function, const std::string& name);
  // Sorted by alias name.
  virtual Result<std::vector<AliasRecord>> list_aliases(const std::string& function);
  // Precondition failure as update() reports it.
  virtual Result<void> update_alias(const AliasRecord& alias,
                                    const std::optional<std::string>& expected_revision);
  virtual Result<void> remove_alias(const std::string& function, const std::string& name);

  // nullopt clears the reservation.
  virtual Result<void> set_reserved_concurrency(const std::string& name, std::optional<int> n);
  virtual Result<std::optional<int>> reserved_concurrency(const std::string& name);
  // Every function's reservation.
  virtual Result<std::map<std::string, int>> reserved_concurrencies();

  // ---- function URLs and HTTP routes (issue #6). Defaults as above; remove() drops them.

  // kConflict when the (function, qualifier) pair has one.
  virtual Result<void> create_function_url(const FunctionUrlRecord& url);
  // kNotFound when absent.
  virtual Result<FunctionUrlRecord> get_function_url(const std::string& function,
                                                     const std::string& qualifier);
  // One function's URLs ("" = every function's), ordered by function then qualifier.
  virtual Result<std::vector<FunctionUrlRecord>> list_function_urls(const std::string& function);
  // Replaces the stored record; kNotFound when absent.
  virtual Result<void> update_function_url(const FunctionUrlRecord& url);
  // kNotFound when absent.
  virtual Result<void> remove_function_url(const std::string& function,
                                           const std::string& qualifier);

  // Replaces a function's routes (empty: removes them).
  virtual Result<void> set_http_routes(const std::string& function,
                                       const std::vector<HttpRoute>& routes);
  // Every function's routes.
  virtual Result<std::map<std::string, std::vector<HttpRoute>>> http_routes();
};

// An update() whose expected_revision did not match fails with Code::kConflict and a context
// starting with this prefix, so the API answers 412 PreconditionFailedException rather than
// 409. The rest of the context is Lambda's message.
inline constexpr std::string_view kPreconditionFailedPrefix = "PreconditionFailed: ";
inline bool is_precondition_failed(const Error& e) {
  return e.code == Code::kConflict && e.context.starts_with(kPreconditionFailedPrefix);
}

// Opens (creating and migrating) <data_dir>/registry.db in WAL mode.
Result<std::unique_ptr<Registry>> open_sqlite_registry(const std::string& data_dir);

}  // namespace lambdad::registry
