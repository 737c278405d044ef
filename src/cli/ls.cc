// `lambdad ls`: one line per function (memory, timeout, async queue depth and oldest event
// age), as a client of ListFunctions and GET /lambdad/async.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <map>

#include "cli/cli.h"
#include "cli/signing.h"
#include "common/encoding.h"

namespace lambdad::cli {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

// GET url+target; status 0 when the endpoint cannot be reached.
std::pair<int, std::string> get(const std::string& url, const std::string& target) {
  std::string rest = url;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t colon = rest.rfind(':');
  const std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
  const std::string port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::error_code ec;
  auto results = resolver.resolve(host, port, ec);
  if (ec) return {0, ec.message()};
  stream.connect(results, ec);
  if (ec) return {0, ec.message()};
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "lambdad-cli/" LAMBDAD_VERSION);
  for (auto& [k, v] : sigv4_headers("GET", std::string(target), {{"Host", host}}, ""))
    req.set(k, v);
  http::write(stream, req, ec);
  if (ec) return {0, ec.message()};
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(stream, buf, parser, ec);
  if (ec) return {0, ec.message()};
  return {static_cast<int>(parser.get().result_int()), std::move(parser.get().body())};
}

}  // namespace

int ls(Args& args) {
  const std::string url = endpoint_url(args);
  struct Row {
    std::string name;
    int64_t memory = 0, timeout = 0, depth = 0;
    double oldest = 0;
  };
  std::vector<Row> rows;
  std::string marker;
  for (;;) {
    auto [status, body] =
        get(url, "/2015-03-31/functions/" + (marker.empty() ? "" : "?Marker=" + marker));
    if (status != 200) {
      std::fprintf(stderr, "lambdad ls: ListFunctions at %s: %s %s\n", url.c_str(),
                   status ? std::to_string(status).c_str() : "", body.c_str());
      return 1;
    }
    json::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) {
      std::fprintf(stderr, "lambdad ls: unreadable ListFunctions reply\n");
      return 1;
    }
    if (const auto* fns = v.as_object().if_contains("Functions"); fns && fns->is_array()) {
      for (const auto& f : fns->as_array()) {
        if (!f.is_object()) continue;
        Row r;
        const auto& o = f.as_object();
        if (const auto* n = o.if_contains("FunctionName"); n && n->is_string())
          r.name = std::string(n->as_string());
        if (const auto* m = o.if_contains("MemorySize"); m && m->is_int64())
          r.memory = m->as_int64();
        if (const auto* t = o.if_contains("Timeout"); t && t->is_int64()) r.timeout = t->as_int64();
        rows.push_back(std::move(r));
      }
    }
    const auto* next = v.as_object().if_contains("NextMarker");
    if (next == nullptr || !next->is_string() || next->as_string().empty()) break;
    marker = std::string(next->as_string());
  }
  // lambdad's own status call; other endpoints (AWS) simply have no async column values.
  auto [astatus, abody] = get(url, "/lambdad/async");
  json::value totals;
  if (astatus == 200) {
    json::error_code ec;
    json::value v = json::parse(abody, ec);
    if (!ec && v.is_object()) {
      std::map<std::string, std::pair<int64_t, double>> by_name;
      if (const auto* fns = v.as_object().if_contains("functions"); fns && fns->is_array())
        for (const auto& f : fns->as_array()) {
          const auto& o = f.as_object();
          by_name[std::string(o.at("name").as_string())] = {
              o.at("depth").to_number<int64_t>(),
              o.at("oldestEventAgeSeconds").to_number<double>()};
        }
      for (auto& r : rows)
        if (auto it = by_name.find(r.name); it != by_name.end()) {
          r.depth = it->second.first;
          r.oldest = it->second.second;
        }
      if (const auto* t = v.as_object().if_contains("totals")) totals = *t;
    }
  }
  std::printf("%-40s %7s %8s %11s %9s\n", "NAME", "MEMORY", "TIMEOUT", "ASYNC-DEPTH", "OLDEST-S");
  for (const auto& r : rows)
    std::printf("%-40s %7lld %8lld %11lld %9.1f\n", r.name.c_str(),
                static_cast<long long>(r.memory), static_cast<long long>(r.timeout),
                static_cast<long long>(r.depth), r.oldest);
  if (totals.is_object()) {
    const auto& t = totals.as_object();
    auto num = [&](const char* k) -> long long {
      const auto* v = t.if_contains(k);
      return v ? v->to_number<long long>() : 0;
    };
    std::printf("async: depth %lld, retries %lld, drops %lld, duplicates %lld\n", num("depth"),
                num("retries"), num("drops"), num("duplicates"));
  }
  return 0;
}

}  // namespace lambdad::cli
