#include "api/function_urls_api.h"

#include <sys/time.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <optional>

#include "api/errors.h"
#include "api/function_urls.h"
#include "api/validation.h"

namespace lambdad::api {
namespace json = boost::json;
namespace {

using registry::FunctionUrlRecord;
using registry::HttpRoute;
using Query = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kUrlQualifierPattern = "((?!^\\d+$)^[0-9a-zA-Z-_]+$)";
constexpr int kListMax = 50;

HttpResponse invalid_content(std::string_view detail) {
  return lambda_error(400, "InvalidRequestContentException",
                      "Could not parse request body into json: Could not parse payload into "
                      "json: " +
                          std::string(detail));
}

HttpResponse not_found(const std::string& arn) {
  return lambda_error(404, "ResourceNotFoundException", "Function not found: " + arn);
}

HttpResponse no_url() {
  return lambda_error(404, "ResourceNotFoundException",
                      "The resource you requested does not exist.");
}

struct Target {
  std::string name;
  std::string qualifier;
  std::string arn;  // qualified when a qualifier is given
  std::optional<HttpResponse> error;
};

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// {FunctionName} and ?Qualifier= (an alias or $LATEST; version numbers are refused by the
// model's pattern). The function (and alias) must exist.
Target resolve(const UrlsContext& ctx, const std::string& label, const Query& query,
               bool allow_qualifier) {
  ValidationErrors errors;
  const auto ref = parse_function_name(label, NameShape::kFunctionName, errors);
  std::optional<std::string> q = query_value(query, "Qualifier");
  if (q && allow_qualifier) {
    const bool ok_chars =
        *q == "$LATEST" ||
        (!q->empty() && q->size() <= 128 && !all_digits(*q) &&
         q->find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
             std::string::npos);
    if (!ok_chars) errors.add("qualifier", *q, pattern_constraint(kUrlQualifierPattern));
  }
  if (!errors.empty())
    return {"", "", "", lambda_error(400, "ValidationException", errors.message())};
  Target t;
  t.name = ref->name;
  t.qualifier = ref->qualifier;
  if (q && allow_qualifier && !q->empty()) {
    if (!t.qualifier.empty() && t.qualifier != *q) {
      t.error = lambda_error(400, "InvalidParameterValueException",
                             "The derived qualifier from the function name does not match the "
                             "specified qualifier.");
      return t;
    }
    t.qualifier = *q;
  }
  t.arn = function_arn(ctx.options, t.name) + (t.qualifier.empty() ? "" : ":" + t.qualifier);
  const bool foreign = (!ref->region.empty() && ref->region != ctx.options.region) ||
                       (!ref->account.empty() && ref->account != ctx.options.account);
  if (foreign) {
    t.error = not_found(t.arn);
    return t;
  }
  if (auto fn = ctx.registry.get(t.name); !fn) {
    t.error = fn.error().code == Code::kNotFound ? not_found(t.arn) : error_response(fn.error());
    return t;
  }
  if (!t.qualifier.empty() && t.qualifier != "$LATEST") {
    if (all_digits(t.qualifier)) {
      errors.add("qualifier", t.qualifier, pattern_constraint(kUrlQualifierPattern));
      t.error = lambda_error(400, "ValidationException", errors.message());
      return t;
    }
    if (auto a = ctx.registry.get_alias(t.name, t.qualifier); !a) {
      t.error = a.error().code == Code::kNotFound ? not_found(t.arn) : error_response(a.error());
      return t;
    }
  }
  return t;
}

// The request body's AuthType, Cors and InvokeMode, checked against the model.
struct UrlInput {
  std::optional<std::string> auth_type;
  std::optional<std::string> cors;  // serialized Cors object
  std::optional<std::string> invoke_mode;
};

std::optional<HttpResponse> read_input(const std::string& body, bool auth_required, UrlInput& in) {
  json::object o;
  if (body.find_first_not_of(" \t\r\n") != std::string::npos) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) return invalid_content(ec.message());
    if (!v.is_object()) return invalid_content("expected a JSON object");
    o = std::move(v.get_object());
  }
  ValidationErrors errors;
  if (const auto* a = o.if_contains("AuthType"); a && !a->is_null()) {
    if (!a->is_string()) return invalid_content("Unexpected value for field AuthType");
    in.auth_type = std::string(a->get_string());
    if (*in.auth_type != "NONE" && *in.auth_type != "AWS_IAM")
      errors.add("authType", *in.auth_type, enum_constraint({"NONE", "AWS_IAM"}));
  } else if (auth_required) {
    errors.add_missing("authType");
  }
  if (const auto* c = o.if_contains("Cors"); c && !c->is_null()) {
    if (!c->is_object()) return invalid_content("Unexpected value for field Cors");
    json::object cors;
    for (const auto& [k, v] : c->get_object()) {
      if (v.is_null()) continue;
      if (k == "AllowCredentials") {
        if (!v.is_bool())
          return invalid_content("Unexpected value for field Cors.AllowCredentials");
        cors[k] = v;
      } else if (k == "MaxAge") {
        if (!v.is_int64()) return invalid_content("Unexpected value for field Cors.MaxAge");
        check_range(errors, "cors.maxAge", v.get_int64(), 0, 86400);
        cors[k] = v;
      } else if (k == "AllowHeaders" || k == "AllowMethods" || k == "AllowOrigins" ||
                 k == "ExposeHeaders") {
        if (!v.is_array())
          return invalid_content("Unexpected value for field Cors." + std::string(k));
        const bool methods = k == "AllowMethods";
        const bool origins = k == "AllowOrigins";
        const size_t max_items = methods ? 6 : 100;
        const size_t max_len = methods ? 6 : origins ? 253 : 1024;
        std::string member = "cors.";
        member += static_cast<char>(std::tolower(static_cast<unsigned char>(k[0])));
        member += std::string(k.substr(1));
        std::string listed = "[";
        for (const auto& item : v.get_array()) {
          if (!item.is_string())
            return invalid_content("Unexpected value for field Cors." + std::string(k));
          listed += (listed.size() > 1 ? ", " : "") + std::string(item.get_string());
        }
        listed += "]";
        if (v.get_array().size() > max_items) {
          errors.add(member, listed, max_length_constraint(static_cast<int64_t>(max_items)));
        } else {
          for (const auto& item : v.get_array()) {
            const auto s = item.get_string();
            if (s.size() > max_len || (origins && s.empty())) {
              errors.add(member, listed,
                         "Member must satisfy constraint: [" +
                             (s.empty() ? std::string("Member must have length greater than or "
                                                      "equal to 1")
                                        : max_length_constraint(static_cast<int64_t>(max_len))) +
                             "]");
              break;
            }
          }
        }
        cors[k] = v;
      } else {
        return invalid_content("Unrecognized field Cors." + std::string(k));
      }
    }
    in.cors = json::serialize(cors);
  }
  if (const auto* m = o.if_contains("InvokeMode"); m && !m->is_null()) {
    if (!m->is_string()) return invalid_content("Unexpected value for field InvokeMode");
    in.invoke_mode = std::string(m->get_string());
    if (*in.invoke_mode != "BUFFERED" && *in.invoke_mode != "RESPONSE_STREAM")
      errors.add("invokeMode", *in.invoke_mode, enum_constraint({"BUFFERED", "RESPONSE_STREAM"}));
  }
  if (!errors.empty()) return lambda_error(400, "ValidationException", errors.message());
  return std::nullopt;
}

json::object render(const UrlsContext& ctx, const FunctionUrlRecord& u, bool with_modified) {
  json::object o;
  o["FunctionUrl"] = function_url(ctx.options, u.url_id);
  o["FunctionArn"] =
      function_arn(ctx.options, u.function) + (u.qualifier.empty() ? "" : ":" + u.qualifier);
  o["AuthType"] = u.auth_type;
  if (!u.cors.empty()) {
    boost::system::error_code ec;
    json::value c = json::parse(u.cors, ec);
    if (!ec) o["Cors"] = std::move(c);
  }
  o["CreationTime"] = u.creation_time;
  if (with_modified) o["LastModifiedTime"] = u.last_modified_time;
  o["InvokeMode"] = u.invoke_mode;
  return o;
}

void announce(const UrlsContext& ctx, const FunctionUrlRecord& u) {
  if (ctx.effects.url_upserted) ctx.effects.url_upserted(u);
}

HttpResponse create_url(const UrlsContext& ctx, const std::string& label, const Query& query,
                        const HttpRequest& request) {
  UrlInput in;
  if (auto bad = read_input(request.body, true, in)) return *bad;
  Target t = resolve(ctx, label, query, true);
  if (t.error) return *t.error;
  FunctionUrlRecord u;
  u.function = t.name;
  u.qualifier = t.qualifier;
  u.url_id = make_url_id();
  u.auth_type = *in.auth_type;
  u.cors = in.cors.value_or("");
  u.invoke_mode = in.invoke_mode.value_or("BUFFERED");
  u.creation_time = url_timestamp_now();
  u.last_modified_time = u.creation_time;
  if (auto r = ctx.registry.create_function_url(u); !r) {
    if (r.error().code == Code::kConflict)
      return lambda_error(409, "ResourceConflictException",
                          "Failed to create function url config for [functionArn = " + t.arn +
                              "]. Error message:  FunctionUrlConfig exists for this Lambda "
                              "function");
    return error_response(r.error());
  }
  announce(ctx, u);
  return json_response(201, render(ctx, u, false));
}

HttpResponse get_url(const UrlsContext& ctx, const std::string& label, const Query& query) {
  Target t = resolve(ctx, label, query, true);
  if (t.error) return *t.error;
  auto u = ctx.registry.get_function_url(t.name, t.qualifier);
  if (!u) return u.error().code == Code::kNotFound ? no_url() : error_response(u.error());
  return json_response(200, render(ctx, *u, true));
}

HttpResponse update_url(const UrlsContext& ctx, const std::string& label, const Query& query,
                        const HttpRequest& request) {
  UrlInput in;
  if (auto bad = read_input(request.body, false, in)) return *bad;
  Target t = resolve(ctx, label, query, true);
  if (t.error) return *t.error;
  auto u = ctx.registry.get_function_url(t.name, t.qualifier);
  if (!u) return u.error().code == Code::kNotFound ? no_url() : error_response(u.error());
  if (in.auth_type) u->auth_type = *in.auth_type;
  if (in.cors) u->cors = *in.cors;
  if (in.invoke_mode) u->invoke_mode = *in.invoke_mode;
  u->last_modified_time = url_timestamp_now();
  if (auto r = ctx.registry.update_function_url(*u); !r)
    return r.error().code == Code::kNotFound ? no_url() : error_response(r.error());
  announce(ctx, *u);
  return json_response(200, render(ctx, *u, true));
}

HttpResponse delete_url(const UrlsContext& ctx, const std::string& label, const Query& query) {
  Target t = resolve(ctx, label, query, true);
  if (t.error) return *t.error;
  if (auto r = ctx.registry.remove_function_url(t.name, t.qualifier); !r)
    return r.error().code == Code::kNotFound ? no_url() : error_response(r.error());
  if (ctx.effects.url_removed) ctx.effects.url_removed(t.name, t.qualifier);
  HttpResponse res;
  res.status = 204;
  res.headers.emplace_back("Content-Type", "application/json");
  return res;
}

HttpResponse list_urls(const UrlsContext& ctx, const std::string& label, const Query& query) {
  ValidationErrors errors;
  int max_items = kListMax;
  if (const auto raw = query_value(query, "MaxItems")) {
    char* end = nullptr;
    const long long n = std::strtoll(raw->c_str(), &end, 10);
    if (raw->empty() || *end != '\0')
      return lambda_error(400, "InvalidParameterValueException",
                          "MaxItems must be an integer: " + *raw);
    check_range(errors, "maxItems", n, 1, kListMax);
    max_items = static_cast<int>(std::min<long long>(n, kListMax));
  }
  if (!errors.empty()) return lambda_error(400, "ValidationException", errors.message());
  Target t = resolve(ctx, label, Query{}, false);
  if (t.error) return *t.error;
  if (!t.qualifier.empty()) return not_found(t.arn);
  auto all = ctx.registry.list_function_urls(t.name);
  if (!all) return error_response(all.error());
  size_t start = 0;
  if (const auto marker = query_value(query, "Marker"); marker && !marker->empty()) {
    char* end = nullptr;
    const long long n = std::strtoll(marker->c_str(), &end, 10);
    if (*end != '\0' || n < 0)
      return lambda_error(400, "InvalidParameterValueException", "Invalid marker: " + *marker);
    start = static_cast<size_t>(n);
  }
  json::array items;
  size_t i = start;
  for (; i < all->size() && items.size() < static_cast<size_t>(max_items); ++i)
    items.push_back(render(ctx, (*all)[i], true));
  json::object out;
  out["FunctionUrlConfigs"] = std::move(items);
  if (i < all->size()) out["NextMarker"] = std::to_string(i);
  return json_response(200, out);
}

// ---- lambdad's route table ---------------------------------------------------------------

json::object render_route(const std::string& function, const HttpRoute& r) {
  return json::object{{"FunctionName", function},
                      {"Method", r.method},
                      {"Path", r.path},
                      {"PayloadFormatVersion", r.payload_version}};
}

HttpResponse put_routes(const UrlsContext& ctx, const std::string& label,
                        const HttpRequest& request) {
  boost::system::error_code ec;
  json::value v = json::parse(request.body, ec);
  if (ec) return invalid_content(ec.message());
  const json::value* list = v.is_object() ? v.get_object().if_contains("Routes") : nullptr;
  if (list == nullptr || !list->is_array())
    return invalid_content(
        "expected {\"Routes\":[{\"Method\",\"Path\",\"PayloadFormatVersion\"}]}");
  std::vector<HttpRoute> routes;
  for (const auto& item : list->get_array()) {
    const json::object* o = item.if_object();
    const json::value* m = o ? o->if_contains("Method") : nullptr;
    const json::value* p = o ? o->if_contains("Path") : nullptr;
    if (!m || !p || !m->is_string() || !p->is_string())
      return invalid_content("each route needs string Method and Path");
    HttpRoute r;
    r.method = std::string(m->get_string());
    for (auto& c : r.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    r.path = std::string(p->get_string());
    if (const auto* f = o->if_contains("PayloadFormatVersion"); f && f->is_string())
      r.payload_version = std::string(f->get_string());
    static const std::vector<std::string_view> kMethods = {"ANY",     "DELETE", "GET",  "HEAD",
                                                           "OPTIONS", "PATCH",  "POST", "PUT"};
    if (std::find(kMethods.begin(), kMethods.end(), r.method) == kMethods.end())
      return lambda_error(400, "InvalidParameterValueException",
                          "Unsupported route method: " + r.method);
    if (!r.path.starts_with('/'))
      return lambda_error(400, "InvalidParameterValueException",
                          "Route path must start with '/': " + r.path);
    if (r.payload_version != "1.0" && r.payload_version != "2.0")
      return lambda_error(400, "InvalidParameterValueException",
                          "PayloadFormatVersion must be 1.0 or 2.0: " + r.payload_version);
    routes.push_back(std::move(r));
  }
  Target t = resolve(ctx, label, Query{}, false);
  if (t.error) return *t.error;
  if (auto r = ctx.registry.set_http_routes(t.name, routes); !r) return error_response(r.error());
  if (ctx.effects.routes_changed) ctx.effects.routes_changed(t.name, routes);
  json::array out;
  for (const auto& r : routes) out.push_back(render_route(t.name, r));
  return json_response(200, json::object{{"Routes", std::move(out)}});
}

HttpResponse list_routes(const UrlsContext& ctx, const std::string& label) {
  auto all = ctx.registry.http_routes();
  if (!all) return error_response(all.error());
  json::array out;
  for (const auto& [function, routes] : *all) {
    if (!label.empty() && function != label) continue;
    for (const auto& r : routes) out.push_back(render_route(function, r));
  }
  return json_response(200, json::object{{"Routes", std::move(out)}});
}

HttpResponse delete_routes(const UrlsContext& ctx, const std::string& label) {
  Target t = resolve(ctx, label, Query{}, false);
  if (t.error) return *t.error;
  if (auto r = ctx.registry.set_http_routes(t.name, {}); !r) return error_response(r.error());
  if (ctx.effects.routes_changed) ctx.effects.routes_changed(t.name, {});
  HttpResponse res;
  res.status = 204;
  return res;
}

}  // namespace

std::string function_url(const ControlOptions& options, const std::string& url_id) {
  std::string port;
  if (const size_t colon = options.base_url.rfind(':');
      colon != std::string::npos && colon > options.base_url.find("://") + 2)
    port = options.base_url.substr(colon);
  return "http://" + url_id + ".lambda-url." + options.region + ".localhost" + port + "/";
}

std::string url_timestamp_now() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm t{};
  gmtime_r(&tv.tv_sec, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, int(tv.tv_usec));
  return buf;
}

HttpResponse handle_function_urls(const UrlsContext& ctx, const RouteMatch& match,
                                  const HttpRequest& request, const Query& query) {
  switch (match.operation) {
    case Operation::kCreateFunctionUrlConfig:
      return create_url(ctx, match.label, query, request);
    case Operation::kGetFunctionUrlConfig:
      return get_url(ctx, match.label, query);
    case Operation::kUpdateFunctionUrlConfig:
      return update_url(ctx, match.label, query, request);
    case Operation::kDeleteFunctionUrlConfig:
      return delete_url(ctx, match.label, query);
    case Operation::kListFunctionUrlConfigs:
      return list_urls(ctx, match.label, query);
    case Operation::kPutHttpRoutes:
      return put_routes(ctx, match.label, request);
    case Operation::kListHttpRoutes:
    case Operation::kGetHttpRoutes:
      return list_routes(ctx, match.label);
    case Operation::kDeleteHttpRoutes:
      return delete_routes(ctx, match.label);
    default:
      break;
  }
  return lambda_error(404, "UnknownOperationException", "Unknown operation");
}

}  // namespace lambdad::api
