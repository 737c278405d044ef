#include "api/function_urls.h"

#include <boost/json.hpp>
#include <ctime>
#include <random>
#include <vector>

#include "api/routes.h"
#include "common/encoding.h"

namespace lambdad::api {
namespace json = boost::json;
namespace {

constexpr std::string_view kUrlMarker = ".lambda-url.";
constexpr std::string_view kPathPrefix = "/lambda-url/";

bool is_text_type(std::string_view type) {
  std::string t(type.substr(0, type.find(';')));
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  if (t.starts_with("text/")) return true;
  return t.ends_with("/json") || t.ends_with("+json") || t.ends_with("/xml") ||
         t.ends_with("+xml") || t.ends_with("/javascript") ||
         t == "application/x-www-form-urlencoded";
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    if (c < 0x80)
      n = 0;
    else if ((c >> 5) == 6)
      n = 1;
    else if ((c >> 4) == 14)
      n = 2;
    else if ((c >> 3) == 30)
      n = 3;
    else
      return false;
    if (n > 0 && i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n + 1;
  }
  return true;
}

void split_cookies(std::string_view v, json::array& out) {
  while (!v.empty()) {
    size_t end = v.find(';');
    std::string_view part = v.substr(0, end);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    if (end == std::string_view::npos) break;
    v.remove_prefix(end + 1);
  }
}

}  // namespace

bool is_url_id(std::string_view id) {
  if (id.size() != kUrlIdLength) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

std::string make_url_id() {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string id;
  for (size_t i = 0; i < kUrlIdLength; ++i) id.push_back(kAlphabet[rd() % kAlphabet.size()]);
  return id;
}

std::optional<UrlTarget> match_function_url(std::string_view host, std::string_view path) {
  if (path.starts_with(kPathPrefix)) {
    std::string_view rest = path.substr(kPathPrefix.size());
    const size_t slash = rest.find('/');
    std::string_view id = rest.substr(0, slash);
    if (!is_url_id(id)) return std::nullopt;
    return UrlTarget{std::string(id),
                     slash == std::string_view::npos ? "/" : std::string(rest.substr(slash))};
  }
  const size_t m = host.find(kUrlMarker);
  if (m == std::string_view::npos) return std::nullopt;
  std::string id(host.substr(0, m));
  for (auto& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!is_url_id(id)) return std::nullopt;
  return UrlTarget{std::move(id), path.empty() ? "/" : std::string(path)};
}

std::string url_event_time(int64_t epoch_ms) {
  const std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%d/%b/%Y:%H:%M:%S +0000", &tm);
  return buf;
}

std::string build_url_event(const HttpRequest& request, const UrlEventContext& ctx) {
  json::object headers;
  json::array cookies;
  std::string user_agent;
  std::string content_type;
  std::string host;
  for (const auto& [k, v] : request.headers) {
    if (k == "cookie") {
      split_cookies(v, cookies);
      continue;
    }
    if (k == "user-agent") user_agent = v;
    if (k == "content-type") content_type = v;
    if (k == "host") host = v;
    if (auto* e = headers.if_contains(k)) {
      std::string joined(e->get_string());
      joined += ",";
      joined += v;
      *e = joined;
    } else {
      headers[k] = v;
    }
  }
  json::object ev;
  ev["version"] = "2.0";
  ev["routeKey"] = "$default";
  ev["rawPath"] = request.path;
  ev["rawQueryString"] = request.query;
  if (!cookies.empty()) ev["cookies"] = std::move(cookies);
  ev["headers"] = std::move(headers);
  if (!request.query.empty()) {
    json::object qs;
    std::string_view q = request.query;
    while (!q.empty()) {
      const size_t amp = q.find('&');
      std::string_view kv = q.substr(0, amp);
      if (!kv.empty()) {
        const size_t eq = kv.find('=');
        std::string k = percent_decode(kv.substr(0, eq));
        std::string v = eq == std::string_view::npos ? "" : percent_decode(kv.substr(eq + 1));
        for (auto* s : {&k, &v})
          for (auto& c : *s)
            if (c == '+') c = ' ';
        if (auto* e = qs.if_contains(k)) {
          std::string joined(e->get_string());
          *e = joined + "," + v;
        } else {
          qs[k] = v;
        }
      }
      if (amp == std::string_view::npos) break;
      q.remove_prefix(amp + 1);
    }
    ev["queryStringParameters"] = std::move(qs);
  }
  const std::string domain = ctx.url_id + ".lambda-url." + ctx.region + ".localhost";
  json::object rc;
  rc["accountId"] = ctx.account;
  rc["apiId"] = ctx.url_id;
  rc["domainName"] = host.empty() ? domain : host.substr(0, host.find(':'));
  rc["domainPrefix"] = ctx.url_id;
  rc["http"] = json::object{{"method", request.method},
                            {"path", request.path},
                            {"protocol", ctx.protocol},
                            {"sourceIp", ctx.source_ip},
                            {"userAgent", user_agent}};
  rc["requestId"] = ctx.request_id;
  rc["routeKey"] = "$default";
  rc["stage"] = "$default";
  rc["time"] = url_event_time(ctx.epoch_ms);
  rc["timeEpoch"] = ctx.epoch_ms;
  ev["requestContext"] = std::move(rc);
  const bool text = is_text_type(content_type) && valid_utf8(request.body);
  if (!request.body.empty()) ev["body"] = text ? request.body : base64_encode(request.body);
  ev["isBase64Encoded"] = !request.body.empty() && !text;
  return json::serialize(ev);
}

HttpResponse map_url_reply(std::string_view output, bool function_error) {
  HttpResponse r;
  if (function_error) {
    r.status = 502;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = R"({"Message":"Internal Server Error"})";
    return r;
  }
  boost::system::error_code ec;
  json::value v = json::parse(output, ec);
  if (ec) return map_url_reply("", true);
  const json::object* o = v.if_object();
  const json::value* sc = o ? o->if_contains("statusCode") : nullptr;
  if (sc == nullptr) {
    r.status = 200;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = std::string(output);
    return r;
  }
  if (sc->is_int64())
    r.status = static_cast<int>(sc->get_int64());
  else if (sc->is_uint64())
    r.status = static_cast<int>(sc->get_uint64());
  else if (sc->is_string())
    r.status = std::atoi(std::string(sc->get_string()).c_str());
  else
    return map_url_reply("", true);
  if (r.status < 100 || r.status > 599) return map_url_reply("", true);
  if (const auto* h = o->if_contains("headers"); h && h->is_object())
    for (const auto& [k, val] : h->get_object())
      r.headers.emplace_back(
          std::string(k), val.is_string() ? std::string(val.get_string()) : json::serialize(val));
  if (const auto* c = o->if_contains("cookies"); c && c->is_array())
    for (const auto& cv : c->get_array())
      if (cv.is_string()) r.headers.emplace_back("Set-Cookie", std::string(cv.get_string()));
  bool b64 = false;
  if (const auto* b = o->if_contains("isBase64Encoded"); b && b->is_bool()) b64 = b->get_bool();
  if (const auto* b = o->if_contains("body"); b && b->is_string()) {
    if (b64) {
      auto d = base64_decode(b->get_string());
      if (!d) return map_url_reply("", true);
      r.body = std::move(*d);
    } else {
      r.body = std::string(b->get_string());
    }
  }
  return r;
}

}  // namespace lambdad::api
