// The invoker: the heart of lambdad. Keeps, per function, a pool of execution
// environments (one bootstrap process + its own Runtime API endpoint each), hands an
// invocation to an idle one or starts a new one, enforces deadlines and concurrency
// limits, captures logs and writes START/END/REPORT, and records usage off the hot path.
// Thread rules: every method runs on the io thread that runs `io`, except
// post_upsert/post_remove which may be called from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "metering/billing.h"
#include "metering/log_sink.h"
#include "metering/metrics.h"
#include "metering/usage.h"
#include "registry/registry.h"
#include "sandbox/spawner.h"

namespace lambdad::invoke {

// Per-function network mode: the function tag `lambdad:network` = `host` | `isolated` (Lambda has
// no such field; a tag survives Get*/ListTags and any AWS client can set it). Without the tag,
// Options::default_network (`lambdad serve --network`). Changing it drains the function's
// environments like a configuration update.
inline constexpr const char* kNetworkTag = "lambdad:network";
// nullopt when `value` is neither "host" nor "isolated".
std::optional<sandbox::Network> parse_network(std::string_view value);
// The mode the function's tags ask for, else `fallback` (an invalid tag value also falls back;
// the control API rejects those).
sandbox::Network network_for(const std::map<std::string, std::string>& tags,
                             sandbox::Network fallback);

struct Options {
  std::string region = "us-east-1";
  std::string account = "000000000000";
  std::string packages_root;  // PackageStore::tree_path(id) = packages_root + "/" + id + "/tree"
  int max_environments = 64;  // server-wide concurrent environments
  int max_environments_per_function = 64;  // per function (Lambda: account limit)
  int max_queue_per_function = 256;        // waiting invocations before 429
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds init_timeout{std::chrono::seconds(10)};
  metering::Prices prices;
  metering::Metrics* metrics = nullptr;  // /metrics counters; updated on the io thread
  sandbox::Network default_network = sandbox::Network::kHost;
};

struct InvokeRequest {
  std::string function;  // unqualified name
  std::string qualifier = "$LATEST";
  std::string invoked_arn;  // as the caller named it (ARN form)
  std::string payload;
  std::string client_context;  // decoded JSON, "" when none
  std::string request_id;      // generated when empty
  bool tail = false;
};

struct InvokeResult {
  // 200 for every completed invocation (also function errors). Otherwise an API error:
  // status + error_type (exception name) + error_message (+ reason for 429).
  int status = 200;
  std::string error_type;
  std::string error_message;
  std::string reason;
  std::string request_id;
  std::string body;
  std::string function_error;  // "Unhandled" or ""
  std::string executed_version = "$LATEST";
  std::string log_tail;  // last 4 KB of this invocation's log (when tail)
  std::string trace_id;  // Lambda-Runtime-Trace-Id given to the runtime ("" if never started)
};

struct Stats {
  int64_t invocations = 0;
  int64_t cold_starts = 0;
  int64_t throttles = 0;
  int64_t errors = 0;
  int environments = 0;
};

class Invoker {
 public:
  using Done = std::function<void(InvokeResult)>;

  Invoker(boost::asio::io_context& io, sandbox::Spawner& spawner, metering::LogSink& logs,
          metering::UsageRecorder* usage, Options options);
  ~Invoker();
  Invoker(const Invoker&) = delete;
  Invoker& operator=(const Invoker&) = delete;

  // Learn a function's current configuration (new or changed). Environments of an older
  // generation are drained: idle ones stop now, busy ones after their invocation.
  void upsert(registry::FunctionRecord record);
  void remove(const std::string& name);
  // Thread-safe wrappers that post to the io thread.
  void post_upsert(registry::FunctionRecord record);
  void post_remove(std::string name);

  // nullptr when unknown.
  const registry::FunctionRecord* find(const std::string& name) const;

  // Versions, aliases and reserved concurrency (issue #6). A published version is upserted
  // like $LATEST (record.version = "N") and pooled separately under "name:N".
  void remove_version(const std::string& name, const std::string& version);
  void upsert_alias(registry::AliasRecord alias);
  void remove_alias(const std::string& function, const std::string& alias);
  // nullopt = no reservation.
  void set_reserved_concurrency(const std::string& name, std::optional<int> reserved);
  void post_remove_version(std::string name, std::string version);
  void post_upsert_alias(registry::AliasRecord alias);
  void post_remove_alias(std::string function, std::string alias);
  void post_set_reserved_concurrency(std::string name, std::optional<int> reserved);
  // The version `qualifier` ("" / $LATEST / N / alias) runs now (an alias with weights picks
  // one per call); nullopt when the function or qualifier does not exist.
  std::optional<std::string> resolve_qualifier(const std::string& name,
                                               const std::string& qualifier);

  // Runs one invocation; `done` is called exactly once on the io thread.
  void invoke(InvokeRequest request, Done done);

  // Stops every environment and fails queued invocations. Idempotent.
  void shutdown();

  Stats stats() const;
  const Options& options() const { return options_; }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  Options options_;
};

}  // namespace lambdad::invoke
