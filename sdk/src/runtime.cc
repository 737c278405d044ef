// The invoke loop: GET /next, call the handler, POST /response or /error.
#include "lambdad/runtime.h"

#include <cxxabi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <typeinfo>

#include "http_client.h"
#include "runtime_internal.h"

namespace lambdad {
namespace sdk_detail {
namespace {

constexpr std::string_view kApiPrefix = "/2018-06-01/runtime/";
// aws-lambda-cpp retries a failed /next this many times before it gives up.
constexpr int kNextAttempts = 3;

void log_error(std::string_view what) {
  std::string line = "lambdad-sdk: ";
  line.append(what).append("\n");
  // stderr is the function log; write(2) so nothing is buffered if we exit next.
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

std::string error_json(std::string_view message, std::string_view type) {
  std::string body = "{\"errorMessage\":\"";
  body += json_escape(message);
  body += "\",\"errorType\":\"";
  body += json_escape(type);
  body += "\",\"stackTrace\":[]}";
  return body;
}

// A header value must not break the request framing.
std::string header_safe(std::string_view v) {
  std::string out(v);
  for (char& c : out) {
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
  return out;
}

// Request ids are UUIDs; percent-encode anything else so a hostile id cannot alter the path.
void append_path_segment(std::string& path, std::string_view seg) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : seg) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      path += ch;
    } else {
      path += '%';
      path += kHex[c >> 4];
      path += kHex[c & 0xf];
    }
  }
}

bool parse_millis(const std::string* s, std::chrono::milliseconds& out) {
  if (s == nullptr || s->empty() || s->size() > 19) return false;
  long long v = 0;
  for (char c : *s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = std::chrono::milliseconds(v);
  return true;
}

void copy_header(const HttpResponse& r, std::string_view name, std::string& dest) {
  const std::string* v = r.header(name);
  if (v != nullptr) {
    dest = *v;
  } else {
    dest.clear();
  }
}

// Custom runtimes get no _X_AMZN_TRACE_ID from the platform; X-Ray SDKs read it from here.
// setenv() would keep every distinct value it was ever given (glibc never frees them: a leak
// of ~100 bytes per invocation), so one buffer of ours stays in environ, rewritten in place.
void set_trace_env(const std::string& trace) {
  static constexpr std::string_view kKey = "_X_AMZN_TRACE_ID=";
  static char entry[512];
  if (trace.empty()) {
    if (::getenv("_X_AMZN_TRACE_ID") != nullptr) ::unsetenv("_X_AMZN_TRACE_ID");
    return;
  }
  if (kKey.size() + trace.size() >= sizeof entry) {  // not a real trace id; rare
    ::setenv("_X_AMZN_TRACE_ID", trace.c_str(), 1);
    return;
  }
  std::memcpy(entry, kKey.data(), kKey.size());
  std::memcpy(entry + kKey.size(), trace.data(), trace.size());
  entry[kKey.size() + trace.size()] = '\0';
  // Someone may have set it since (setenv replaces our entry): put ours back.
  if (::getenv("_X_AMZN_TRACE_ID") != entry + kKey.size()) ::putenv(entry);
}

enum class NextResult { kOk, kFatal };

const std::string& next_path() {
  static const std::string kPath = std::string(kApiPrefix) + "invocation/next";
  return kPath;
}

NextResult take_next(HttpResponse& resp, InvocationRequest& req);

NextResult next_invocation(HttpClient& client, HttpResponse& resp, InvocationRequest& req) {
  std::string error;
  for (int attempt = 1;; ++attempt) {
    if (client.request("GET", next_path(), {}, {}, resp, error)) break;
    if (attempt == kNextAttempts) {
      log_error("GET /next failed: " + error);
      return NextResult::kFatal;
    }
  }
  return take_next(resp, req);
}

// The invocation in a /next answer (its body is moved into req.payload).
NextResult take_next(HttpResponse& resp, InvocationRequest& req) {
  if (resp.status != 200) {
    log_error("GET /next answered HTTP " + std::to_string(resp.status) + ": " + resp.body);
    return NextResult::kFatal;
  }
  copy_header(resp, "lambda-runtime-aws-request-id", req.request_id);
  if (req.request_id.empty()) {
    log_error("GET /next answered without Lambda-Runtime-Aws-Request-Id");
    return NextResult::kFatal;
  }
  if (!parse_millis(resp.header("lambda-runtime-deadline-ms"), req.deadline)) {
    req.deadline = std::chrono::milliseconds(0);
  }
  copy_header(resp, "lambda-runtime-invoked-function-arn", req.invoked_function_arn);
  copy_header(resp, "lambda-runtime-client-context", req.client_context);
  copy_header(resp, "lambda-runtime-cognito-identity", req.cognito_identity);
  copy_header(resp, "lambda-runtime-trace-id", req.xray_trace_id);
  req.payload.swap(resp.body);
  return NextResult::kOk;
}

InvocationResponse call_handler(const Handler& handler, const InvocationRequest& req) {
  try {
    return handler(req);
  } catch (const std::exception& e) {
    return InvocationResponse::failure(e.what(), demangle(typeid(e).name(), "std::exception"));
  } catch (...) {
    const std::type_info* t = abi::__cxa_current_exception_type();
    return InvocationResponse::failure("Unhandled exception of a non-std::exception type",
                                       demangle(t != nullptr ? t->name() : nullptr, "Unknown"));
  }
}

// Posts one result. Returns false when the loop must stop (transport failure or 5xx); a 4xx
// (413 too large, 400/403 for a stale id) is logged and the loop goes on to the next invoke.
// With `next`, GET /next goes out in the same write (HTTP/1.1 pipelining: one sendmsg per
// invocation instead of two; the Runtime API answers requests on a connection in order) and
// `next_received` says whether its answer is in *next (if not, the caller asks again).
bool post_result(HttpClient& client, HttpResponse& resp, const std::string& request_id,
                 const InvocationResponse& result, HttpResponse* next, bool& next_received) {
  next_received = false;
  std::string path(kApiPrefix);
  path += "invocation/";
  append_path_segment(path, request_id);
  HeaderList headers;
  std::string type_header;
  if (result.is_success()) {
    path += "/response";
    headers.emplace_back("Content-Type", result.content_type());
  } else {
    path += "/error";
    type_header = header_safe(result.error_type());
    headers.emplace_back("Content-Type", "application/json");
    headers.emplace_back("Lambda-Runtime-Function-Error-Type", type_header);
  }
  std::string error;
  bool posted = false;
  if (next == nullptr) {
    posted = client.request("POST", path, headers, result.payload(), resp, error);
  } else {
    const auto r = client.request_then("POST", path, headers, result.payload(), resp, "GET",
                                       next_path(), *next, error);
    posted = r != HttpClient::Pipelined::kFirstFailed;
    next_received = r == HttpClient::Pipelined::kBoth;
    if (r == HttpClient::Pipelined::kSecondFailed) {
      log_error("GET /next failed: " + error + " (asking again)");
      error.clear();
    }
  }
  if (!posted) {
    log_error("POST " + path + " failed: " + error);
    return false;
  }
  if (resp.status / 100 == 2) return true;
  log_error("POST " + path + " answered HTTP " + std::to_string(resp.status) + ": " + resp.body);
  return resp.status < 500;
}

bool open_client(const std::string& configured, Endpoint& endpoint) {
  std::string value = configured;
  if (value.empty()) {
    const char* env = std::getenv("AWS_LAMBDA_RUNTIME_API");
    if (env == nullptr || *env == '\0') {
      log_error("AWS_LAMBDA_RUNTIME_API is not set; this program must run as a Lambda bootstrap");
      return false;
    }
    value = env;
  }
  if (!parse_endpoint(value, endpoint)) {
    log_error("AWS_LAMBDA_RUNTIME_API is not host:port: " + value);
    return false;
  }
  return true;
}

int post_init_error(HttpClient& client, std::string_view message, std::string_view type) {
  static const std::string kPath = std::string(kApiPrefix) + "init/error";
  std::string body = error_json(message, type);
  std::string type_header = header_safe(type);
  HeaderList headers = {{"Content-Type", "application/json"},
                        {"Lambda-Runtime-Function-Error-Type", type_header}};
  HttpResponse resp;
  std::string error;
  if (!client.request("POST", kPath, headers, body, resp, error)) {
    log_error("POST /init/error failed: " + error);
  } else if (resp.status / 100 != 2) {
    log_error("POST /init/error answered HTTP " + std::to_string(resp.status));
  }
  return 1;
}

}  // namespace

std::string demangle(const char* mangled, const char* fallback) {
  if (mangled == nullptr) return fallback;
  int status = 0;
  char* name = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  if (status != 0 || name == nullptr) return fallback;
  std::string out(name);
  std::free(name);
  return out;
}

int run_with_options(const Handler& handler, const RunOptions& options) {
  Endpoint endpoint;
  if (!open_client(options.runtime_api, endpoint)) return 1;
  HttpClient client(std::move(endpoint));
  if (!handler) {
    log_error("run() was given an empty handler");
    return post_init_error(client, "lambdad::run() was given an empty handler",
                           "Runtime.InvalidEntrypoint");
  }
  InvocationRequest req;
  HttpResponse resp;
  HttpResponse next;
  bool have_next = false;
  for (std::size_t served = 0; options.max_invocations == 0 || served < options.max_invocations;
       ++served) {
    if (have_next ? take_next(next, req) == NextResult::kFatal
                  : next_invocation(client, resp, req) == NextResult::kFatal)
      return 1;
    set_trace_env(req.xray_trace_id);
    InvocationResponse result = call_handler(handler, req);
    // Logs printed by the handler belong before the platform's END line.
    std::fflush(stdout);
    const bool more = options.max_invocations == 0 || served + 1 < options.max_invocations;
    if (!post_result(client, resp, req.request_id, result, more ? &next : nullptr, have_next))
      return 1;
  }
  return 0;
}

}  // namespace sdk_detail

std::chrono::milliseconds InvocationRequest::get_time_remaining() const {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return deadline - now;
}

InvocationResponse InvocationResponse::success(std::string payload, std::string content_type) {
  InvocationResponse r;
  r.success_ = true;
  r.payload_ = std::move(payload);
  r.content_type_ = std::move(content_type);
  return r;
}

InvocationResponse InvocationResponse::failure(std::string error_message, std::string error_type) {
  InvocationResponse r;
  r.success_ = false;
  r.payload_ = sdk_detail::error_json(error_message, error_type);
  r.content_type_ = "application/json";
  r.error_type_ = std::move(error_type);
  return r;
}

int run(Handler handler) { return sdk_detail::run_with_options(handler, sdk_detail::RunOptions{}); }

int report_init_error(std::string_view error_message, std::string_view error_type) {
  sdk_detail::Endpoint endpoint;
  if (!sdk_detail::open_client({}, endpoint)) return 1;
  sdk_detail::HttpClient client(std::move(endpoint));
  return sdk_detail::post_init_error(client, error_message, error_type);
}

}  // namespace lambdad
