#include "invoke/invoker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstring>
#include <deque>
#include <list>
#include <random>
#include <vector>

#include "common/encoding.h"
#include "invoke/routing.h"
#include "runtime_api/endpoint.h"

namespace lambdad::invoke {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

namespace {

constexpr size_t kTailBytes = 4096;
// How long a queued invocation waits for an environment that answered to call /next again
// before another one is started for it (checked by the 1 s reaper: 1-2 s).
constexpr auto kFinishingGrace = std::chrono::seconds(1);
// Per-invocation log kept in memory; beyond this the middle is dropped (file gets it all).
constexpr size_t kMaxInvocationLog = 256 * 1024;

int64_t epoch_ms() {
  return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string error_json(std::string_view type, std::string_view message) {
  return "{\"errorType\":\"" + json_escape(type) + "\",\"errorMessage\":\"" + json_escape(message) +
         "\"}";
}

// "Root=1-<8 hex epoch s>-<24 hex>;Parent=<16 hex>;Sampled=0;Lineage=1:<8 hex>:0", as
// Lambda-Runtime-Trace-Id looks in production (reference/runtime-api.md).
std::string trace_id() {
  static constexpr char kHex[] = "0123456789abcdef";
  unsigned char r[24];
  random_bytes(r, sizeof r);
  char out[96];
  auto put_hex = [&r](char* dst, size_t from, size_t bytes) {
    for (size_t i = 0; i < bytes; ++i) {
      dst[2 * i] = kHex[r[from + i] >> 4];
      dst[2 * i + 1] = kHex[r[from + i] & 15];
    }
  };
  int n =
      std::snprintf(out, sizeof out, "Root=1-%08lx-", static_cast<unsigned long>(::time(nullptr)));
  put_hex(out + n, 0, 12);
  n += 24;
  std::memcpy(out + n, ";Parent=", 8);
  n += 8;
  put_hex(out + n, 12, 8);
  n += 16;
  std::memcpy(out + n, ";Sampled=0;Lineage=1:", 21);
  n += 21;
  put_hex(out + n, 20, 4);
  n += 8;
  std::memcpy(out + n, ":0", 2);
  n += 2;
  return std::string(out, static_cast<size_t>(n));
}

std::string log_stream_name(const std::string& version) {
  time_t now = ::time(nullptr);
  tm t{};
  gmtime_r(&now, &t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d/%02d/%02d/", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday);
  return std::string(buf) + "[" + version + "]" + sha256_hex(uuid4()).substr(0, 32);
}

}  // namespace

struct Invocation {
  InvokeRequest req;  // req.payload is moved into `payload` (shared with the NextEvent)
  std::shared_ptr<const std::string> payload;
  std::string trace_id;
  Invoker::Done done;
  Clock::time_point start{};
  int64_t start_epoch_ms = 0;
  std::string log;  // START line, function output, then END/REPORT appended at completion
};

struct FunctionState;

struct Environment final : runtime_api::Handler {
  enum class State { kStarting, kIdle, kBusy, kDead };

  Environment(Invoker::Impl& inv, std::shared_ptr<FunctionState> fn, uint64_t id);
  ~Environment() override;

  // runtime_api::Handler
  void next(Deliver deliver) override;
  runtime_api::PostResult response(std::string_view request_id, std::string body) override;
  runtime_api::PostResult error(std::string_view request_id, std::string body,
                                std::string error_type) override;
  void response_too_large(std::string_view request_id, uint64_t size) override;
  runtime_api::PostResult init_error(std::string body, std::string error_type) override;

  void start_reading(asio::posix::stream_descriptor& sd, std::array<char, 4096>& buf);
  void drain_pipes();
  void on_output(std::string_view bytes);
  int max_memory_used_mb(microseconds duration);
  int read_max_memory_mb();

  Invoker::Impl& inv;
  std::shared_ptr<FunctionState> fn;
  uint64_t id;
  int64_t generation = 0;
  sandbox::Network network = sandbox::Network::kHost;
  std::shared_ptr<const registry::FunctionRecord> config;
  State state = State::kStarting;
  sandbox::Child child;
  asio::posix::stream_descriptor pidfd_sd;
  asio::posix::stream_descriptor out_sd;
  asio::posix::stream_descriptor err_sd;
  std::array<char, 4096> out_buf{};
  std::array<char, 4096> err_buf{};
  UniqueFd status_fd;      // /proc/<pid>/status, kept open for VmHWM reads
  int max_memory_mb = -1;  // last read, -1 = never
  Clock::time_point max_memory_read_at{};
  std::unique_ptr<runtime_api::Endpoint> endpoint;
  Deliver pending_next;
  std::unique_ptr<Invocation> current;
  bool answered = false;   // current invocation already completed (waiting for /next)
  bool finishing = false;  // answered and counted in FunctionState::finishing
  // Init timeout while starting, then the invocation deadline. Re-armed lazily: a warm
  // invocation only moves `deadline`; a wait that fires before it re-arms for the rest.
  asio::steady_timer timer;
  Clock::time_point deadline = Clock::time_point::max();  // max = no invocation to time out
  bool deadline_armed = false;
  Clock::time_point answered_at{};  // when `finishing` began
  Clock::time_point spawned_at = Clock::now();
  Clock::time_point idle_since = Clock::now();
  bool initialized = false;
  std::optional<microseconds> init_duration;  // reported on the first invocation
  std::string init_log;                       // output before the first invocation
  std::string init_error_body;
  std::string init_error_type;
  std::string log_stream;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

struct FunctionState {
  std::shared_ptr<const registry::FunctionRecord> config;
  std::list<std::unique_ptr<Environment>> envs;
  std::vector<Environment*> idle;  // LIFO: the most recently used stays warm
  std::deque<std::unique_ptr<Invocation>> queue;
  int starting = 0;
  // Environments that answered and will call /next again soon: a queued invocation waits
  // for them rather than cold-starting another (sequential callers stay warm).
  int finishing = 0;
  bool removed = false;
};

struct Invoker::Impl {
  Impl(asio::io_context& io, sandbox::Spawner& spawner, metering::LogSink& logs,
       metering::UsageRecorder* usage, const Options& options)
      : io(io), spawner(spawner), logs(logs), usage(usage), opt(options), reaper(io) {}

  asio::io_context& io;
  sandbox::Spawner& spawner;
  metering::LogSink& logs;
  metering::UsageRecorder* usage;
  const Options& opt;
  std::map<std::string, std::shared_ptr<FunctionState>> functions;  // by pool_key()
  // Removed functions replaced by a new one of the same name while their environments were
  // still exiting; kept so ~Invoker can destroy those environments (see there).
  std::map<FunctionState*, std::shared_ptr<FunctionState>> retired;
  std::map<std::string, std::map<std::string, registry::AliasRecord>> aliases;
  std::map<std::string, int> reserved;  // reserved concurrency by function name
  std::mt19937_64 rng{std::random_device{}()};
  asio::steady_timer reaper;
  uint64_t next_env_id = 1;
  int live_envs = 0;
  bool stopping = false;
  Stats stats;

  void dispatch(const std::shared_ptr<FunctionState>& fn, std::unique_ptr<Invocation> inv);
  void maybe_spawn(const std::shared_ptr<FunctionState>& fn);
  bool spawn(const std::shared_ptr<FunctionState>& fn);
  void assign(Environment& env, std::unique_ptr<Invocation> inv);
  void became_ready(Environment& env);
  void arm_deadline(Environment& env, Clock::time_point at);
  void on_deadline(Environment& env);
  void complete(Environment& env, std::string body, bool function_error, const std::string& status,
                const std::string& error_type);
  void finish(std::unique_ptr<Invocation> inv, InvokeResult result, int64_t billed,
              const std::shared_ptr<const registry::FunctionRecord>& cfg, microseconds duration,
              std::optional<microseconds> init, int max_mem, const std::string& status,
              const std::string& error_type);
  void kill(Environment& env);
  void on_exit(Environment& env);
  void erase(Environment& env);
  void fail_invocation(std::unique_ptr<Invocation> inv,
                       const std::shared_ptr<const registry::FunctionRecord>& cfg,
                       const std::string& body, const std::string& error_type,
                       const std::string& log_text);
  void schedule_reaper();
  void remove_key(const std::string& key, const std::string& name);
  // Invocations in flight (queued or running) and live environments over every version of
  // `name`: reserved concurrency caps both.
  int in_flight(const std::string& name) const;
  int live_envs_of(const std::string& name) const;
  void clear_finishing(Environment& env) {
    if (env.finishing) {
      env.finishing = false;
      env.fn->finishing--;
    }
  }
  // The network mode of `fn`'s environments: from $LATEST's tags (tags belong to the function,
  // not to a version), else the pool's own record, else the server default.
  sandbox::Network network_of(const FunctionState& fn) const {
    const auto latest = functions.find(fn.config->name);
    const auto& tags =
        latest != functions.end() && latest->second->config && !latest->second->removed
            ? latest->second->config->tags
            : fn.config->tags;
    return network_for(tags, opt.default_network);
  }
  // An environment of an older configuration (or network mode): drained, not reused.
  bool stale(const Environment& env) const {
    return env.generation != env.fn->config->generation || env.network != network_of(*env.fn);
  }
  std::string task_root(const registry::FunctionRecord& r) const {
    return opt.packages_root + "/" + r.package_id + "/tree";
  }
  std::string arn(const std::string& name) const {
    return "arn:aws:lambda:" + opt.region + ":" + opt.account + ":function:" + name;
  }
};

// ---------------------------------------------------------------- Environment

Environment::Environment(Invoker::Impl& inv, std::shared_ptr<FunctionState> fn, uint64_t id)
    : inv(inv),
      fn(std::move(fn)),
      id(id),
      pidfd_sd(inv.io),
      out_sd(inv.io),
      err_sd(inv.io),
      timer(inv.io) {}

Environment::~Environment() {
  *alive = false;
  if (endpoint) endpoint->stop();
  if (pending_next) {
    // The runtime's /next gets a 500; post so the session never re-enters us.
    asio::post(inv.io, [d = std::move(pending_next)] { d(nullptr); });
  }
}

void Environment::on_output(std::string_view bytes) {
  if (current && !answered) {
    if (current->log.size() < kMaxInvocationLog) current->log.append(bytes);
  } else if (!initialized || !current) {
    if (init_log.size() < kMaxInvocationLog) init_log.append(bytes);
    if (initialized) {  // output between invocations goes straight to the file
      inv.logs.append(config->name, std::move(init_log));
      init_log.clear();
    }
  } else {
    inv.logs.append(config->name, std::string(bytes));
  }
}

void Environment::start_reading(asio::posix::stream_descriptor& sd, std::array<char, 4096>& buf) {
  sd.async_read_some(asio::buffer(buf),
                     [this, &sd, &buf, alive = alive](boost::system::error_code ec, size_t n) {
                       if (!*alive) return;
                       if (ec) return;  // EOF: the process closed its output
                       on_output(std::string_view(buf.data(), n));
                       start_reading(sd, buf);
                     });
}

// Output written just before a /response may still sit in the pipe: take it now so it
// lands between START and END, as on Lambda. One poll() finds out whether there is any
// (usually not), instead of a read() per pipe.
void Environment::drain_pipes() {
  pollfd fds[2] = {{child.stdout_fd.get(), POLLIN, 0}, {child.stderr_fd.get(), POLLIN, 0}};
  if (fds[0].fd < 0 && fds[1].fd < 0) return;
  if (::poll(fds, 2, 0) <= 0) return;
  char buf[16384];
  for (const pollfd& p : fds) {
    if (p.fd < 0 || (p.revents & (POLLIN | POLLHUP)) == 0) continue;
    for (int i = 0; i < 64; ++i) {
      const ssize_t n = ::read(p.fd, buf, sizeof buf);
      if (n <= 0) break;
      on_output(std::string_view(buf, size_t(n)));
    }
  }
}

// VmHWM (or the cgroup's peak) for the REPORT line. Reading it makes the kernel render a
// whole /proc status file, so a warm environment answering quickly reuses a value read in
// the last kMaxMemoryStaleness; any invocation of 1 ms or more (allocating memory takes
// time: page faults) reads it afresh, as does the first invocation of an environment.
int Environment::max_memory_used_mb(microseconds duration) {
  constexpr auto kMaxMemoryStaleness = milliseconds(100);
  const auto now = Clock::now();
  if (max_memory_mb >= 0 && duration < milliseconds(1) &&
      now - max_memory_read_at < kMaxMemoryStaleness)
    return max_memory_mb;
  max_memory_read_at = now;
  max_memory_mb = read_max_memory_mb();
  return max_memory_mb;
}

int Environment::read_max_memory_mb() {
  if (child.sandbox)
    if (auto peak = child.sandbox->peak_memory_mb()) return *peak;
  if (!status_fd.valid()) return 0;
  char buf[2048];
  const ssize_t n = ::pread(status_fd.get(), buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char* p = std::strstr(buf, "VmHWM:");
  if (!p) return 0;
  const long kb = std::strtol(p + 6, nullptr, 10);
  return static_cast<int>((kb + 1023) / 1024);
}

void Environment::next(Deliver deliver) {
  if (state == State::kDead) {
    deliver(nullptr);
    return;
  }
  if (current && !answered) {
    // A second /next while an invocation is outstanding re-renders it (Lambda's RIE does).
    auto ev = std::make_shared<runtime_api::NextEvent>();
    ev->request_id = current->req.request_id;
    ev->payload = current->payload;
    ev->deadline_ms = current->start_epoch_ms + config->timeout_s * 1000LL;
    ev->invoked_function_arn = current->req.invoked_arn;
    ev->trace_id = current->trace_id;
    ev->client_context = current->req.client_context;
    deliver(std::move(ev));
    return;
  }
  pending_next = std::move(deliver);
  inv.became_ready(*this);
}

runtime_api::PostResult Environment::response(std::string_view request_id, std::string body) {
  if (!current || current->req.request_id != request_id)
    return {400, "InvalidRequestID", "Invalid request ID"};
  if (answered)
    return {403, "InvalidStateTransition",
            "State transition from ResponseSent to ResponseSent failed for runtime. Error: State "
            "transition is not allowed"};
  inv.complete(*this, std::move(body), false, "", "");
  return runtime_api::PostResult::accepted();
}

runtime_api::PostResult Environment::error(std::string_view request_id, std::string body,
                                           std::string error_type) {
  if (!current || current->req.request_id != request_id)
    return {400, "InvalidRequestID", "Invalid request ID"};
  if (answered)
    return {403, "InvalidStateTransition",
            "State transition from ResponseSent to ResponseSent failed for runtime. Error: State "
            "transition is not allowed"};
  if (body.empty()) body = error_json(error_type.empty() ? "Unhandled" : error_type, "");
  inv.complete(*this, std::move(body), true, "error",
               error_type.empty() ? std::string("Runtime.Unknown") : error_type);
  return runtime_api::PostResult::accepted();
}

void Environment::response_too_large(std::string_view request_id, uint64_t size) {
  if (!current || answered || current->req.request_id != request_id) return;
  const std::string msg = size
                              ? "Response payload size (" + std::to_string(size) +
                                    " bytes) exceeded maximum allowed payload size (6291556 bytes)."
                              : std::string(
                                    "Response payload size exceeded maximum allowed payload size "
                                    "(6291556 bytes).");
  on_output("");
  inv.complete(*this,
               "{\"errorMessage\":\"" + msg + "\",\"errorType\":\"Function.ResponseSizeTooLarge\"}",
               true, "error", "Function.ResponseSizeTooLarge");
}

runtime_api::PostResult Environment::init_error(std::string body, std::string error_type) {
  if (initialized)
    return {403, "InvalidStateTransition",
            "State transition from Ready to InitError failed for runtime. Error: State "
            "transition is not allowed"};
  init_error_body = body.empty() ? error_json("Runtime.Unknown", "init error") : std::move(body);
  init_error_type = error_type.empty() ? "Runtime.Unknown" : std::move(error_type);
  // The runtime should exit now; make sure it does.
  inv.kill(*this);
  return runtime_api::PostResult::accepted();
}

// ---------------------------------------------------------------- Impl

int Invoker::Impl::in_flight(const std::string& name) const {
  int n = 0;
  for (const auto& [key, st] : functions) {
    if (st->config->name != name) continue;
    n += static_cast<int>(st->queue.size());
    for (const auto& e : st->envs)
      if (e->state == Environment::State::kBusy && e->current && !e->answered) n++;
  }
  return n;
}

int Invoker::Impl::live_envs_of(const std::string& name) const {
  int n = 0;
  for (const auto& [key, st] : functions) {
    if (st->config->name != name) continue;
    for (const auto& e : st->envs)
      if (e->state != Environment::State::kDead) n++;
  }
  return n;
}

void Invoker::Impl::dispatch(const std::shared_ptr<FunctionState>& fn,
                             std::unique_ptr<Invocation> inv) {
  if (auto it = reserved.find(fn->config->name);
      it != reserved.end() && in_flight(fn->config->name) >= it->second) {
    // Lambda throttles at once past the reservation (synchronous callers are not queued).
    stats.throttles++;
    InvokeResult r;
    r.status = 429;
    r.error_type = "TooManyRequestsException";
    r.error_message = "Rate Exceeded.";
    r.reason = "ReservedFunctionConcurrentInvocationLimitExceeded";
    r.request_id = inv->req.request_id;
    auto done = std::move(inv->done);
    done(std::move(r));
    return;
  }
  while (!fn->idle.empty()) {
    Environment* env = fn->idle.back();
    fn->idle.pop_back();
    if (env->state != Environment::State::kIdle || stale(*env)) continue;
    assign(*env, std::move(inv));
    return;
  }
  fn->queue.push_back(std::move(inv));
  maybe_spawn(fn);
  // Waiting beyond what starting (or just-answered) environments will take is the bounded
  // queue; past it the caller is throttled, as Lambda throttles past its concurrency.
  const int covered = fn->starting + fn->finishing;
  if (static_cast<int>(fn->queue.size()) - covered > opt.max_queue_per_function) {
    auto last = std::move(fn->queue.back());
    fn->queue.pop_back();
    stats.throttles++;
    if (opt.metrics) opt.metrics->throttled(fn->config->name);
    InvokeResult r;
    r.status = 429;
    r.error_type = "TooManyRequestsException";
    r.error_message = "Rate Exceeded.";
    r.reason = "ConcurrentInvocationLimitExceeded";
    r.request_id = last->req.request_id;
    auto done = std::move(last->done);
    done(std::move(r));
  }
}

void Invoker::Impl::maybe_spawn(const std::shared_ptr<FunctionState>& fn) {
  while (!fn->queue.empty() && fn->starting + fn->finishing < static_cast<int>(fn->queue.size())) {
    int fn_envs = 0;
    for (auto& e : fn->envs)
      if (e->state != Environment::State::kDead) fn_envs++;
    if (auto it = reserved.find(fn->config->name);
        it != reserved.end() && live_envs_of(fn->config->name) >= it->second) {
      // The reservation caps environments over all versions: retire an idle sibling's.
      bool freed = false;
      for (auto& [key, other] : functions) {
        if (other == fn || other->config->name != fn->config->name || other->idle.empty()) continue;
        Environment* victim = other->idle.back();
        other->idle.pop_back();
        kill(*victim);
        freed = true;
        break;
      }
      if (!freed) return;
      continue;
    }
    if (fn_envs >= opt.max_environments_per_function || live_envs >= opt.max_environments) {
      // Queued until an environment frees up; past the queue bound callers get 429.
      if (live_envs >= opt.max_environments && fn_envs == 0) {
        // Nothing of this function runs: stop an idle environment of another function.
        for (auto& [name, other] : functions) {
          if (other == fn || other->idle.empty()) continue;
          Environment* victim = other->idle.back();
          other->idle.pop_back();
          kill(*victim);
          break;
        }
      }
      return;
    }
    if (!spawn(fn)) return;
  }
}

bool Invoker::Impl::spawn(const std::shared_ptr<FunctionState>& fn) {
  const auto cfg = fn->config;
  auto env = std::make_unique<Environment>(*this, fn, next_env_id++);
  env->config = cfg;
  env->generation = cfg->generation;
  env->network = network_of(*fn);
  env->log_stream = log_stream_name(cfg->version);
  const bool isolated_net = env->network == sandbox::Network::kIsolated;
  auto fail_front = [&fn](const std::string& message) {
    auto inv = std::move(fn->queue.front());
    fn->queue.pop_front();
    InvokeResult r;
    r.status = 500;
    r.error_type = "ServiceException";
    r.error_message = message;
    r.request_id = inv->req.request_id;
    inv->done(std::move(r));
  };
  if (isolated_net && !spawner.supports_isolated_network()) {
    fail_front("Function " + cfg->name + " asks for network mode 'isolated' (tag " + kNetworkTag +
               "), which this server cannot provide: " + spawner.describe());
    return !fn->queue.empty();
  }
  if (!isolated_net) {
    // Host network: our own loopback port. (Isolated: the sandbox's listener, after spawn.)
    auto ep = runtime_api::Endpoint::start(io, *env);
    if (!ep) {
      fail_front(ep.error().message());
      return false;
    }
    env->endpoint = std::move(*ep);
  }

  const std::string root = task_root(*cfg);
  sandbox::SpawnSpec spec;
  spec.executable = root + "/bootstrap";
  spec.working_dir = root;
  spec.memory_mb = cfg->memory_mb;
  spec.ephemeral_mb = cfg->ephemeral_mb;
  spec.network = env->network;
  const std::string sandbox_root = spawner.task_root_in_sandbox(root);
  auto add = [&spec](const std::string& k, const std::string& v) {
    spec.env.push_back(k + "=" + v);
  };
  // Customer variables first; reserved ones are rejected at configuration time anyway.
  for (const auto& [k, v] : cfg->environment) add(k, v);
  add("PATH", "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin");
  add("LD_LIBRARY_PATH", "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:" +
                             sandbox_root + ":" + sandbox_root + "/lib:/opt/lib");
  add("LANG", "en_US.UTF-8");
  add("TZ", ":UTC");
  add("AWS_LAMBDA_RUNTIME_API",
      isolated_net ? std::string(sandbox::kIsolatedRuntimeApi) : env->endpoint->address());
  add("_HANDLER", cfg->handler);
  add("LAMBDA_TASK_ROOT", sandbox_root);
  add("LAMBDA_RUNTIME_DIR", "/var/runtime");
  add("AWS_LAMBDA_FUNCTION_NAME", cfg->name);
  add("AWS_LAMBDA_FUNCTION_VERSION", cfg->version);
  add("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(cfg->memory_mb));
  add("AWS_REGION", opt.region);
  add("AWS_DEFAULT_REGION", opt.region);
  add("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + cfg->name);
  add("AWS_LAMBDA_LOG_STREAM_NAME", env->log_stream);
  add("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
  add("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR");
  add("AWS_LAMBDA_LOG_FORMAT", "Text");
  if (cfg->runtime.rfind("provided", 0) != 0)
    add("AWS_EXECUTION_ENV", "AWS_Lambda_" + cfg->runtime);
  // Local credentials so SDK clients inside functions can sign requests to lambdad.
  add("AWS_ACCESS_KEY_ID", "lambdad");
  add("AWS_SECRET_ACCESS_KEY", "lambdad");
  add("AWS_SESSION_TOKEN", "lambdad");

  auto child = spawner.spawn(spec);
  if (!child) {
    // Missing or non-executable bootstrap: Runtime.InvalidEntrypoint for the waiting caller.
    auto inv = std::move(fn->queue.front());
    fn->queue.pop_front();
    const std::string msg = "RequestId: " + inv->req.request_id +
                            " Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap "
                            "/opt/bootstrap]";
    const bool missing =
        child.error().code == Code::kNotFound || child.error().code == Code::kInvalidArgument;
    const std::string type = missing ? "Runtime.InvalidEntrypoint" : "Runtime.Unknown";
    const std::string text =
        missing ? msg : "RequestId: " + inv->req.request_id + " Error: " + child.error().message();
    fail_invocation(std::move(inv), cfg, error_json(type, text), type, text + "\n" + type + "\n");
    return !fn->queue.empty();  // let the next queued one try (it will fail the same way)
  }
  env->child = std::move(*child);
  if (isolated_net) {
    auto ep = runtime_api::Endpoint::adopt(io, *env, std::move(env->child.runtime_listener),
                                           sandbox::kIsolatedRuntimeApi);
    if (!ep) {
      ::kill(env->child.pid, SIGKILL);
      ::waitpid(env->child.pid, nullptr, 0);
      fail_front(ep.error().message());
      return false;
    }
    env->endpoint = std::move(*ep);
  } else if (env->child.uid) {
    env->endpoint->restrict_peer_uid(*env->child.uid);
  }
  env->pidfd_sd.assign(env->child.pidfd.get());
  env->out_sd.assign(env->child.stdout_fd.get());
  env->err_sd.assign(env->child.stderr_fd.get());
  env->status_fd.reset(::open(("/proc/" + std::to_string(env->child.pid) + "/status").c_str(),
                              O_RDONLY | O_CLOEXEC));
  env->spawned_at = Clock::now();
  Environment* e = env.get();
  e->start_reading(e->out_sd, e->out_buf);
  e->start_reading(e->err_sd, e->err_buf);
  e->pidfd_sd.async_wait(asio::posix::stream_descriptor::wait_read,
                         [this, e, alive = e->alive](boost::system::error_code ec) {
                           if (!*alive || ec) return;
                           on_exit(*e);
                         });
  e->timer.expires_after(opt.init_timeout);
  e->timer.async_wait([this, e, alive = e->alive](boost::system::error_code ec) {
    if (ec || !*alive || e->state != Environment::State::kStarting) return;
    e->init_error_type = "Runtime.Unknown";
    e->init_error_body = error_json(
        "Runtime.Unknown",
        "Init timed out after " + std::to_string(opt.init_timeout.count() / 1000) + ".00 seconds");
    kill(*e);
  });
  fn->starting++;
  live_envs++;
  stats.cold_starts++;
  fn->envs.push_back(std::move(env));
  return true;
}

void Invoker::Impl::became_ready(Environment& env) {
  auto& fn = env.fn;
  const bool was_starting = env.state == Environment::State::kStarting;
  if (was_starting) {
    fn->starting--;
    env.timer.cancel();
    env.initialized = true;
    env.init_duration = duration_cast<microseconds>(Clock::now() - env.spawned_at);
    if (!env.init_log.empty()) {
      logs.append(env.config->name, std::move(env.init_log));
      env.init_log.clear();
    }
  }
  clear_finishing(env);
  env.current.reset();
  env.answered = false;
  env.state = Environment::State::kIdle;
  env.idle_since = Clock::now();
  if (fn->removed || stopping || stale(env)) {
    kill(env);
    maybe_spawn(fn);
    return;
  }
  if (!fn->queue.empty()) {
    auto inv = std::move(fn->queue.front());
    fn->queue.pop_front();
    assign(env, std::move(inv));
    return;
  }
  if (reserved.count(fn->config->name)) {
    // Another version of this function waits for room under the reservation: make it.
    for (auto& [key, other] : functions) {
      if (other == fn || other->config->name != fn->config->name || other->queue.empty()) continue;
      kill(env);
      maybe_spawn(other);
      return;
    }
  }
  fn->idle.push_back(&env);
  // Idle environments burn no CPU, as on Lambda; assign() and kill() thaw.
  if (env.child.sandbox) env.child.sandbox->freeze();
}

void Invoker::Impl::assign(Environment& env, std::unique_ptr<Invocation> inv) {
  if (env.child.sandbox) env.child.sandbox->thaw();
  env.state = Environment::State::kBusy;
  env.answered = false;
  inv->start = Clock::now();
  inv->start_epoch_ms = epoch_ms();
  inv->log = metering::start_line(inv->req.request_id, env.config->version);
  inv->trace_id = trace_id();
  auto ev = std::make_shared<runtime_api::NextEvent>();
  ev->request_id = inv->req.request_id;
  ev->payload = inv->payload;
  ev->deadline_ms = inv->start_epoch_ms + env.config->timeout_s * 1000LL;
  ev->invoked_function_arn = inv->req.invoked_arn;
  ev->trace_id = inv->trace_id;
  ev->client_context = inv->req.client_context;
  env.current = std::move(inv);
  arm_deadline(env, env.current->start + std::chrono::seconds(env.config->timeout_s));
  auto deliver = std::move(env.pending_next);
  env.pending_next = nullptr;
  deliver(std::move(ev));
}

void Invoker::Impl::arm_deadline(Environment& env, Clock::time_point at) {
  env.deadline = at;
  if (env.deadline_armed && env.timer.expiry() <= at) return;  // fires first, then re-arms
  env.deadline_armed = true;
  env.timer.expires_at(at);  // cancels a later wait (its handler sees operation_aborted)
  Environment* e = &env;
  env.timer.async_wait([this, e, alive = env.alive](boost::system::error_code ec) {
    if (ec || !*alive) return;
    on_deadline(*e);
  });
}

void Invoker::Impl::on_deadline(Environment& env) {
  env.deadline_armed = false;
  if (env.state == Environment::State::kDead || env.deadline == Clock::time_point::max()) return;
  if (Clock::now() < env.deadline) {  // armed for an earlier invocation: wait for the rest
    arm_deadline(env, env.deadline);
    return;
  }
  if (!env.current || env.answered) return;
  // Deadline: kill the sandbox and answer as Lambda does.
  env.drain_pipes();
  const std::string id = env.current->req.request_id;
  const int t = env.config->timeout_s;
  env.current->log += metering::timeout_line(id, t);
  complete(env,
           error_json("Sandbox.Timedout", "RequestId: " + id + " Error: Task timed out after " +
                                              std::to_string(t) + ".00 seconds"),
           true, "timeout", "");
  kill(env);
}

void Invoker::Impl::complete(Environment& env, std::string body, bool function_error,
                             const std::string& status, const std::string& error_type) {
  env.deadline = Clock::time_point::max();  // the pending wait, if any, finds nothing to do
  env.drain_pipes();
  env.answered = true;
  if (env.state == Environment::State::kBusy && !env.finishing) {
    // A runtime that never calls /next again must not hold queued callers hostage: the
    // reaper stops counting on it after kFinishingGrace.
    env.finishing = true;
    env.fn->finishing++;
    env.answered_at = Clock::now();
  }
  auto& inv = env.current;
  const auto now = Clock::now();
  microseconds duration = duration_cast<microseconds>(now - inv->start);
  if (status == "timeout") duration = std::chrono::seconds(env.config->timeout_s);
  auto init = env.init_duration;
  env.init_duration.reset();
  // Custom runtimes are billed for init too (ceil(duration + init)).
  const int64_t billed = metering::billed_ms(duration + (init ? *init : microseconds(0)));
  InvokeResult r;
  r.body = std::move(body);
  if (function_error) r.function_error = "Unhandled";
  // Keep the Invocation object alive in env.current (answered=true) until /next, so a
  // late duplicate post gets InvalidStateTransition; the rest (payload included) moves to finish().
  auto moved = std::make_unique<Invocation>();
  moved->req = std::move(inv->req);
  inv->req.request_id = moved->req.request_id;  // all a late duplicate post is checked against
  moved->done = std::move(inv->done);
  moved->trace_id = inv->trace_id;
  moved->start_epoch_ms = inv->start_epoch_ms;
  moved->log = std::move(inv->log);
  inv->log.clear();
  finish(std::move(moved), std::move(r), billed, env.config, duration, init,
         env.max_memory_used_mb(duration), status, error_type);
}

void Invoker::Impl::finish(std::unique_ptr<Invocation> inv, InvokeResult r, int64_t billed,
                           const std::shared_ptr<const registry::FunctionRecord>& cfg,
                           microseconds duration, std::optional<microseconds> init, int max_mem,
                           const std::string& status, const std::string& error_type) {
  metering::ReportFields f;
  f.request_id = inv->req.request_id;
  f.duration = duration;
  f.billed_ms = billed;
  f.memory_mb = cfg->memory_mb;
  f.max_memory_used_mb = max_mem;
  f.init_duration = init;
  f.status = status;
  f.error_type = error_type;
  inv->log += metering::end_line(inv->req.request_id);
  inv->log += metering::report_line(f);
  if (inv->req.tail) {
    r.log_tail =
        inv->log.size() > kTailBytes ? inv->log.substr(inv->log.size() - kTailBytes) : inv->log;
  }
  r.request_id = inv->req.request_id;
  r.executed_version = cfg->version;
  r.trace_id = std::move(inv->trace_id);
  stats.invocations++;
  if (!r.function_error.empty()) stats.errors++;
  if (opt.metrics) opt.metrics->observe(cfg->name, duration, !r.function_error.empty(), !!init);
  if (usage) {
    metering::UsageRecord u;
    u.timestamp_ms = inv->start_epoch_ms;
    u.function = cfg->name;
    u.request_id = inv->req.request_id;
    u.arch = cfg->architecture;
    u.memory_mb = cfg->memory_mb;
    u.duration_us = duration.count();
    u.billed_ms = billed;
    u.init_us = init ? init->count() : 0;
    u.max_memory_used_mb = max_mem;
    u.status = !status.empty() ? status : r.function_error.empty() ? "ok" : "error";
    u.cost_pico =
        metering::compute_cost_pico(billed, cfg->memory_mb, cfg->architecture, opt.prices) +
        opt.prices.per_request;
    u.request_pico = opt.prices.per_request;
    usage->record(std::move(u));
  }
  logs.append(cfg->name, std::move(inv->log));
  auto done = std::move(inv->done);
  done(std::move(r));
}

void Invoker::Impl::fail_invocation(std::unique_ptr<Invocation> inv,
                                    const std::shared_ptr<const registry::FunctionRecord>& cfg,
                                    const std::string& body, const std::string& error_type,
                                    const std::string& log_text) {
  if (inv->start_epoch_ms == 0) {
    inv->start = Clock::now();
    inv->start_epoch_ms = epoch_ms();
  }
  inv->log = metering::start_line(inv->req.request_id, cfg->version) + log_text;
  InvokeResult r;
  r.body = body;
  r.function_error = "Unhandled";
  const auto d = duration_cast<microseconds>(Clock::now() - inv->start);
  finish(std::move(inv), std::move(r), metering::billed_ms(d), cfg, d, std::nullopt, 0, "error",
         error_type);
}

void Invoker::Impl::kill(Environment& env) {
  if (env.state == Environment::State::kDead) return;
  if (env.state == Environment::State::kStarting) env.fn->starting--;
  clear_finishing(env);
  env.state = Environment::State::kDead;
  env.timer.cancel();
  env.deadline_armed = false;
  env.deadline = Clock::time_point::max();
  live_envs--;
  auto& idle = env.fn->idle;
  idle.erase(std::remove(idle.begin(), idle.end(), &env), idle.end());
  if (env.endpoint) env.endpoint->stop();
  if (env.child.sandbox) env.child.sandbox->thaw();  // v1: frozen tasks cannot die
  if (env.child.pid > 0) {
    ::kill(-env.child.pid, SIGKILL);  // the whole process group
    ::kill(env.child.pid, SIGKILL);
  }
  if (env.pending_next) {
    auto d = std::move(env.pending_next);
    env.pending_next = nullptr;
    asio::post(io, [d = std::move(d)] { d(nullptr); });
  }
  // on_exit() reaps and erases once the pidfd fires.
}

void Invoker::Impl::on_exit(Environment& env) {
  int status = 0;
  ::waitpid(env.child.pid, &status, 0);
  if (env.child.sandbox) status = env.child.sandbox->exit_status(status);
  const bool oom = env.child.sandbox && env.child.sandbox->oom_killed();
  const bool was_dead = env.state == Environment::State::kDead;
  const bool was_starting = env.state == Environment::State::kStarting;
  if (!was_dead) {
    if (was_starting) env.fn->starting--;
    clear_finishing(env);
    live_envs--;
    env.state = Environment::State::kDead;
    env.timer.cancel();
    env.deadline_armed = false;
    env.deadline = Clock::time_point::max();
    auto& idle = env.fn->idle;
    idle.erase(std::remove(idle.begin(), idle.end(), &env), idle.end());
  }
  env.drain_pipes();
  auto fn = env.fn;
  const std::string why = sandbox::describe_exit(status);
  if (env.current && !env.answered) {
    // Died mid-invocation.
    const std::string id = env.current->req.request_id;
    const std::string msg =
        "RequestId: " + id + " Error: Runtime exited " +
        (WIFEXITED(status) && WEXITSTATUS(status) == 0 ? std::string("without providing a reason")
                                                       : "with error: " + why);
    // Lambda reports a memory-limit kill as Runtime.OutOfMemory.
    const std::string type = oom ? "Runtime.OutOfMemory" : "Runtime.ExitError";
    env.current->log += msg + "\n" + type + "\n";
    complete(env, error_json(type, msg), true, "error", type);
  } else if ((was_starting || !env.init_error_body.empty()) && !env.initialized &&
             !fn->queue.empty()) {
    // Init failed: the invocation waiting for this environment gets the error.
    auto inv = std::move(fn->queue.front());
    fn->queue.pop_front();
    const auto init = duration_cast<microseconds>(Clock::now() - env.spawned_at);
    std::string body = env.init_error_body;
    std::string type = env.init_error_type;
    if (body.empty()) {
      type = "Runtime.ExitError";
      const std::string msg =
          "RequestId: " + inv->req.request_id + " Error: Runtime exited " +
          (WIFEXITED(status) && WEXITSTATUS(status) == 0 ? std::string("without providing a reason")
                                                         : "with error: " + why);
      body = error_json(type, msg);
      env.init_log += msg + "\nRuntime.ExitError\n";
    }
    char init_ms[64];
    std::snprintf(init_ms, sizeof init_ms, "%lld.%02lld",
                  static_cast<long long>(init.count() / 1000),
                  static_cast<long long>((init.count() % 1000) / 10));
    const std::string log = env.init_log + "INIT_REPORT Init Duration: " + init_ms +
                            " ms\tPhase: init\tStatus: error\tError Type: " + type + "\n";
    env.init_log.clear();
    fail_invocation(std::move(inv), env.config, body, type, log);
  } else if (!env.init_log.empty()) {
    logs.append(env.config->name, std::move(env.init_log));
  }
  erase(env);
  maybe_spawn(fn);
}

void Invoker::Impl::erase(Environment& env) {
  auto fn = env.fn;
  for (auto it = fn->envs.begin(); it != fn->envs.end(); ++it) {
    if (it->get() == &env) {
      // Destroy later: we may be inside one of env's own callbacks.
      std::shared_ptr<Environment> holder(std::move(*it));
      fn->envs.erase(it);
      asio::post(io, [holder] {});
      break;
    }
  }
  if (fn->removed && fn->envs.empty()) {
    retired.erase(fn.get());
    for (auto it = functions.begin(); it != functions.end(); ++it)
      if (it->second == fn) {
        functions.erase(it);
        break;
      }
  }
}

void Invoker::Impl::schedule_reaper() {
  reaper.expires_after(std::chrono::seconds(1));
  reaper.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping) return;
    const auto now = Clock::now();
    std::vector<std::shared_ptr<FunctionState>> waiting;
    for (auto& [name, fn] : functions) {
      std::vector<Environment*> victims;
      for (Environment* e : fn->idle)
        if (now - e->idle_since >= opt.idle_timeout) victims.push_back(e);
      for (Environment* e : victims) kill(*e);
      bool released = false;
      for (auto& e : fn->envs)
        if (e->finishing && now - e->answered_at >= kFinishingGrace) {
          clear_finishing(*e);
          released = true;
        }
      if (released) waiting.push_back(fn);
    }
    for (auto& fn : waiting) maybe_spawn(fn);
    schedule_reaper();
  });
}

// ---------------------------------------------------------------- Invoker

std::optional<sandbox::Network> parse_network(std::string_view value) {
  if (value == "host") return sandbox::Network::kHost;
  if (value == "isolated") return sandbox::Network::kIsolated;
  return std::nullopt;
}

sandbox::Network network_for(const std::map<std::string, std::string>& tags,
                             sandbox::Network fallback) {
  const auto it = tags.find(kNetworkTag);
  if (it == tags.end()) return fallback;
  return parse_network(it->second).value_or(fallback);
}

Invoker::Invoker(asio::io_context& io, sandbox::Spawner& spawner, metering::LogSink& logs,
                 metering::UsageRecorder* usage, Options options)
    : options_(std::move(options)) {
  impl_ = std::make_unique<Impl>(io, spawner, logs, usage, options_);
  impl_->schedule_reaper();
}

Invoker::~Invoker() {
  shutdown();
  // An Environment holds its FunctionState (env->fn) and the state owns it (fn->envs): break
  // the cycle so every environment (Runtime API listener, pipes, sandbox) is destroyed here.
  // Found by LeakSanitizer (issue 9).
  auto destroy_envs = [](FunctionState& fn) {
    fn.idle.clear();
    auto envs = std::move(fn.envs);
    fn.envs.clear();
    envs.clear();
  };
  for (auto& [key, fn] : impl_->functions) destroy_envs(*fn);
  for (auto& [ptr, fn] : impl_->retired) destroy_envs(*fn);
}

void Invoker::upsert(registry::FunctionRecord record) {
  auto& fn = impl_->functions[pool_key(record.name, record.version)];
  if (fn && fn->removed && !fn->envs.empty()) impl_->retired.emplace(fn.get(), fn);
  if (!fn || fn->removed) fn = std::make_shared<FunctionState>();
  const bool changed = !fn->config || fn->config->generation != record.generation ||
                       network_for(fn->config->tags, options_.default_network) !=
                           network_for(record.tags, options_.default_network);
  const std::string name = record.name;
  fn->config = std::make_shared<const registry::FunctionRecord>(std::move(record));
  if (!changed) return;
  // A new network mode on $LATEST's tags applies to every version's pool.
  std::vector<std::shared_ptr<FunctionState>> pools{fn};
  if (fn->config->version == "$LATEST")
    for (auto& [key, other] : impl_->functions)
      if (other != fn && other->config && other->config->name == name) pools.push_back(other);
  for (auto& pool : pools) {
    std::vector<Environment*> old;
    for (Environment* e : pool->idle)
      if (impl_->stale(*e)) old.push_back(e);
    for (Environment* e : old) impl_->kill(*e);
    std::vector<Environment*> starting;
    for (auto& e : pool->envs)
      if (e->state == Environment::State::kStarting && impl_->stale(*e))
        starting.push_back(e.get());
    for (Environment* e : starting) impl_->kill(*e);
    impl_->maybe_spawn(pool);
  }
}

void Invoker::remove(const std::string& name) {
  std::vector<std::string> keys;
  for (const auto& [key, st] : impl_->functions)
    if (key == name || (key.starts_with(name + ":") && st->config->name == name))
      keys.push_back(key);
  for (const std::string& key : keys) impl_->remove_key(key, name);
  impl_->aliases.erase(name);
  impl_->reserved.erase(name);
}

void Invoker::remove_version(const std::string& name, const std::string& version) {
  impl_->remove_key(pool_key(name, version), name);
}

void Invoker::upsert_alias(registry::AliasRecord alias) {
  auto& slot = impl_->aliases[alias.function][alias.name];
  slot = std::move(alias);
}

void Invoker::remove_alias(const std::string& function, const std::string& alias) {
  auto it = impl_->aliases.find(function);
  if (it != impl_->aliases.end()) it->second.erase(alias);
}

void Invoker::set_reserved_concurrency(const std::string& name, std::optional<int> reserved) {
  if (reserved) {
    impl_->reserved[name] = *reserved;
  } else {
    impl_->reserved.erase(name);
  }
}

void Invoker::post_remove_version(std::string name, std::string version) {
  asio::post(impl_->io,
             [this, n = std::move(name), v = std::move(version)] { remove_version(n, v); });
}

void Invoker::post_upsert_alias(registry::AliasRecord alias) {
  asio::post(impl_->io, [this, a = std::move(alias)]() mutable { upsert_alias(std::move(a)); });
}

void Invoker::post_remove_alias(std::string function, std::string alias) {
  asio::post(impl_->io,
             [this, f = std::move(function), a = std::move(alias)] { remove_alias(f, a); });
}

void Invoker::post_set_reserved_concurrency(std::string name, std::optional<int> reserved) {
  asio::post(impl_->io,
             [this, n = std::move(name), reserved] { set_reserved_concurrency(n, reserved); });
}

std::optional<std::string> Invoker::resolve_qualifier(const std::string& name,
                                                      const std::string& qualifier) {
  if (find(name) == nullptr) return std::nullopt;
  if (qualifier.empty() || qualifier == "$LATEST") return std::string("$LATEST");
  auto live = [this, &name](const std::string& version) {
    auto it = impl_->functions.find(pool_key(name, version));
    return it != impl_->functions.end() && !it->second->removed;
  };
  if (qualifier.find_first_not_of("0123456789") == std::string::npos)
    return live(qualifier) ? std::optional<std::string>(qualifier) : std::nullopt;
  auto fit = impl_->aliases.find(name);
  if (fit == impl_->aliases.end()) return std::nullopt;
  auto ait = fit->second.find(qualifier);
  if (ait == fit->second.end()) return std::nullopt;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::string version = pick_version(ait->second, uniform(impl_->rng));
  return version;
}

void Invoker::Impl::remove_key(const std::string& key, const std::string& name) {
  auto it = functions.find(key);
  if (it == functions.end()) return;
  auto fn = it->second;
  fn->removed = true;
  std::vector<Environment*> all;
  for (auto& e : fn->envs)
    if (!e->current || e->answered) all.push_back(e.get());
  for (Environment* e : all) kill(*e);
  auto queue = std::move(fn->queue);
  fn->queue.clear();
  for (auto& inv : queue) {
    InvokeResult r;
    r.status = 404;
    r.error_type = "ResourceNotFoundException";
    r.error_message = "Function not found: " + arn(name);
    r.request_id = inv->req.request_id;
    inv->done(std::move(r));
  }
  if (fn->envs.empty()) functions.erase(key);
}

void Invoker::post_upsert(registry::FunctionRecord record) {
  asio::post(impl_->io, [this, r = std::move(record)]() mutable { upsert(std::move(r)); });
}

void Invoker::post_remove(std::string name) {
  asio::post(impl_->io, [this, n = std::move(name)] { remove(n); });
}

const registry::FunctionRecord* Invoker::find(const std::string& name) const {
  auto it = impl_->functions.find(name);
  if (it == impl_->functions.end() || it->second->removed) return nullptr;
  return it->second->config.get();
}

void Invoker::invoke(InvokeRequest req, Done done) {
  if (req.request_id.empty()) req.request_id = uuid4();
  auto it = impl_->functions.find(pool_key(req.function, req.qualifier));
  if (impl_->stopping || it == impl_->functions.end() || it->second->removed) {
    InvokeResult r;
    r.status = impl_->stopping ? 503 : 404;
    r.error_type = impl_->stopping ? "ServiceException" : "ResourceNotFoundException";
    r.error_message = impl_->stopping ? "lambdad is shutting down"
                                      : "Function not found: " +
                                            impl_->arn(pool_key(req.function, req.qualifier));
    r.request_id = req.request_id;
    done(std::move(r));
    return;
  }
  if (req.invoked_arn.empty()) req.invoked_arn = impl_->arn(req.function);
  auto inv = std::make_unique<Invocation>();
  inv->payload = std::make_shared<const std::string>(std::move(req.payload));
  inv->req = std::move(req);
  inv->done = std::move(done);
  impl_->dispatch(it->second, std::move(inv));
}

void Invoker::shutdown() {
  if (!impl_ || impl_->stopping) return;
  impl_->stopping = true;
  impl_->reaper.cancel();
  std::vector<std::string> names;
  for (auto& [name, fn] : impl_->functions) names.push_back(name);
  for (auto& [name, fn] : impl_->functions) {
    for (auto& e : fn->envs) {
      if (e->current && !e->answered) {
        e->drain_pipes();
        impl_->complete(*e,
                        error_json("Runtime.ExitError", "RequestId: " + e->current->req.request_id +
                                                            " Error: lambdad is shutting down"),
                        true, "error", "Runtime.ExitError");
      }
      impl_->kill(*e);
    }
    auto queue = std::move(fn->queue);
    fn->queue.clear();
    for (auto& inv : queue) {
      InvokeResult r;
      r.status = 503;
      r.error_type = "ServiceException";
      r.error_message = "lambdad is shutting down";
      r.request_id = inv->req.request_id;
      inv->done(std::move(r));
    }
  }
  // Reap synchronously: the io loop may not run again.
  for (auto& [name, fn] : impl_->functions)
    for (auto& e : fn->envs)
      if (e->child.pid > 0) ::waitpid(e->child.pid, nullptr, 0);
}

Stats Invoker::stats() const {
  Stats s = impl_->stats;
  s.environments = impl_->live_envs;
  return s;
}

}  // namespace lambdad::invoke
