// The HTTP front end beside the Lambda API (issue #6): which function URL or SAM route a
// request is for, the CORS rules of a function URL, and the events and reply mappings of the
// API Gateway-style routes (payload 2.0 for HttpApi, the REST proxy event 1.0 for Api).
// FrontTable is the in-memory index the server consults per request (io thread) and the
// control API keeps current (worker threads): one mutex, never held across I/O. The rest is
// pure and safe from any thread.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "api/function_urls.h"
#include "api/http_message.h"
#include "registry/registry.h"

namespace lambdad::api {

// A function URL's Cors object (botocore shape Cors).
struct CorsConfig {
  bool allow_credentials = false;
  std::vector<std::string> allow_headers;
  std::vector<std::string> allow_methods;
  std::vector<std::string> allow_origins;
  std::vector<std::string> expose_headers;
  int max_age = 0;
};

// The stored Cors JSON text ("" -> nullopt).
std::optional<CorsConfig> parse_cors(std::string_view json_text);

struct UrlEntry {
  std::string function;
  std::string qualifier;  // "" or an alias
  std::string auth_type;  // "NONE" | "AWS_IAM"
  std::optional<CorsConfig> cors;
};

struct MatchedRoute {
  std::string function;
  registry::HttpRoute route;
  std::vector<std::pair<std::string, std::string>> params;  // decoded, template order
};

// Path parameters when `path` (raw, percent-encoded) fits `tmpl` ("/items/{id}",
// "/files/{proxy+}"), else nullopt. A trailing '/' on either side is ignored.
std::optional<std::vector<std::pair<std::string, std::string>>> match_route_template(
    std::string_view tmpl, std::string_view path);

class FrontTable {
 public:
  void put_url(const registry::FunctionUrlRecord& url);
  void remove_url(const std::string& function, const std::string& qualifier);
  // Drops the function's URLs and routes (DeleteFunction).
  void remove_function(const std::string& function);
  std::optional<UrlEntry> find_url(const std::string& url_id) const;

  void set_routes(const std::string& function, std::vector<registry::HttpRoute> routes);
  // The most specific route for (method, raw path): most literal segments first, then
  // {param} over {proxy+}, then an exact method over ANY. nullopt when none fits.
  std::optional<MatchedRoute> match(std::string_view method, std::string_view path) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, UrlEntry> urls_;                  // url_id -> entry
  std::map<std::string, std::vector<registry::HttpRoute>> routes_;  // function -> routes
};

// A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) answered as Lambda
// does for a URL with Cors: 200 with the Access-Control-Allow-* headers when the origin is
// allowed, 200 without them otherwise. nullopt: not a preflight.
std::optional<HttpResponse> cors_preflight(const CorsConfig& cors, const HttpRequest& request);
// On a function URL response: drops CORS headers the function set and adds the configured
// ones when the request's Origin is allowed (Lambda overrides the function's CORS headers).
void apply_cors(const CorsConfig& cors, const HttpRequest& request, HttpResponse& response);

// HttpApi event (payload 2.0) for a matched route: build_url_event plus routeKey
// "GET /items/{id}" and pathParameters. `request.headers` lower-cased.
std::string build_http_api_event(const HttpRequest& request, const UrlEventContext& ctx,
                                 const MatchedRoute& route);
// Api (REST) proxy event, payload 1.0 (reference/events.md §2). `request.headers` keep the
// client's casing.
std::string build_rest_event(const HttpRequest& request, const UrlEventContext& ctx,
                             const MatchedRoute& route);

// Adds requestContext.authorizer.iam (reference/events.md §1) for an AWS_IAM URL request
// signed with access key `key`; lambdad keys are not IAM users, so the key id stands in for
// the caller and user ids.
std::string with_iam_authorizer(const std::string& event, const std::string& key,
                                const std::string& account);

// HttpApi reply: as map_url_reply, but a function error is 500 {"message":"Internal Server
// Error"} (events.md §3).
HttpResponse map_http_api_reply(std::string_view output, bool function_error);
// REST reply: needs statusCode (no shortcut); headers and multiValueHeaders; errors and
// anything else 502 {"message": "Internal server error"}.
HttpResponse map_rest_reply(std::string_view output, bool function_error);

}  // namespace lambdad::api
