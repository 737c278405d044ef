// Typed helpers for HTTP events: API Gateway HTTP API and Lambda function URL requests and
// responses in payload format 2.0. A REST handler is then a few lines:
//
//   int main() {
//     return lambdad::run(lambdad::http::handler([](const lambdad::http::HttpRequest& req) {
//       return lambdad::http::HttpResponse::json(200, R"({"path":")" +
//                                               lambdad::json_escape(req.raw_path) + "\"}");
//     }));
//   }
//
// Plain data and pure functions: safe from any thread. No dependency beyond the standard
// library (the event JSON is read by a small parser inside the SDK).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lambdad/runtime.h"

namespace lambdad::http {

// A payload 2.0 request event, decoded.
struct HttpRequest {
  std::string method;     // requestContext.http.method, e.g. "GET"
  std::string raw_path;   // rawPath, as received (percent-encoding kept)
  std::string raw_query;  // rawQueryString, without '?'; "" if none
  std::string route_key;  // routeKey: "$default" or e.g. "GET /items/{id}"
  // Header names lower-cased (the platform already sends them so); duplicates joined with ','.
  std::map<std::string, std::string> headers;
  std::map<std::string, std::string> query;        // queryStringParameters (decoded values)
  std::map<std::string, std::string> path_params;  // pathParameters (HTTP API only)
  std::vector<std::string> cookies;                // "name=value" each
  std::string body;  // the body bytes: base64-decoded when the event had isBase64Encoded
  bool body_was_base64 = false;
  std::string request_id;  // requestContext.requestId
  std::string source_ip;   // requestContext.http.sourceIp

  // The header's value by case-insensitive name, or nullopt.
  std::optional<std::string> header(std::string_view name) const;
  // queryStringParameters[name] / pathParameters[name], or nullopt.
  std::optional<std::string> query_param(std::string_view name) const;
  std::optional<std::string> path_param(std::string_view name) const;
  // The value of cookie `name` from `cookies`, or nullopt.
  std::optional<std::string> cookie(std::string_view name) const;
};

// Parses a payload 2.0 event. Returns nullopt and sets *error (if non-null) when the event is not
// JSON, not an object, or its body is marked base64 but is not valid base64. Missing fields are
// left empty, so an event built by hand needs only what the handler reads.
std::optional<HttpRequest> parse_request(std::string_view event, std::string* error = nullptr);

// The structured response a 2.0 front end turns into an HTTP response.
struct HttpResponse {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::vector<std::string> cookies;  // each becomes its own Set-Cookie header
  std::string body;                  // raw bytes
  // When true, to_json() base64-encodes `body` and sets isBase64Encoded, for binary bodies.
  bool is_base64 = false;

  // status with body and Content-Type: application/json (body must already be JSON).
  static HttpResponse json(int status, std::string body);
  // status with body and Content-Type: text/plain; charset=utf-8.
  static HttpResponse text(int status, std::string body);

  // {"statusCode":..,"headers":{..},"cookies":[..],"body":"..","isBase64Encoded":..}; cookies is
  // omitted when empty.
  std::string to_json() const;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Adapts an HTTP handler to lambdad::run(): parses each event, calls h, renders its response.
// An event that parse_request() rejects is reported as a function error of type
// "InvalidHttpEvent"; what h throws is handled by run() as for any handler.
Handler handler(HttpHandler h);

// True when `text` is exactly one valid JSON document (RFC 8259), e.g. to check a body before
// storing or embedding it.
bool is_valid_json(std::string_view text);

// Base64 (RFC 4648, with padding). decode returns nullopt on invalid input; padding optional.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace lambdad::http
