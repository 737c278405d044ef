#include "api/schedules_api.h"

#include <boost/json.hpp>
#include <memory>

#include "api/errors.h"
#include "api/routes.h"
#include "api/validation.h"

namespace lambdad::api {

namespace json = boost::json;

namespace {

constexpr std::string_view kBase = "/lambdad/schedules";
constexpr size_t kMaxNameLength = 128;    // EventBridge rules: 64; room for <Function>-<EventKey>
constexpr size_t kMaxInputLength = 8192;  // EventBridge's Target.Input limit
constexpr size_t kMaxManagedByLength = 64;

HttpResponse validation(const std::string& message) {
  return lambda_error(400, "ValidationException", message);
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
      return false;
  return true;
}

std::string function_arn(const invoke::Invoker& inv, const std::string& name) {
  const auto& o = inv.options();
  return "arn:aws:lambda:" + o.region + ":" + o.account + ":function:" + name;
}

json::value time_or_null(std::optional<schedule::Time> t) {
  if (!t) return nullptr;
  return json::value(schedule::format_time(*t));
}

schedule::Time ms_time(int64_t ms) {
  return schedule::Time(std::chrono::floor<std::chrono::seconds>(std::chrono::milliseconds(ms)));
}

json::object render(const schedule::Scheduler& sch, const invoke::Invoker& inv,
                    const schedule::Entry& e) {
  const schedule::Schedule& s = e.schedule;
  json::object o;
  o["Name"] = s.name;
  o["Arn"] = sch.rule_arn(s.name);
  o["FunctionName"] = s.function;
  if (!s.qualifier.empty()) o["Qualifier"] = s.qualifier;
  o["FunctionArn"] = function_arn(inv, s.function) + (s.qualifier.empty() ? "" : ":" + s.qualifier);
  o["ScheduleExpression"] = s.expression;
  o["Enabled"] = s.enabled;
  if (s.input) o["Input"] = *s.input;
  if (!s.managed_by.empty()) o["ManagedBy"] = s.managed_by;
  o["CreatedAt"] = schedule::format_time(ms_time(s.created_ms));
  o["LastFired"] = s.last_fired_ms ? time_or_null(ms_time(s.last_fired_ms)) : json::value(nullptr);
  o["NextFire"] = time_or_null(e.next);
  return o;
}

std::optional<std::string> string_member(const json::object& body, std::string_view key,
                                         std::optional<HttpResponse>& bad) {
  const auto* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    bad = lambda_error(400, "InvalidParameterValueException",
                       std::string(key) + " must be a string.");
    return std::nullopt;
  }
  return std::string(v->as_string());
}

// Builds the schedule `name` from a request body; an error response, or nullopt.
std::optional<HttpResponse> schedule_from_body(invoke::Invoker& invoker, const json::object& body,
                                               const std::string& name, schedule::Schedule& out) {
  std::optional<HttpResponse> bad;
  const auto raw_fn = string_member(body, "FunctionName", bad);
  auto qualifier = string_member(body, "Qualifier", bad);
  const auto expression = string_member(body, "ScheduleExpression", bad);
  const auto input = string_member(body, "Input", bad);
  const auto managed_by = string_member(body, "ManagedBy", bad);
  if (bad) return bad;
  ValidationErrors errors;
  if (!raw_fn) errors.add_missing("functionName");
  std::optional<FunctionRef> ref;
  if (raw_fn) ref = parse_function_name(*raw_fn, NameShape::kNamespaced, errors);
  if (!expression) errors.add_missing("scheduleExpression");
  if (input && input->size() > kMaxInputLength)
    errors.add("input", input->substr(0, 64) + "...", max_length_constraint(kMaxInputLength));
  if (managed_by && managed_by->size() > kMaxManagedByLength)
    errors.add("managedBy", *managed_by, max_length_constraint(kMaxManagedByLength));
  if (!errors.empty()) return validation(errors.message());

  auto parsed = schedule::Expression::parse(*expression);
  if (!parsed)
    return validation("Parameter ScheduleExpression is not valid: " + parsed.error().message());
  if (input) {
    json::error_code ec;
    (void)json::parse(*input, ec);
    if (ec)
      return validation("Parameter Input is not valid: it must be JSON text (" + ec.message() +
                        ")");
  }
  bool enabled = true;
  if (const auto* v = body.if_contains("Enabled"); v && !v->is_null()) {
    if (!v->is_bool())
      return lambda_error(400, "InvalidParameterValueException", "Enabled must be a boolean.");
    enabled = v->as_bool();
  }
  if (qualifier && qualifier->empty()) qualifier.reset();
  if (!ref->qualifier.empty() && qualifier && *qualifier != ref->qualifier)
    return lambda_error(400, "InvalidParameterValueException",
                        "The derived qualifier from the function name does not match the "
                        "specified qualifier.");
  const std::string q = qualifier ? *qualifier : ref->qualifier;
  if (invoker.find(ref->name) == nullptr || !invoker.resolve_qualifier(ref->name, q))
    return lambda_error(
        404, "ResourceNotFoundException",
        "Function not found: " + function_arn(invoker, ref->name) + (q.empty() ? "" : ":" + q));
  out.name = name;
  out.function = ref->name;
  out.qualifier = q == "$LATEST" ? "" : q;
  out.expression = *expression;
  out.enabled = enabled;
  out.input = input;
  out.managed_by = managed_by.value_or("");
  return std::nullopt;
}

HttpResponse name_error(const std::string& name) {
  ValidationErrors errors;
  if (name.size() > kMaxNameLength)
    errors.add("name", name, max_length_constraint(kMaxNameLength));
  else
    errors.add("name", name, pattern_constraint("[\\.\\-_A-Za-z0-9]+"));
  return validation(errors.message());
}

HttpResponse not_found(const std::string& name) {
  return lambda_error(404, "ResourceNotFoundException", "Schedule " + name + " does not exist.");
}

}  // namespace

bool is_schedules_api(std::string_view path) {
  return path == kBase ||
         (path.starts_with(kBase) && path.size() > kBase.size() + 1 && path[kBase.size()] == '/');
}

void handle_schedules_api(schedule::Scheduler& scheduler, invoke::Invoker& invoker,
                          const HttpRequest& req, std::function<void(HttpResponse)> done) {
  const bool collection = req.path == kBase;
  std::string name;
  if (!collection) {
    name = percent_decode(std::string_view(req.path).substr(kBase.size() + 1));
    if (!valid_name(name)) {
      done(name_error(name));
      return;
    }
  }
  if (req.method == "GET") {
    if (collection) {
      const auto query = parse_query(req.query);
      std::string fn = query_value(query, "FunctionName").value_or("");
      if (!fn.empty()) {
        ValidationErrors errors;
        auto ref = parse_function_name(fn, NameShape::kNamespaced, errors);
        if (!ref) {
          done(validation(errors.message()));
          return;
        }
        fn = ref->name;
      }
      json::array items;
      for (const schedule::Entry* e : scheduler.list())
        if (fn.empty() || e->schedule.function == fn)
          items.push_back(render(scheduler, invoker, *e));
      done(json_response(200, json::serialize(json::object{{"Schedules", std::move(items)}})));
      return;
    }
    const schedule::Entry* e = scheduler.find(name);
    done(e ? json_response(200, json::serialize(render(scheduler, invoker, *e))) : not_found(name));
    return;
  }
  if (req.method == "DELETE" && !collection) {
    scheduler.remove(name, [done, name](Result<bool> r) {
      if (!r) {
        done(error_response(r.error()));
        return;
      }
      if (!*r) {
        done(not_found(name));
        return;
      }
      HttpResponse res;
      res.status = 204;
      done(std::move(res));
    });
    return;
  }
  const bool create = req.method == "POST" && collection;
  if (!create && !(req.method == "PUT" && !collection)) {
    done(lambda_error(405, "MethodNotAllowedException",
                      collection ? "GET or POST only" : "GET, PUT or DELETE only"));
    return;
  }
  json::error_code ec;
  json::value body = req.body.empty() ? json::value(json::object()) : json::parse(req.body, ec);
  if (ec || !body.is_object()) {
    done(lambda_error(400, "InvalidRequestContentException",
                      "Could not parse request body into json"));
    return;
  }
  const json::object& obj = body.as_object();
  if (create) {
    std::optional<HttpResponse> bad;
    auto n = string_member(obj, "Name", bad);
    if (bad) {
      done(std::move(*bad));
      return;
    }
    if (!n) {
      ValidationErrors errors;
      errors.add_missing("name");
      done(validation(errors.message()));
      return;
    }
    if (!valid_name(*n)) {
      done(name_error(*n));
      return;
    }
    name = *n;
  } else if (const auto* n = obj.if_contains("Name");
             n && !(n->is_string() && n->as_string() == name)) {
    done(lambda_error(400, "InvalidParameterValueException",
                      "Name in the body must match the name in the path."));
    return;
  }
  schedule::Schedule s;
  if (auto bad = schedule_from_body(invoker, obj, name, s)) {
    done(std::move(*bad));
    return;
  }
  scheduler.put(std::move(s), create, [&scheduler, &invoker, done, name, create](Result<void> r) {
    if (!r) {
      done(error_response(r.error()));
      return;
    }
    const schedule::Entry* e = scheduler.find(name);
    if (e == nullptr) {  // removed in between: report what was asked
      done(not_found(name));
      return;
    }
    done(json_response(create ? 201 : 200, json::serialize(render(scheduler, invoker, *e))));
  });
}

}  // namespace lambdad::api
