// The web console and lambdad's own read endpoints behind it (not part of the Lambda API):
//   GET /console, /console/<file>            the embedded console (api/console_assets.h)
//   GET /lambdad/usage?function=F&limit=N    recent invocations with their REPORT figures
//   GET /lambdad/usage/series?function=F&since=MS&until=MS&step=S
//                                            fixed buckets: invocations, errors, cold starts,
//                                            p50/p95/p99/max duration, GB-s, cost
//   GET /lambdad/tune/F                      the last `lambdad tune` result stored for F
//   PUT|POST /lambdad/tune/F                 stores one (sent by `lambdad tune`)
// Static files carry no data and are served to anyone; the JSON endpoints go through the same
// SigV4 check as the control API (server.cc).
// Thread rules: console_static() is pure (io thread). handle_console_api() blocks on SQLite
// (usage.db) and on files under <data_dir>/tune: control workers only, never the invoke path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/http_message.h"

namespace lambdad::api {

// The response for GET `path` when it is /console or under /console/, else nullopt.
// `if_none_match` (may be null) gets 304 when it names the file's ETag.
std::optional<HttpResponse> console_static(std::string_view path, const std::string* if_none_match);

// True for the paths handle_console_api serves (any method).
bool is_console_api(std::string_view path);

// Answers one of those requests; bad input gets Lambda's error types (400
// InvalidParameterValueException, 404 ResourceNotFoundException, 405/413 as usual).
HttpResponse handle_console_api(const std::string& data_dir, const HttpRequest& request,
                                int64_t now_ms);

}  // namespace lambdad::api
