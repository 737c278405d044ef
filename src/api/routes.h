// Routing for the control plane: which Lambda operation a (method, raw path) names, plus the
// percent-decoding and query parsing the rest-json protocol needs. Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lambdad::api {

enum class Operation {
  kCreateFunction,
  kListFunctions,
  kGetFunction,
  kDeleteFunction,
  kGetFunctionConfiguration,
  kUpdateFunctionConfiguration,
  kUpdateFunctionCode,
  kTagResource,
  kUntagResource,
  kListTags,
  kGetAccountSettings,
  // issue #6: versions, aliases, reserved concurrency
  kPublishVersion,
  kListVersionsByFunction,
  kCreateAlias,
  kListAliases,
  kGetAlias,
  kUpdateAlias,
  kDeleteAlias,
  kPutFunctionConcurrency,
  kGetFunctionConcurrency,
  kDeleteFunctionConcurrency,
  // issue #6: function URLs (2021-10-31) and lambdad's own SAM route table
  kCreateFunctionUrlConfig,
  kGetFunctionUrlConfig,
  kUpdateFunctionUrlConfig,
  kDeleteFunctionUrlConfig,
  kListFunctionUrlConfigs,
  kPutHttpRoutes,  // PUT /lambdad/routes/{F} {"Routes":[{"Method","Path","PayloadFormatVersion"}]}
  kGetHttpRoutes,  // GET /lambdad/routes/{F}
  kDeleteHttpRoutes,  // DELETE /lambdad/routes/{F}
  kListHttpRoutes,    // GET /lambdad/routes
  kGetPackage,        // lambdad's own: GET /lambdad/packages/<id>.zip (GetFunction's Code.Location)
};

struct RouteMatch {
  Operation operation;
  // The path label ({FunctionName}, {ARN} or the package file name), percent-decoded once;
  // empty for operations without one.
  std::string label;
  // The second path label ({Name} of an alias), decoded likewise; empty when none.
  std::string label2;
};

struct RouteResult {
  std::optional<RouteMatch> match;
  // When `match` is empty but the path names a known resource: the methods it accepts
  // (sorted, e.g. {"DELETE", "GET"}), so the caller can answer 405 with Allow.
  std::vector<std::string> allowed_methods;
};

// `raw_path` is the path as received (percent-encoded, no query). A trailing '/' is
// tolerated where the model's requestUri has one or not (botocore sends
// /2015-03-31/functions/ for ListFunctions and /2015-03-31/functions for CreateFunction).
RouteResult match_route(std::string_view method, std::string_view raw_path);

// Decodes %XX escapes once; '+' stays '+' (AWS clients encode spaces as %20). A malformed
// escape is kept literally, which later fails name validation instead of matching a
// different resource.
std::string percent_decode(std::string_view text);

// "a=1&b=&c&tagKeys=x&tagKeys=y" -> pairs in order, names and values percent-decoded.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view raw_query);

// The first value of `name` in a parsed query, or nullopt.
std::optional<std::string> query_value(const std::vector<std::pair<std::string, std::string>>& q,
                                       std::string_view name);

}  // namespace lambdad::api
