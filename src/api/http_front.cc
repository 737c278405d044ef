#include "api/http_front.h"

#include <boost/json.hpp>
#include <tuple>

#include "api/routes.h"
#include "common/encoding.h"

namespace lambdad::api {
namespace json = boost::json;
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  while (!path.empty()) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::vector<std::string> strings(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* v = o.if_contains(key); v && v->is_array())
    for (const auto& s : v->get_array())
      if (s.is_string()) out.emplace_back(s.get_string());
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

bool contains_ci(const std::vector<std::string>& items, std::string_view v) {
  for (const auto& s : items)
    if (s == "*" || iequal(s, v)) return true;
  return false;
}

bool origin_allowed(const CorsConfig& cors, std::string_view origin) {
  for (const auto& o : cors.allow_origins)
    if (o == "*" || iequal(o, origin)) return true;
  return false;
}

// "*" only when every origin is allowed and no credentials (browsers refuse "*" with them).
std::string allow_origin_value(const CorsConfig& cors, std::string_view origin) {
  for (const auto& o : cors.allow_origins)
    if (o == "*" && !cors.allow_credentials) return "*";
  return std::string(origin);
}

// Query pairs in order, '+' as space (as API Gateway decodes them).
std::vector<std::pair<std::string, std::string>> query_pairs(std::string_view query) {
  auto pairs = parse_query(query);
  for (auto& [k, v] : pairs)
    for (auto* s : {&k, &v})
      for (auto& c : *s)
        if (c == '+') c = ' ';
  return pairs;
}

}  // namespace

std::optional<CorsConfig> parse_cors(std::string_view json_text) {
  if (json_text.empty()) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(json_text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  CorsConfig c;
  if (const auto* b = o.if_contains("AllowCredentials"); b && b->is_bool())
    c.allow_credentials = b->get_bool();
  c.allow_headers = strings(o, "AllowHeaders");
  c.allow_methods = strings(o, "AllowMethods");
  c.allow_origins = strings(o, "AllowOrigins");
  c.expose_headers = strings(o, "ExposeHeaders");
  if (const auto* m = o.if_contains("MaxAge"); m && m->is_int64())
    c.max_age = static_cast<int>(m->get_int64());
  return c;
}

std::optional<std::vector<std::pair<std::string, std::string>>> match_route_template(
    std::string_view tmpl, std::string_view path) {
  const auto want = segments(tmpl);
  const auto got = segments(path);
  std::vector<std::pair<std::string, std::string>> params;
  for (size_t i = 0; i < want.size(); ++i) {
    const std::string_view w = want[i];
    const bool is_param = w.size() > 2 && w.front() == '{' && w.back() == '}';
    if (is_param && w[w.size() - 2] == '+') {
      if (i + 1 != want.size() || i >= got.size()) return std::nullopt;
      std::string rest;
      for (size_t k = i; k < got.size(); ++k) rest += (k > i ? "/" : "") + std::string(got[k]);
      params.emplace_back(std::string(w.substr(1, w.size() - 3)), percent_decode(rest));
      return params;
    }
    if (i >= got.size()) return std::nullopt;
    if (is_param) {
      if (got[i].empty()) return std::nullopt;
      params.emplace_back(std::string(w.substr(1, w.size() - 2)), percent_decode(got[i]));
    } else if (w != got[i]) {
      return std::nullopt;
    }
  }
  if (got.size() != want.size()) return std::nullopt;
  return params;
}

void FrontTable::put_url(const registry::FunctionUrlRecord& url) {
  UrlEntry e{url.function, url.qualifier, url.auth_type, parse_cors(url.cors)};
  std::lock_guard lock(mu_);
  urls_[url.url_id] = std::move(e);
}

void FrontTable::remove_url(const std::string& function, const std::string& qualifier) {
  std::lock_guard lock(mu_);
  std::erase_if(urls_, [&](const auto& kv) {
    return kv.second.function == function && kv.second.qualifier == qualifier;
  });
}

void FrontTable::remove_function(const std::string& function) {
  std::lock_guard lock(mu_);
  std::erase_if(urls_, [&](const auto& kv) { return kv.second.function == function; });
  routes_.erase(function);
}

std::optional<UrlEntry> FrontTable::find_url(const std::string& url_id) const {
  std::lock_guard lock(mu_);
  auto it = urls_.find(url_id);
  if (it == urls_.end()) return std::nullopt;
  return it->second;
}

void FrontTable::set_routes(const std::string& function, std::vector<registry::HttpRoute> routes) {
  std::lock_guard lock(mu_);
  if (routes.empty())
    routes_.erase(function);
  else
    routes_[function] = std::move(routes);
}

std::optional<MatchedRoute> FrontTable::match(std::string_view method,
                                              std::string_view path) const {
  std::lock_guard lock(mu_);
  std::optional<MatchedRoute> best;
  std::tuple<int, int, int> best_score{-1, -1, -1};
  for (const auto& [function, routes] : routes_) {
    for (const auto& r : routes) {
      const bool any = iequal(r.method, "ANY");
      if (!any && !iequal(r.method, method)) continue;
      auto params = match_route_template(r.path, path);
      if (!params) continue;
      int literals = 0;
      bool greedy = false;
      for (auto seg : segments(r.path)) {
        if (seg.starts_with('{'))
          greedy = greedy || seg.ends_with("+}");
        else
          ++literals;
      }
      const std::tuple<int, int, int> score{literals, greedy ? 0 : 1, any ? 0 : 1};
      if (score > best_score) {
        best_score = score;
        best = MatchedRoute{function, r, std::move(*params)};
      }
    }
  }
  return best;
}

std::optional<HttpResponse> cors_preflight(const CorsConfig& cors, const HttpRequest& request) {
  const std::string* origin = request.header("origin");
  const std::string* want_method = request.header("access-control-request-method");
  if (request.method != "OPTIONS" || origin == nullptr || want_method == nullptr)
    return std::nullopt;
  HttpResponse r;
  r.status = 200;
  if (!origin_allowed(cors, *origin) || !contains_ci(cors.allow_methods, *want_method)) return r;
  r.headers.emplace_back("Access-Control-Allow-Origin", allow_origin_value(cors, *origin));
  r.headers.emplace_back("Access-Control-Allow-Methods", joined(cors.allow_methods));
  if (!cors.allow_headers.empty())
    r.headers.emplace_back("Access-Control-Allow-Headers", joined(cors.allow_headers));
  if (!cors.expose_headers.empty())
    r.headers.emplace_back("Access-Control-Expose-Headers", joined(cors.expose_headers));
  if (cors.allow_credentials) r.headers.emplace_back("Access-Control-Allow-Credentials", "true");
  if (cors.max_age > 0)
    r.headers.emplace_back("Access-Control-Max-Age", std::to_string(cors.max_age));
  r.headers.emplace_back("Vary", "Origin");
  return r;
}

void apply_cors(const CorsConfig& cors, const HttpRequest& request, HttpResponse& response) {
  std::erase_if(response.headers,
                [](const auto& h) { return lower(h.first).starts_with("access-control-"); });
  const std::string* origin = request.header("origin");
  if (origin == nullptr || !origin_allowed(cors, *origin)) return;
  response.headers.emplace_back("Access-Control-Allow-Origin", allow_origin_value(cors, *origin));
  if (!cors.expose_headers.empty())
    response.headers.emplace_back("Access-Control-Expose-Headers", joined(cors.expose_headers));
  if (cors.allow_credentials)
    response.headers.emplace_back("Access-Control-Allow-Credentials", "true");
  response.headers.emplace_back("Vary", "Origin");
}

std::string build_http_api_event(const HttpRequest& request, const UrlEventContext& ctx,
                                 const MatchedRoute& route) {
  json::value v = json::parse(build_url_event(request, ctx));
  json::object& ev = v.get_object();
  const std::string route_key = route.route.method == "ANY"
                                    ? "ANY " + route.route.path
                                    : route.route.method + " " + route.route.path;
  ev["routeKey"] = route_key;
  if (!route.params.empty()) {
    json::object p;
    for (const auto& [k, val] : route.params) p[k] = val;
    ev["pathParameters"] = std::move(p);
  }
  json::object& rc = ev["requestContext"].get_object();
  rc["routeKey"] = route_key;
  rc["apiId"] = "lambdad";
  rc["domainPrefix"] = "api";
  return json::serialize(ev);
}

std::string build_rest_event(const HttpRequest& request, const UrlEventContext& ctx,
                             const MatchedRoute& route) {
  json::object headers;
  json::object multi_headers;
  std::string user_agent;
  std::string host;
  for (const auto& [k, val] : request.headers) {
    headers[k] = val;  // the last value wins
    auto& list = multi_headers[k];
    if (!list.is_array()) list = json::array();
    list.get_array().emplace_back(val);
    if (iequal(k, "user-agent")) user_agent = val;
    if (iequal(k, "host")) host = val;
  }
  json::object qs;
  json::object multi_qs;
  for (const auto& [k, val] : query_pairs(request.query)) {
    qs[k] = val;
    auto& list = multi_qs[k];
    if (!list.is_array()) list = json::array();
    list.get_array().emplace_back(val);
  }
  json::object params;
  for (const auto& [k, val] : route.params) params[k] = val;
  const bool has_headers = !headers.empty();
  const bool has_qs = !qs.empty();
  const bool has_params = !params.empty();

  json::object ev;
  ev["resource"] = route.route.path;
  ev["path"] = request.path;
  ev["httpMethod"] = request.method;
  ev["headers"] = has_headers ? json::value(std::move(headers)) : json::value(nullptr);
  ev["multiValueHeaders"] =
      has_headers ? json::value(std::move(multi_headers)) : json::value(nullptr);
  ev["queryStringParameters"] = has_qs ? json::value(std::move(qs)) : json::value(nullptr);
  ev["multiValueQueryStringParameters"] =
      has_qs ? json::value(std::move(multi_qs)) : json::value(nullptr);
  ev["pathParameters"] = has_params ? json::value(std::move(params)) : json::value(nullptr);
  ev["stageVariables"] = nullptr;
  json::object identity{{"sourceIp", ctx.source_ip},   {"userAgent", user_agent},
                        {"caller", nullptr},           {"user", nullptr},
                        {"accessKey", nullptr},        {"accountId", nullptr},
                        {"cognitoIdentityId", nullptr}};
  json::object rc;
  rc["accountId"] = ctx.account;
  rc["apiId"] = "lambdad";
  rc["resourceId"] = "lambdad";
  rc["resourcePath"] = route.route.path;
  rc["httpMethod"] = request.method;
  rc["path"] = "/Prod" + request.path;
  rc["protocol"] = ctx.protocol;
  rc["stage"] = "Prod";
  rc["domainName"] = host.substr(0, host.find(':'));
  rc["domainPrefix"] = "api";
  rc["requestId"] = ctx.request_id;
  rc["extendedRequestId"] = ctx.request_id;
  rc["requestTime"] = url_event_time(ctx.epoch_ms);
  rc["requestTimeEpoch"] = ctx.epoch_ms;
  rc["identity"] = std::move(identity);
  ev["requestContext"] = std::move(rc);
  // The REST API's binary handling is per-API configuration; locally a body that is not
  // valid text is passed base64-encoded, as with payload 2.0.
  const std::string* type = nullptr;
  for (const auto& [k, val] : request.headers)
    if (iequal(k, "content-type")) type = &val;
  HttpRequest probe;
  probe.body = request.body;
  if (type) probe.headers.emplace_back("content-type", *type);
  UrlEventContext pctx;
  json::value p = json::parse(build_url_event(probe, pctx));
  const bool b64 = p.get_object().at("isBase64Encoded").get_bool();
  if (request.body.empty())
    ev["body"] = nullptr;
  else
    ev["body"] = b64 ? base64_encode(request.body) : request.body;
  ev["isBase64Encoded"] = b64;
  return json::serialize(ev);
}

std::string with_iam_authorizer(const std::string& event, const std::string& key,
                                const std::string& account) {
  json::value v = json::parse(event);
  json::object iam{{"accessKey", key},
                   {"accountId", account},
                   {"callerId", key},
                   {"cognitoIdentity", nullptr},
                   {"principalOrgId", nullptr},
                   {"userArn", "arn:aws:iam::" + account + ":user/" + key},
                   {"userId", key}};
  v.at("requestContext").as_object()["authorizer"] = json::object{{"iam", std::move(iam)}};
  return json::serialize(v);
}

HttpResponse map_http_api_reply(std::string_view output, bool function_error) {
  HttpResponse r = map_url_reply(output, function_error);
  if (r.status == 502 && r.body == R"({"Message":"Internal Server Error"})") {
    r.status = 500;
    r.body = R"({"message":"Internal Server Error"})";
  }
  return r;
}

HttpResponse map_rest_reply(std::string_view output, bool function_error) {
  HttpResponse bad;
  bad.status = 502;
  bad.headers.emplace_back("Content-Type", "application/json");
  bad.body = R"({"message": "Internal server error"})";
  if (function_error) return bad;
  boost::system::error_code ec;
  json::value v = json::parse(output, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (o == nullptr || o->if_contains("statusCode") == nullptr) return bad;
  HttpResponse r = map_url_reply(output, false);
  if (r.status == 502 && r.body == R"({"Message":"Internal Server Error"})") return bad;
  if (const auto* mh = o->if_contains("multiValueHeaders"); mh && mh->is_object())
    for (const auto& [k, list] : mh->get_object())
      if (list.is_array())
        for (const auto& item : list.get_array())
          r.headers.emplace_back(std::string(k), item.is_string() ? std::string(item.get_string())
                                                                  : json::serialize(item));
  return r;
}

}  // namespace lambdad::api
