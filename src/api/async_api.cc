#include "api/async_api.h"

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>

#include "api/errors.h"
#include "api/routes.h"
#include "api/validation.h"

namespace lambdad::api {

namespace json = boost::json;

namespace {

constexpr std::string_view kPrefix = "/2019-09-25/functions/";
constexpr std::string_view kConfig = "/event-invoke-config";
constexpr std::string_view kList = "/event-invoke-config/list";
constexpr std::string_view kStatus = "/lambdad/async";

HttpResponse validation(const std::string& message) {
  return lambda_error(400, "ValidationException", "1 validation error detected: " + message);
}

struct Named {
  std::string name;
  std::string qualifier;
  bool ok = false;
};

// {FunctionName}: name, name:q, 123456789012:function:name[:q], or a full function ARN;
// the control plane's own parser (validation.h), so both accept exactly the same labels.
Named parse_name(const std::string& raw) {
  ValidationErrors errors;
  auto ref = parse_function_name(raw, NameShape::kNamespaced, errors);
  if (!ref) return {};
  return Named{ref->name, ref->qualifier, true};
}

std::string function_arn(const invoke::Invoker& inv, const std::string& name) {
  const auto& o = inv.options();
  return "arn:aws:lambda:" + o.region + ":" + o.account + ":function:" + name;
}

json::object render(const invoke::Invoker& inv, const async::EventInvokeConfig& c) {
  json::object o;
  o["LastModified"] = static_cast<double>(c.last_modified_ms) / 1000.0;
  o["FunctionArn"] = function_arn(inv, c.function) + ":" + c.qualifier;
  if (c.max_retry_attempts) o["MaximumRetryAttempts"] = *c.max_retry_attempts;
  if (c.max_event_age_s) o["MaximumEventAgeInSeconds"] = *c.max_event_age_s;
  json::object dest, ok_dest, fail_dest;
  if (!c.on_success.empty()) ok_dest["Destination"] = c.on_success;
  if (!c.on_failure.empty()) fail_dest["Destination"] = c.on_failure;
  dest["OnSuccess"] = std::move(ok_dest);
  dest["OnFailure"] = std::move(fail_dest);
  o["DestinationConfig"] = std::move(dest);
  return o;
}

// Applies the members present in `body` to `c`. An error response, or nullopt.
std::optional<HttpResponse> apply_body(const json::object& body, async::EventInvokeConfig& c) {
  if (const auto* v = body.if_contains("MaximumRetryAttempts")) {
    if (!v->is_int64())
      return lambda_error(400, "InvalidParameterValueException",
                          "MaximumRetryAttempts must be an integer.");
    const int64_t n = v->as_int64();
    if (n < 0)
      return validation("Value '" + std::to_string(n) +
                        "' at 'maximumRetryAttempts' failed to satisfy constraint: Member must "
                        "have value greater than or equal to 0");
    if (n > 2)
      return validation("Value '" + std::to_string(n) +
                        "' at 'maximumRetryAttempts' failed to satisfy constraint: Member must "
                        "have value less than or equal to 2");
    c.max_retry_attempts = static_cast<int>(n);
  }
  if (const auto* v = body.if_contains("MaximumEventAgeInSeconds")) {
    if (!v->is_int64())
      return lambda_error(400, "InvalidParameterValueException",
                          "MaximumEventAgeInSeconds must be an integer.");
    const int64_t n = v->as_int64();
    if (n < 60)
      return validation("Value '" + std::to_string(n) +
                        "' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member "
                        "must have value greater than or equal to 60");
    if (n > 21600)
      return validation("Value '" + std::to_string(n) +
                        "' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member "
                        "must have value less than or equal to 21600");
    c.max_event_age_s = static_cast<int>(n);
  }
  if (const auto* v = body.if_contains("DestinationConfig")) {
    if (!v->is_object())
      return lambda_error(400, "InvalidParameterValueException",
                          "DestinationConfig must be an object.");
    for (const char* key : {"OnSuccess", "OnFailure"}) {
      const auto* d = v->as_object().if_contains(key);
      if (d == nullptr) continue;
      std::string arn;
      if (d->is_object()) {
        if (const auto* a = d->as_object().if_contains("Destination"); a && a->is_string())
          arn = std::string(a->as_string());
      }
      if (!arn.empty()) {
        // lambdad delivers to Lambda functions only (SQS/SNS/EventBridge/S3 do not exist here).
        Named n = arn.starts_with("arn:") ? parse_name(arn) : Named{};
        if (!n.ok)
          return lambda_error(400, "InvalidParameterValueException",
                              "The destination ARN " + arn +
                                  " is invalid: lambdad supports Lambda function destinations "
                                  "only.");
      }
      (std::string_view(key) == "OnSuccess" ? c.on_success : c.on_failure) = arn;
    }
  }
  return std::nullopt;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool is_async_api(std::string_view path) {
  if (path == kStatus) return true;
  return path.starts_with(kPrefix) && (path.ends_with(kConfig) || path.ends_with(kList));
}

void handle_async_api(async::Queue& queue, invoke::Invoker& invoker, const HttpRequest& req,
                      std::function<void(HttpResponse)> done) {
  if (req.path == kStatus) {
    if (req.method != "GET") {
      done(lambda_error(405, "MethodNotAllowedException", "GET only"));
      return;
    }
    done(json_response(200, queue.status_json()));
    return;
  }
  const bool list = req.path.ends_with(kList);
  const std::string_view suffix = list ? kList : kConfig;
  const std::string raw = percent_decode(std::string_view(req.path).substr(
      kPrefix.size(), req.path.size() - kPrefix.size() - suffix.size()));
  const Named n = parse_name(raw);
  if (!n.ok) {
    done(validation("Value '" + raw +
                    "' at 'functionName' failed to satisfy constraint: Member must satisfy "
                    "regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-"
                    "[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|"
                    "[a-zA-Z0-9-_]+))?"));
    return;
  }
  const auto query = parse_query(req.query);
  std::string qualifier = query_value(query, "Qualifier").value_or(n.qualifier);
  if (!n.qualifier.empty() && qualifier != n.qualifier) {
    done(lambda_error(400, "InvalidParameterValueException",
                      "The derived qualifier from the function name does not match the "
                      "specified qualifier."));
    return;
  }
  if (invoker.find(n.name) == nullptr || (!qualifier.empty() && qualifier != "$LATEST")) {
    done(lambda_error(404, "ResourceNotFoundException",
                      "Function not found: " + function_arn(invoker, n.name) +
                          (qualifier.empty() ? "" : ":" + qualifier)));
    return;
  }
  qualifier = "$LATEST";
  const std::string qarn = function_arn(invoker, n.name) + ":" + qualifier;

  if (list) {
    if (req.method != "GET") {
      done(lambda_error(405, "MethodNotAllowedException", "GET only"));
      return;
    }
    json::array items;
    for (const auto& c : queue.configs_of(n.name)) items.push_back(render(invoker, c));
    json::object o;
    o["FunctionEventInvokeConfigs"] = std::move(items);
    done(json_response(200, json::serialize(o)));
    return;
  }
  const async::EventInvokeConfig* existing = queue.find_config(n.name, qualifier);
  auto not_found = [&] {
    return lambda_error(404, "ResourceNotFoundException",
                        "The function " + qarn + " doesn't have an EventInvokeConfig");
  };
  if (req.method == "GET") {
    done(existing ? json_response(200, json::serialize(render(invoker, *existing))) : not_found());
    return;
  }
  if (req.method == "DELETE") {
    if (existing == nullptr) {
      done(not_found());
      return;
    }
    queue.delete_config(n.name, qualifier, [done](Result<bool> r) {
      if (!r) {
        done(error_response(r.error()));
        return;
      }
      HttpResponse res;
      res.status = 204;
      done(std::move(res));
    });
    return;
  }
  if (req.method != "PUT" && req.method != "POST") {
    done(lambda_error(405, "MethodNotAllowedException", "Method not allowed"));
    return;
  }
  // PUT overwrites every member; POST (Update) merges into the existing config.
  if (req.method == "POST" && existing == nullptr) {
    done(not_found());
    return;
  }
  json::error_code ec;
  json::value body = req.body.empty() ? json::value(json::object()) : json::parse(req.body, ec);
  if (ec || !body.is_object()) {
    done(lambda_error(400, "InvalidRequestContentException",
                      "Could not parse request body into json"));
    return;
  }
  async::EventInvokeConfig c;
  if (req.method == "POST") c = *existing;
  c.function = n.name;
  c.qualifier = qualifier;
  if (auto bad = apply_body(body.as_object(), c)) {
    done(std::move(*bad));
    return;
  }
  c.last_modified_ms = now_ms();
  auto rendered = std::make_shared<std::string>(json::serialize(render(invoker, c)));
  queue.put_config(std::move(c), [done, rendered](Result<void> r) {
    if (!r) {
      done(error_response(r.error()));
      return;
    }
    done(json_response(200, *rendered));
  });
}

}  // namespace lambdad::api
