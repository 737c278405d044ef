// Lambda function URLs (issue #6): the pure parts -- recognising a URL request (Host form
// `<url-id>.lambda-url.<region>.localhost[:port]` or path form `/lambda-url/<url-id>/...`),
// building the payload 2.0 event (reference/events.md §1) and mapping the function's reply to
// an HTTP response (§3). No I/O, no threads: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/http_message.h"

namespace lambdad::api {

inline constexpr size_t kUrlIdLength = 32;

// 32 lower-case alphanumerics.
bool is_url_id(std::string_view id);
// A fresh random url-id.
std::string make_url_id();

struct UrlTarget {
  std::string url_id;
  std::string path;  // the path the function sees ("/" at least)
};

// nullopt when the request is not addressed to a function URL.
std::optional<UrlTarget> match_function_url(std::string_view host, std::string_view path);

struct UrlEventContext {
  std::string url_id;
  std::string region;
  std::string account;
  std::string request_id;
  std::string source_ip;
  std::string protocol = "HTTP/1.1";
  int64_t epoch_ms = 0;
};

// The payload 2.0 event for `request` (headers lower-cased; request.path is the path the
// function sees).
std::string build_url_event(const HttpRequest& request, const UrlEventContext& ctx);

// "12/Mar/2020:19:03:58 +0000".
std::string url_event_time(int64_t epoch_ms);

// Maps the function's output (§3). `function_error` set -> 502.
HttpResponse map_url_reply(std::string_view output, bool function_error);

}  // namespace lambdad::api
