// `lambdad tune NAME --memory 128,256,... [--payload F | -d JSON] [--runs N] [--report F.html]`:
// power tuning over the control API. For each memory size: UpdateFunctionConfiguration, wait
// for LastUpdateStatus Successful, one warm-up invoke, N invokes with LogType Tail; Duration
// and Billed Duration come from the REPORT line. Prints a table, names the cheapest, fastest
// and balanced size, writes an HTML report with an inline SVG chart, restores the original
// MemorySize (also when a step fails) and stores the result on the server (PUT
// /lambdad/tune/NAME -> <data_dir>/tune/NAME.json) for the web console's tuning chart.
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli.h"
#include "cli/http_client.h"
#include "common/encoding.h"
#include "metering/billing.h"

namespace lambdad::cli {

namespace json = boost::json;

struct TuneRow {
  int memory_mb = 0;
  std::vector<double> durations_ms;
  std::vector<int64_t> billed_ms;
  int errors = 0;
  double p50 = 0, p95 = 0, avg_billed = 0;
  int64_t cost_per_million_pico = 0;
};

// Duration and Billed Duration (ms) from the REPORT line of a log tail; false when absent.
bool parse_report(const std::string& log, double& duration_ms, int64_t& billed_ms) {
  const size_t at = log.rfind("REPORT RequestId:");
  if (at == std::string::npos) return false;
  const size_t eol = log.find('\n', at);
  const std::string line = log.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
  bool have_d = false, have_b = false;
  std::stringstream ss(line);
  std::string field;
  while (std::getline(ss, field, '\t')) {
    if (field.rfind("Duration: ", 0) == 0) {
      duration_ms = std::strtod(field.c_str() + 10, nullptr);
      have_d = true;
    } else if (field.rfind("Billed Duration: ", 0) == 0) {
      billed_ms = std::strtoll(field.c_str() + 17, nullptr, 10);
      have_b = true;
    }
  }
  return have_d && have_b;
}

namespace {

double pct(std::vector<double> v, int p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = (size_t(p) * v.size() + 99) / 100;
  return v[std::max<size_t>(rank, 1) - 1];
}

std::string fn_path(const std::string& name) { return "/2015-03-31/functions/" + name; }

struct Ctx {
  std::string url, name;
  std::string error;
};

// GetFunctionConfiguration as a JSON object; empty object + ctx.error on failure.
json::object get_config(Ctx& c) {
  HttpReply r = http_call(c.url, "GET", fn_path(c.name) + "/configuration");
  if (r.status != 200) {
    c.error = r.status == 0
                  ? "cannot reach " + c.url + ": " + r.error
                  : "GetFunctionConfiguration: HTTP " + std::to_string(r.status) + " " + r.body;
    return {};
  }
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) {
    c.error = "GetFunctionConfiguration: bad JSON";
    return {};
  }
  return v.as_object();
}

bool set_memory(Ctx& c, int mb) {
  json::object body;
  body["MemorySize"] = mb;
  HttpReply r = http_call(c.url, "PUT", fn_path(c.name) + "/configuration",
                          {{"Content-Type", "application/json"}}, json::serialize(body));
  if (r.status != 200) {
    c.error = r.status == 0 ? "cannot reach " + c.url + ": " + r.error
                            : "UpdateFunctionConfiguration MemorySize=" + std::to_string(mb) +
                                  ": HTTP " + std::to_string(r.status) + " " + r.body;
    return false;
  }
  // Wait for LastUpdateStatus Successful (AWS: InProgress for a few seconds).
  for (int i = 0; i < 600; ++i) {
    json::object cfg = get_config(c);
    if (cfg.empty()) return false;
    const auto* st = cfg.if_contains("LastUpdateStatus");
    const std::string status = st && st->is_string() ? std::string(st->as_string()) : "Successful";
    if (status == "Successful") return true;
    if (status == "Failed") {
      c.error = "UpdateFunctionConfiguration MemorySize=" + std::to_string(mb) + " failed";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  c.error = "timed out waiting for LastUpdateStatus Successful";
  return false;
}

// One invoke with LogType Tail. false + ctx.error on transport/API failure.
bool invoke_once(Ctx& c, const std::string& payload, std::string& log, bool& function_error) {
  HttpReply r = http_call(
      c.url, "POST", fn_path(c.name) + "/invocations",
      {{"X-Amz-Invocation-Type", "RequestResponse"}, {"X-Amz-Log-Type", "Tail"}}, payload);
  if (r.status != 200) {
    c.error = r.status == 0 ? "cannot reach " + c.url + ": " + r.error
                            : "Invoke: HTTP " + std::to_string(r.status) + " " + r.body;
    return false;
  }
  function_error = r.headers.count("x-amz-function-error") > 0;
  log.clear();
  if (auto it = r.headers.find("x-amz-log-result"); it != r.headers.end()) {
    auto text = base64_decode(it->second);
    if (text) log = *text;
  }
  return true;
}

std::string money(int64_t pico) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", double(pico) / 1e12);
  return buf;
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (ch == '<')
      o += "&lt;";
    else if (ch == '>')
      o += "&gt;";
    else if (ch == '&')
      o += "&amp;";
    else if (ch == '"')
      o += "&quot;";
    else
      o += ch;
  }
  return o;
}

// Bars: cost per 1M invocations; line: p50 duration. Inline SVG, no external assets.
std::string report_html(const std::string& name, const std::string& arch,
                        const std::vector<TuneRow>& rows, int cheapest, int fastest, int balanced) {
  const int w = 720, h = 320, left = 70, right = 70, top = 30, bottom = 50;
  const int pw = w - left - right, ph = h - top - bottom;
  int64_t max_cost = 1;
  double max_dur = 0.001;
  for (const auto& r : rows) {
    max_cost = std::max(max_cost, r.cost_per_million_pico);
    max_dur = std::max(max_dur, r.p50);
  }
  std::ostringstream s;
  s << "<!doctype html><html><head><meta charset=\"utf-8\"><title>lambdad tune "
    << html_escape(name)
    << "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style></head><body>";
  s << "<h1>Power tuning: " << html_escape(name) << " (" << html_escape(arch) << ")</h1>";
  s << "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
    << "\" viewBox=\"0 0 " << w << " " << h << "\">";
  s << "<line x1=\"" << left << "\" y1=\"" << top + ph << "\" x2=\"" << left + pw << "\" y2=\""
    << top + ph << "\" stroke=\"#333\"/>";
  const double slot = rows.empty() ? pw : double(pw) / double(rows.size());
  std::string points;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const double bh = double(ph) * double(r.cost_per_million_pico) / double(max_cost);
    const double x = left + slot * double(i) + slot * 0.2;
    s << "<rect class=\"cost\" x=\"" << x << "\" y=\"" << top + ph - bh << "\" width=\""
      << slot * 0.6 << "\" height=\"" << bh << "\" fill=\""
      << (int(i) == cheapest ? "#2a9d8f" : "#8ecae6") << "\"><title>$"
      << money(r.cost_per_million_pico) << " per 1M</title></rect>";
    s << "<text x=\"" << x + slot * 0.3 << "\" y=\"" << top + ph + 18
      << "\" text-anchor=\"middle\" font-size=\"12\">" << r.memory_mb << " MB</text>";
    const double py = top + ph - double(ph) * r.p50 / max_dur;
    points += std::to_string(x + slot * 0.3) + "," + std::to_string(py) + " ";
  }
  s << "<polyline fill=\"none\" stroke=\"#e76f51\" stroke-width=\"2\" points=\"" << points
    << "\"/>";
  s << "<text x=\"" << left
    << "\" y=\"18\" font-size=\"12\" fill=\"#2a9d8f\">bars: $ per 1M "
       "invocations (max $"
    << money(max_cost) << ")</text>";
  s << "<text x=\"" << left + pw
    << "\" y=\"18\" font-size=\"12\" fill=\"#e76f51\" "
       "text-anchor=\"end\">line: p50 duration (max "
    << max_dur << " ms)</text></svg>";
  s << "<table><tr><th>Memory MB</th><th>p50 ms</th><th>p95 ms</th><th>avg billed ms</th>"
       "<th>$ per 1M</th><th>errors</th></tr>";
  for (const auto& r : rows) {
    s << "<tr><td>" << r.memory_mb << "</td><td>" << r.p50 << "</td><td>" << r.p95 << "</td><td>"
      << r.avg_billed << "</td><td>" << money(r.cost_per_million_pico) << "</td><td>" << r.errors
      << "</td></tr>";
  }
  s << "</table><p>Cheapest: " << rows[size_t(cheapest)].memory_mb
    << " MB. Fastest: " << rows[size_t(fastest)].memory_mb
    << " MB. Balanced: " << rows[size_t(balanced)].memory_mb << " MB.</p>";
  s << "<p>Prices: " << metering::kPricesDate << ", incl. $0.20 per 1M requests.</p>";
  s << "</body></html>\n";
  return s.str();
}

// The result as the console charts it (PUT /lambdad/tune/NAME, stored in <data_dir>/tune).
std::string result_json(const std::string& name, const std::string& arch, int runs,
                        const std::vector<TuneRow>& rows, int cheapest, int fastest, int balanced) {
  json::array items;
  for (const auto& r : rows) {
    json::object o;
    o["memoryMb"] = r.memory_mb;
    o["p50Ms"] = r.p50;
    o["p95Ms"] = r.p95;
    o["avgBilledMs"] = r.avg_billed;
    o["costPerMillionPico"] = r.cost_per_million_pico;
    o["usdPerMillion"] = money(r.cost_per_million_pico);
    o["errors"] = r.errors;
    items.push_back(std::move(o));
  }
  json::object out;
  out["function"] = name;
  out["architecture"] = arch;
  out["runs"] = runs;
  out["rows"] = std::move(items);
  out["cheapest"] = rows[size_t(cheapest)].memory_mb;
  out["fastest"] = rows[size_t(fastest)].memory_mb;
  out["balanced"] = rows[size_t(balanced)].memory_mb;
  out["prices"] = metering::kPricesDate;
  return json::serialize(out);
}

void usage_line() {
  std::fprintf(stderr,
               "usage: lambdad tune NAME --memory 128,256,512,1024,1769,3008 [--payload F | -d "
               "JSON] [--runs N] [--report F.html] [--endpoint-url URL]\n");
}

}  // namespace

int tune(Args& args) {
  Ctx c;
  c.url = endpoint_url(args);
  std::string payload = "{}", report;
  std::vector<int> sizes;
  int runs = 10;
  for (size_t i = 0; i < args.rest.size(); ++i) {
    const std::string& a = args.rest[i];
    const bool has = i + 1 < args.rest.size();
    if (a == "--memory" && has) {
      std::stringstream ss(args.rest[++i]);
      std::string item;
      while (std::getline(ss, item, ',')) {
        if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos) {
          usage_line();
          return 2;
        }
        sizes.push_back(std::stoi(item));
      }
    } else if (a == "--payload" && has) {
      std::ifstream in(args.rest[++i], std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "lambdad tune: cannot read %s\n", args.rest[i].c_str());
        return 2;
      }
      std::stringstream ss;
      ss << in.rdbuf();
      payload = ss.str();
    } else if (a == "-d" && has) {
      payload = args.rest[++i];
    } else if (a == "--runs" && has) {
      runs = std::max(1, std::atoi(args.rest[++i].c_str()));
    } else if (a == "--report" && has) {
      report = args.rest[++i];
    } else if (c.name.empty() && !a.starts_with("-")) {
      c.name = a;
    } else {
      usage_line();
      return 2;
    }
  }
  if (c.name.empty() || sizes.empty()) {
    usage_line();
    return 2;
  }
  if (report.empty()) report = "tune-" + c.name + ".html";

  json::object orig = get_config(c);
  if (orig.empty()) {
    std::fprintf(stderr, "lambdad tune: %s\n", c.error.c_str());
    return 1;
  }
  const int original_mb = orig.contains("MemorySize") && orig["MemorySize"].is_int64()
                              ? int(orig["MemorySize"].as_int64())
                              : 128;
  std::string arch = "x86_64";
  if (auto* a = orig.if_contains("Architectures");
      a && a->is_array() && !a->as_array().empty() && a->as_array()[0].is_string())
    arch = std::string(a->as_array()[0].as_string());
  const metering::Prices prices;

  std::vector<TuneRow> rows;
  bool ok = true;
  for (int mb : sizes) {
    std::fprintf(stderr, "lambdad tune: %s at %d MB ...\n", c.name.c_str(), mb);
    if (!set_memory(c, mb)) {
      ok = false;
      break;
    }
    TuneRow row;
    row.memory_mb = mb;
    std::string log;
    bool ferr = false;
    if (!invoke_once(c, payload, log, ferr)) {  // warm-up (cold start, not measured)
      ok = false;
      break;
    }
    for (int i = 0; i < runs && ok; ++i) {
      if (!invoke_once(c, payload, log, ferr)) {
        ok = false;
        break;
      }
      if (ferr) row.errors++;
      double d = 0;
      int64_t b = 0;
      if (!parse_report(log, d, b)) {
        c.error = "no REPORT line in the log tail";
        ok = false;
        break;
      }
      row.durations_ms.push_back(d);
      row.billed_ms.push_back(b);
    }
    if (!ok) break;
    row.p50 = pct(row.durations_ms, 50);
    row.p95 = pct(row.durations_ms, 95);
    int64_t sum_billed = 0;
    __int128 sum_cost = 0;
    for (int64_t b : row.billed_ms) {
      sum_billed += b;
      sum_cost += metering::cost_per_million_pico(b, mb, arch, prices);
    }
    const auto n = int64_t(row.billed_ms.size());
    row.avg_billed = double(sum_billed) / double(n);
    row.cost_per_million_pico = int64_t((sum_cost + n / 2) / n);
    rows.push_back(std::move(row));
  }
  // Restore the original configuration whatever happened above.
  const std::string failure = c.error;
  if (!set_memory(c, original_mb)) {
    std::fprintf(stderr, "lambdad tune: could not restore MemorySize=%d: %s\n", original_mb,
                 c.error.c_str());
    return 1;
  }
  std::fprintf(stderr, "lambdad tune: restored MemorySize=%d\n", original_mb);
  if (!ok) {
    std::fprintf(stderr, "lambdad tune: %s\n", failure.c_str());
    return 1;
  }

  int cheapest = 0, fastest = 0, balanced = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].cost_per_million_pico < rows[size_t(cheapest)].cost_per_million_pico)
      cheapest = int(i);
    if (rows[i].p50 < rows[size_t(fastest)].p50) fastest = int(i);
  }
  // Balanced: smallest sum of cost and p50 each relative to its best value.
  const double best_cost =
      double(std::max<int64_t>(1, rows[size_t(cheapest)].cost_per_million_pico));
  const double best_p50 = std::max(0.001, rows[size_t(fastest)].p50);
  double best_score = 1e300;
  for (size_t i = 0; i < rows.size(); ++i) {
    const double score =
        double(rows[i].cost_per_million_pico) / best_cost + std::max(0.001, rows[i].p50) / best_p50;
    if (score < best_score - 1e-9) {
      best_score = score;
      balanced = int(i);
    }
  }

  std::printf("%-10s %10s %10s %12s %14s %7s\n", "MEMORY_MB", "P50_MS", "P95_MS", "BILLED_MS",
              "USD_PER_1M", "ERRORS");
  for (const auto& r : rows)
    std::printf("%-10d %10.2f %10.2f %12.3f %14s %7d\n", r.memory_mb, r.p50, r.p95, r.avg_billed,
                money(r.cost_per_million_pico).c_str(), r.errors);
  std::printf("cheapest: %d MB\nfastest: %d MB\nbalanced: %d MB\n",
              rows[size_t(cheapest)].memory_mb, rows[size_t(fastest)].memory_mb,
              rows[size_t(balanced)].memory_mb);
  std::ofstream out(report, std::ios::binary | std::ios::trunc);
  out << report_html(c.name, arch, rows, cheapest, fastest, balanced);
  if (!out) {
    std::fprintf(stderr, "lambdad tune: cannot write %s\n", report.c_str());
    return 1;
  }
  std::printf("report: %s\n", report.c_str());
  // Also hand the result to the server, so the web console can chart it. Not fatal: an older
  // server without the endpoint still got tuned.
  HttpReply stored =
      http_call(c.url, "PUT", "/lambdad/tune/" + c.name, {{"Content-Type", "application/json"}},
                result_json(c.name, arch, runs, rows, cheapest, fastest, balanced));
  if (stored.status == 200)
    std::printf("console: %s/console#fn=%s\n", c.url.c_str(), c.name.c_str());
  else
    std::fprintf(stderr, "lambdad tune: could not store the result on the server: %s\n",
                 stored.status == 0 ? stored.error.c_str()
                                    : ("HTTP " + std::to_string(stored.status)).c_str());
  return 0;
}

}  // namespace lambdad::cli
