#include "api/console_api.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cctype>
#include <fstream>
#include <sstream>

#include "api/console_assets.h"
#include "api/errors.h"
#include "api/server.h"
#include "metering/billing.h"
#include "metering/usage.h"

namespace lambdad::api {

namespace json = boost::json;

namespace {

constexpr std::string_view kUsage = "/lambdad/usage";
constexpr std::string_view kSeries = "/lambdad/usage/series";
constexpr std::string_view kTunePrefix = "/lambdad/tune/";
constexpr size_t kMaxTuneBody = 256 * 1024;
constexpr int kMaxLimit = 1000;

bool valid_function_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

// A non-negative integer query value; `fallback` when absent, nullopt when malformed.
std::optional<int64_t> int_param(std::string_view query, std::string_view key, int64_t fallback) {
  const std::string v = query_param(query, key);
  if (v.empty()) return fallback;
  if (v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(v);
}

HttpResponse bad(const std::string& message) {
  return lambda_error(400, "InvalidParameterValueException", message);
}

HttpResponse json_reply(const json::value& v) {
  HttpResponse r;
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = json::serialize(v);
  return r;
}

double ms(int64_t us) { return double(us) / 1000.0; }

HttpResponse usage(const std::string& data_dir, const HttpRequest& req) {
  const std::string fn = query_param(req.query, "function");
  if (!fn.empty() && !valid_function_name(fn)) return bad("function: not a function name");
  const auto limit = int_param(req.query, "limit", 50);
  if (!limit || *limit < 1 || *limit > kMaxLimit)
    return bad("limit: an integer from 1 to " + std::to_string(kMaxLimit));
  auto rows = metering::recent_usage(data_dir, fn, int(*limit));
  if (!rows) return error_response(rows.error());
  json::array items;
  for (const auto& r : *rows) {
    json::object o;
    o["function"] = r.function;
    o["version"] = r.version;
    o["requestId"] = r.request_id;
    o["timestamp"] = r.timestamp_ms;
    o["durationMs"] = ms(r.duration_us);
    o["billedMs"] = r.billed_ms;
    o["memoryMb"] = r.memory_mb;
    o["maxMemoryUsedMb"] = r.max_memory_used_mb;
    if (r.init_us > 0)
      o["initDurationMs"] = ms(r.init_us);
    else
      o["initDurationMs"] = nullptr;
    o["cold"] = r.init_us > 0;
    o["status"] = r.status;
    o["architecture"] = r.arch;
    o["costPico"] = r.cost_pico;
    o["costUsd"] = metering::dollars(r.cost_pico);
    items.push_back(std::move(o));
  }
  json::object out;
  out["function"] = fn;
  out["invocations"] = std::move(items);
  return json_reply(out);
}

HttpResponse series(const std::string& data_dir, const HttpRequest& req, int64_t now_ms) {
  const std::string fn = query_param(req.query, "function");
  if (!fn.empty() && !valid_function_name(fn)) return bad("function: not a function name");
  const auto step_s = int_param(req.query, "step", 60);
  if (!step_s || *step_s < 1 || *step_s > 86'400)
    return bad("step: seconds, an integer from 1 to 86400");
  const auto since = int_param(req.query, "since", now_ms - 3'600'000);
  const auto until = int_param(req.query, "until", now_ms);
  if (!since || !until) return bad("since/until: epoch milliseconds");
  if (*until < *since) return bad("until is before since");
  auto buckets = metering::usage_series(data_dir, fn, *since, *until, *step_s * 1000);
  if (!buckets) return error_response(buckets.error());
  json::array items;
  for (const auto& b : *buckets) {
    json::object o;
    o["t"] = b.minute_ms;
    o["invocations"] = b.invocations;
    o["errors"] = b.errors;
    o["coldStarts"] = b.cold_starts;
    o["p50Ms"] = ms(b.p50_duration_us);
    o["p95Ms"] = ms(b.p95_duration_us);
    o["p99Ms"] = ms(b.p99_duration_us);
    o["maxMs"] = ms(b.max_duration_us);
    o["gbSeconds"] = double(b.gb_ms_x1024) / 1024.0 / 1000.0;
    o["costPico"] = b.cost_pico;
    o["costUsd"] = double(b.cost_pico) / 1e12;
    items.push_back(std::move(o));
  }
  json::object out;
  out["function"] = fn;
  out["step"] = *step_s;
  out["since"] = *since;
  out["until"] = *until;
  out["buckets"] = std::move(items);
  return json_reply(out);
}

std::string tune_path(const std::string& data_dir, std::string_view fn) {
  return data_dir + "/tune/" + std::string(fn) + ".json";
}

HttpResponse get_tune(const std::string& data_dir, std::string_view fn) {
  std::ifstream in(tune_path(data_dir, fn), std::ios::binary);
  if (!in)
    return lambda_error(404, "ResourceNotFoundException",
                        "No tuning result for " + std::string(fn) + ": run `lambdad tune " +
                            std::string(fn) + " --memory ...`");
  std::stringstream ss;
  ss << in.rdbuf();
  HttpResponse r;
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = ss.str();
  return r;
}

// Validates the body (a JSON object with a "rows" array), stamps the function name and writes
// it atomically (temp file + rename) so a reader never sees half a result.
HttpResponse put_tune(const std::string& data_dir, std::string_view fn, const HttpRequest& req,
                      int64_t now_ms) {
  if (req.body.size() > kMaxTuneBody)
    return lambda_error(
        413, "RequestEntityTooLargeException",
        "Tuning results must be smaller than " + std::to_string(kMaxTuneBody) + " bytes");
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec || !v.is_object())
    return lambda_error(400, "InvalidRequestContentException",
                        "Could not parse request body into json: a JSON object is expected");
  json::object& o = v.as_object();
  const json::value* rows = o.if_contains("rows");
  if (rows == nullptr || !rows->is_array())
    return bad("rows: an array of {memoryMb, p50Ms, p95Ms, avgBilledMs, costPerMillionPico}");
  o["function"] = std::string(fn);
  o["storedAt"] = now_ms;
  const std::string dir = data_dir + "/tune";
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return error_response(Error::from_errno(errno, "mkdir " + dir));
  const std::string path = tune_path(data_dir, fn);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << json::serialize(o);
    if (!out.flush()) {
      ::unlink(tmp.c_str());
      return error_response(Error::make(Code::kInternal, "write " + tmp));
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return error_response(Error::from_errno(e, "rename " + tmp));
  }
  return json_reply(o);
}

}  // namespace

std::optional<HttpResponse> console_static(std::string_view path,
                                           const std::string* if_none_match) {
  std::string_view name;
  if (path == "/console" || path == "/console/")
    name = "index.html";
  else if (path.starts_with("/console/"))
    name = path.substr(9);
  else
    return std::nullopt;
  for (const ConsoleAsset& a : console_assets()) {
    if (a.name != name) continue;
    HttpResponse r;
    r.headers.emplace_back("ETag", std::string(a.etag));
    // Revalidate every time: cheap (304), and a new lambdad binary shows its new console.
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    // Everything comes from this server: no inline script, no other origin, no framing.
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                           "base-uri 'none'; form-action 'none'");
    if (if_none_match != nullptr && *if_none_match == a.etag) {
      r.status = 304;
      r.headers.emplace_back("Content-Type", std::string(a.content_type));
      return r;
    }
    r.headers.emplace_back("Content-Type", std::string(a.content_type));
    r.body = std::string(a.body);
    return r;
  }
  return lambda_error(404, "ResourceNotFoundException", "No console file " + std::string(name));
}

bool is_console_api(std::string_view path) {
  return path == kUsage || path == kSeries || path.starts_with(kTunePrefix);
}

HttpResponse handle_console_api(const std::string& data_dir, const HttpRequest& req,
                                int64_t now_ms) {
  const bool tune = req.path.starts_with(kTunePrefix);
  if (tune) {
    const std::string_view fn = std::string_view(req.path).substr(kTunePrefix.size());
    if (!valid_function_name(fn)) return bad("function name: 1 to 64 letters, digits, '-' or '_'");
    if (req.method == "GET") return get_tune(data_dir, fn);
    if (req.method == "PUT" || req.method == "POST") return put_tune(data_dir, fn, req, now_ms);
  } else if (req.method == "GET") {
    return req.path == kSeries ? series(data_dir, req, now_ms) : usage(data_dir, req);
  }
  // As the control API answers a known path with a method it does not define.
  HttpResponse r = lambda_error(405, "UnknownOperationException",
                                "Unknown operation " + req.method + " " + req.path);
  r.headers.emplace_back("Allow", tune ? "GET, PUT, POST" : "GET");
  return r;
}

}  // namespace lambdad::api
