#include "api/versions_api.h"

#include <boost/json.hpp>
#include <cstdlib>
#include <optional>
#include <string>

#include "api/errors.h"
#include "api/validation.h"
#include "common/encoding.h"

namespace lambdad::api {
namespace json = boost::json;
namespace {

using registry::AliasRecord;
using registry::FunctionRecord;
using Query = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kAliasPattern = "(?!^[0-9]+$)([a-zA-Z0-9-_]+)";
constexpr std::string_view kVersionPattern = "(\\$LATEST|[0-9]+)";
constexpr int kListMax = 50;

HttpResponse invalid_parameter(std::string_view message) {
  return lambda_error(400, "InvalidParameterValueException", message);
}

HttpResponse invalid_content(std::string_view detail) {
  return lambda_error(400, "InvalidRequestContentException",
                      "Could not parse request body into json: Could not parse payload into "
                      "json: " +
                          std::string(detail));
}

HttpResponse precondition_failed() {
  return lambda_error(412, "PreconditionFailedException",
                      "The Revision Id provided does not match the latest Revision Id. Call the "
                      "GetFunction/GetAlias API to retrieve the latest Revision Id");
}

std::string arn(const VersionsContext& ctx, const std::string& name,
                const std::string& qualifier = "") {
  return function_arn(ctx.options, name) + (qualifier.empty() ? "" : ":" + qualifier);
}

HttpResponse not_found(const VersionsContext& ctx, const std::string& name,
                       const std::string& qualifier = "") {
  return lambda_error(404, "ResourceNotFoundException",
                      "Function not found: " + arn(ctx, name, qualifier));
}

HttpResponse alias_not_found(const VersionsContext& ctx, const std::string& name,
                             const std::string& alias) {
  return lambda_error(404, "ResourceNotFoundException",
                      "Cannot find alias arn: " + arn(ctx, name, alias));
}

bool is_version_number(const std::string& q) {
  return !q.empty() && q.size() <= 10 && q.find_first_not_of("0123456789") == std::string::npos;
}

bool valid_alias_name(const std::string& a) {
  return !a.empty() && a.size() <= 128 && !is_version_number(a) &&
         a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
             std::string::npos;
}

// Parses the body as a JSON object ({} when empty).
std::optional<HttpResponse> parse_body(const std::string& body, json::object& out) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return invalid_content(ec.message());
  if (!v.is_object()) return invalid_content("expected a JSON object");
  out = std::move(v.get_object());
  return std::nullopt;
}

// A string member; `bad` is set when present with another type.
std::optional<std::string> string_member(const json::object& o, std::string_view key,
                                         std::string& bad) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    if (bad.empty()) bad = "Unexpected value for field " + std::string(key) + ": expected a string";
    return std::nullopt;
  }
  return std::string(v->get_string());
}

// The function named by a {FunctionName} label (unqualified), or the error to answer.
struct Target {
  std::string name;
  std::optional<HttpResponse> error;
};

Target function_target(const VersionsContext& ctx, const std::string& label, NameShape shape) {
  ValidationErrors errors;
  auto ref = parse_function_name(label, shape, errors);
  if (!errors.empty() || !ref)
    return {"", lambda_error(400, "ValidationException", errors.message())};
  if ((!ref->region.empty() && ref->region != ctx.options.region) ||
      (!ref->account.empty() && ref->account != ctx.options.account))
    return {"", not_found(ctx, ref->name, ref->qualifier)};
  return {ref->name, std::nullopt};
}

json::object render_alias(const VersionsContext& ctx, const AliasRecord& a) {
  json::object o;
  o["AliasArn"] = arn(ctx, a.function, a.name);
  o["Name"] = a.name;
  o["FunctionVersion"] = a.function_version;
  o["Description"] = a.description;
  if (!a.additional_weights.empty()) {
    json::object w;
    for (const auto& [k, v] : a.additional_weights) w[k] = v;
    o["RoutingConfig"] = json::object{{"AdditionalVersionWeights", std::move(w)}};
  }
  o["RevisionId"] = a.revision_id;
  return o;
}

// Loads the record `version` names ($LATEST or a number).
Result<FunctionRecord> load_version(const VersionsContext& ctx, const std::string& name,
                                    const std::string& version) {
  if (version == "$LATEST") return ctx.registry.get(name);
  return ctx.registry.get_version(name, version);
}

// ---- versions ----------------------------------------------------------------------------

HttpResponse publish_version(const VersionsContext& ctx, const std::string& label,
                             const HttpRequest& request) {
  json::object body;
  if (auto bad = parse_body(request.body, body)) return *bad;
  std::string type_error;
  const auto code_sha = string_member(body, "CodeSha256", type_error);
  const auto description = string_member(body, "Description", type_error);
  const auto revision = string_member(body, "RevisionId", type_error);
  if (!type_error.empty()) return invalid_content(type_error);
  Target t = function_target(ctx, label, NameShape::kFunctionName);
  if (t.error) return *t.error;
  if (description && description->size() > 256) {
    ValidationErrors errors;
    errors.add("description", *description, max_length_constraint(256));
    return lambda_error(400, "ValidationException", errors.message());
  }
  Result<FunctionRecord> latest = ctx.registry.get(t.name);
  if (!latest) {
    if (latest.error().code == Code::kNotFound) return not_found(ctx, t.name);
    return error_response(latest.error());
  }
  if (revision && *revision != latest->revision_id) return precondition_failed();
  if (code_sha && *code_sha != latest->code_sha256)
    return lambda_error(412, "PreconditionFailedException",
                        "CodeSHA256 (" + *code_sha +
                            ") is different from current CodeSHA256 in $LATEST (" +
                            latest->code_sha256 +
                            "). Please try again with the current "
                            "CodeSHA256.");
  // Nothing changed since the last published version: Lambda answers with that version.
  Result<std::vector<FunctionRecord>> versions = ctx.registry.list_versions(t.name);
  if (!versions) return error_response(versions.error());
  if (!versions->empty() && versions->back().generation == latest->generation &&
      versions->back().code_sha256 == latest->code_sha256)
    return json_response(201, render_function_configuration(ctx.options, versions->back(), false));

  FunctionRecord snapshot = std::move(latest).value();
  if (description) snapshot.description = *description;
  snapshot.revision_id = uuid4();
  snapshot.last_modified = lambda_timestamp_now();
  Result<FunctionRecord> published = ctx.registry.publish_version(snapshot);
  if (!published) {
    if (published.error().code == Code::kNotFound) return not_found(ctx, t.name);
    return error_response(published.error());
  }
  if (ctx.effects.upserted) ctx.effects.upserted(*published);
  return json_response(201, render_function_configuration(ctx.options, *published, false));
}

// Pagination over an in-memory list: Marker is the index to start at.
std::pair<size_t, size_t> page_bounds(const Query& query, size_t total,
                                      std::optional<HttpResponse>& error) {
  size_t start = 0;
  size_t max_items = kListMax;
  if (const auto m = query_value(query, "Marker"); m && !m->empty()) {
    char* end = nullptr;
    start = std::strtoull(m->c_str(), &end, 10);
    if (*end != '\0') error = invalid_parameter("Invalid marker: " + *m);
  }
  if (const auto raw = query_value(query, "MaxItems")) {
    char* end = nullptr;
    const long long n = std::strtoll(raw->c_str(), &end, 10);
    if (raw->empty() || *end != '\0' || n < 1 || n > 10000) {
      ValidationErrors errors;
      check_range(errors, "maxItems", n, 1, 10000);
      error = errors.empty() ? invalid_parameter("MaxItems must be an integer: " + *raw)
                             : lambda_error(400, "ValidationException", errors.message());
    } else if (static_cast<size_t>(n) < max_items) {
      max_items = static_cast<size_t>(n);
    }
  }
  if (start > total) start = total;
  return {start, std::min(total, start + max_items)};
}

HttpResponse list_versions(const VersionsContext& ctx, const std::string& label,
                           const Query& query) {
  Target t = function_target(ctx, label, NameShape::kNamespaced);
  if (t.error) return *t.error;
  Result<FunctionRecord> latest = ctx.registry.get(t.name);
  if (!latest) {
    if (latest.error().code == Code::kNotFound) return not_found(ctx, t.name);
    return error_response(latest.error());
  }
  Result<std::vector<FunctionRecord>> versions = ctx.registry.list_versions(t.name);
  if (!versions) return error_response(versions.error());
  std::vector<json::object> all;
  json::object first = render_function_configuration(ctx.options, *latest, true);
  first["FunctionArn"] = arn(ctx, t.name, "$LATEST");  // listed qualified, as Lambda does
  all.push_back(std::move(first));
  for (const FunctionRecord& v : *versions)
    all.push_back(render_function_configuration(ctx.options, v, true));
  std::optional<HttpResponse> error;
  const auto [begin, end] = page_bounds(query, all.size(), error);
  if (error) return *error;
  json::array items;
  for (size_t i = begin; i < end; ++i) items.push_back(std::move(all[i]));
  json::object out{{"Versions", std::move(items)}};
  if (end < all.size()) out["NextMarker"] = std::to_string(end);
  return json_response(200, out);
}

// ---- aliases -----------------------------------------------------------------------------

// Reads RoutingConfig.AdditionalVersionWeights; nullopt when absent.
std::optional<HttpResponse> read_weights(const json::object& body, bool& present,
                                         std::map<std::string, double>& out) {
  present = false;
  const auto* rc = body.if_contains("RoutingConfig");
  if (rc == nullptr || rc->is_null()) return std::nullopt;
  if (!rc->is_object())
    return invalid_content("Unexpected value for field RoutingConfig: expected an object");
  present = true;
  const auto* w = rc->get_object().if_contains("AdditionalVersionWeights");
  if (w == nullptr || w->is_null()) return std::nullopt;
  if (!w->is_object())
    return invalid_content(
        "Unexpected value for field RoutingConfig.AdditionalVersionWeights: expected an object");
  ValidationErrors errors;
  for (const auto& [k, v] : w->get_object()) {
    if (!v.is_number())
      return invalid_content(
          "Unexpected value for field RoutingConfig.AdditionalVersionWeights: expected a number");
    const double weight = v.to_number<double>();
    const std::string key(k);
    if (!is_version_number(key))
      errors.add("routingConfig.additionalVersionWeights", key, pattern_constraint("[0-9]+"));
    if (weight < 0.0 || weight > 1.0)
      errors.add("routingConfig.additionalVersionWeights." + key, json::serialize(v),
                 weight < 0 ? "Member must have value greater than or equal to 0.0"
                            : "Member must have value less than or equal to 1.0");
    out[key] = weight;
  }
  if (!errors.empty()) return lambda_error(400, "ValidationException", errors.message());
  return std::nullopt;
}

// Checks that the alias's versions exist and its routing is one Lambda accepts.
std::optional<HttpResponse> check_alias_targets(const VersionsContext& ctx, const AliasRecord& a) {
  Result<FunctionRecord> primary = load_version(ctx, a.function, a.function_version);
  if (!primary) {
    if (primary.error().code == Code::kNotFound)
      return not_found(ctx, a.function, a.function_version);
    return error_response(primary.error());
  }
  if (a.additional_weights.empty()) return std::nullopt;
  if (a.additional_weights.size() > 1)
    return invalid_parameter(
        "Number of items in AdditionalVersionWeights cannot be greater "
        "than 1");
  if (a.function_version == "$LATEST")
    return invalid_parameter(
        "$LATEST is not supported for an alias pointing to more than 1 "
        "version");
  for (const auto& [version, weight] : a.additional_weights) {
    if (version == a.function_version)
      return invalid_parameter(
          "Alias with weights can not be used with the same version as the "
          "primary version");
    Result<FunctionRecord> extra = ctx.registry.get_version(a.function, version);
    if (!extra) {
      if (extra.error().code == Code::kNotFound) return not_found(ctx, a.function, version);
      return error_response(extra.error());
    }
  }
  return std::nullopt;
}

HttpResponse create_alias(const VersionsContext& ctx, const std::string& label,
                          const HttpRequest& request) {
  json::object body;
  if (auto bad = parse_body(request.body, body)) return *bad;
  std::string type_error;
  const auto name = string_member(body, "Name", type_error);
  const auto version = string_member(body, "FunctionVersion", type_error);
  const auto description = string_member(body, "Description", type_error);
  if (!type_error.empty()) return invalid_content(type_error);
  bool has_routing = false;
  AliasRecord a;
  if (auto bad = read_weights(body, has_routing, a.additional_weights)) return *bad;
  Target t = function_target(ctx, label, NameShape::kFunctionName);
  if (t.error) return *t.error;
  ValidationErrors errors;
  if (!name) {
    errors.add_missing("name");
  } else if (!valid_alias_name(*name)) {
    errors.add("name", *name,
               name->size() > 128 ? max_length_constraint(128) : pattern_constraint(kAliasPattern));
  }
  if (!version) {
    errors.add_missing("functionVersion");
  } else if (*version != "$LATEST" && !is_version_number(*version)) {
    errors.add("functionVersion", *version, pattern_constraint(kVersionPattern));
  }
  if (description && description->size() > 256)
    errors.add("description", *description, max_length_constraint(256));
  if (!errors.empty()) return lambda_error(400, "ValidationException", errors.message());
  a.function = t.name;
  a.name = *name;
  a.function_version = *version;
  a.description = description.value_or("");
  a.revision_id = uuid4();
  if (Result<FunctionRecord> fn = ctx.registry.get(t.name); !fn) {
    if (fn.error().code == Code::kNotFound) return not_found(ctx, t.name);
    return error_response(fn.error());
  }
  if (auto bad = check_alias_targets(ctx, a)) return *bad;
  Result<void> created = ctx.registry.create_alias(a);
  if (!created) {
    if (created.error().code == Code::kConflict)
      return lambda_error(409, "ResourceConflictException",
                          "Alias already exists: " + arn(ctx, t.name, a.name));
    return error_response(created.error());
  }
  if (ctx.effects.alias_upserted) ctx.effects.alias_upserted(a);
  return json_response(201, render_alias(ctx, a));
}

HttpResponse get_alias(const VersionsContext& ctx, const std::string& label,
                       const std::string& alias) {
  Target t = function_target(ctx, label, NameShape::kNamespaced);
  if (t.error) return *t.error;
  Result<AliasRecord> a = ctx.registry.get_alias(t.name, alias);
  if (!a) {
    if (a.error().code == Code::kNotFound) return alias_not_found(ctx, t.name, alias);
    return error_response(a.error());
  }
  return json_response(200, render_alias(ctx, *a));
}

HttpResponse update_alias(const VersionsContext& ctx, const std::string& label,
                          const std::string& alias, const HttpRequest& request) {
  json::object body;
  if (auto bad = parse_body(request.body, body)) return *bad;
  std::string type_error;
  const auto version = string_member(body, "FunctionVersion", type_error);
  const auto description = string_member(body, "Description", type_error);
  const auto revision = string_member(body, "RevisionId", type_error);
  if (!type_error.empty()) return invalid_content(type_error);
  bool has_routing = false;
  std::map<std::string, double> weights;
  if (auto bad = read_weights(body, has_routing, weights)) return *bad;
  Target t = function_target(ctx, label, NameShape::kFunctionName);
  if (t.error) return *t.error;
  if (version && *version != "$LATEST" && !is_version_number(*version)) {
    ValidationErrors errors;
    errors.add("functionVersion", *version, pattern_constraint(kVersionPattern));
    return lambda_error(400, "ValidationException", errors.message());
  }
  Result<AliasRecord> current = ctx.registry.get_alias(t.name, alias);
  if (!current) {
    if (current.error().code == Code::kNotFound) return alias_not_found(ctx, t.name, alias);
    return error_response(current.error());
  }
  if (revision && *revision != current->revision_id) return precondition_failed();
  AliasRecord a = std::move(current).value();
  const std::string expected = a.revision_id;
  if (version) a.function_version = *version;
  if (description) a.description = *description;
  if (has_routing) a.additional_weights = weights;
  a.revision_id = uuid4();
  if (auto bad = check_alias_targets(ctx, a)) return *bad;
  Result<void> written = ctx.registry.update_alias(a, expected);
  if (!written) {
    if (registry::is_precondition_failed(written.error())) return precondition_failed();
    if (written.error().code == Code::kNotFound) return alias_not_found(ctx, t.name, alias);
    return error_response(written.error());
  }
  if (ctx.effects.alias_upserted) ctx.effects.alias_upserted(a);
  return json_response(200, render_alias(ctx, a));
}

HttpResponse list_aliases(const VersionsContext& ctx, const std::string& label,
                          const Query& query) {
  Target t = function_target(ctx, label, NameShape::kNamespaced);
  if (t.error) return *t.error;
  if (Result<FunctionRecord> fn = ctx.registry.get(t.name); !fn) {
    if (fn.error().code == Code::kNotFound) return not_found(ctx, t.name);
    return error_response(fn.error());
  }
  Result<std::vector<AliasRecord>> aliases = ctx.registry.list_aliases(t.name);
  if (!aliases) return error_response(aliases.error());
  const auto version = query_value(query, "FunctionVersion");
  std::vector<json::object> all;
  for (const AliasRecord& a : *aliases)
    if (!version || version->empty() || a.function_version == *version)
      all.push_back(render_alias(ctx, a));
  std::optional<HttpResponse> error;
  const auto [begin, end] = page_bounds(query, all.size(), error);
  if (error) return *error;
  json::array items;
  for (size_t i = begin; i < end; ++i) items.push_back(std::move(all[i]));
  json::object out{{"Aliases", std::move(items)}};
  if (end < all.size()) out["NextMarker"] = std::to_string(end);
  return json_response(200, out);
}

HttpResponse delete_alias(const VersionsContext& ctx, const std::string& label,
                          const std::string& alias) {
  Target t = function_target(ctx, label, NameShape::kFunctionName);
  if (t.error) return *t.error;
  Result<void> removed = ctx.registry.remove_alias(t.name, alias);
  // Lambda answers 204 for an alias that does not exist (DeleteAlias is idempotent).
  if (!removed && removed.error().code != Code::kNotFound) return error_response(removed.error());
  if (removed && ctx.effects.alias_removed) ctx.effects.alias_removed(t.name, alias);
  // The alias' function URL goes with it (it would otherwise point at nothing).
  if (removed && ctx.registry.remove_function_url(t.name, alias) && ctx.effects.url_removed)
    ctx.effects.url_removed(t.name, alias);
  return empty_response(204);
}

// ---- reserved concurrency ----------------------------------------------------------------

HttpResponse put_concurrency(const VersionsContext& ctx, const std::string& label,
                             const HttpRequest& request) {
  json::object body;
  if (auto bad = parse_body(request.body, body)) return *bad;
  std::optional<int64_t> n;
  if (const auto* v = body.if_contains("ReservedConcurrentExecutions"); v && !v->is_null()) {
    if (v->is_int64()) {
      n = v->get_int64();
    } else if (v->is_uint64()) {
      n = static_cast<int64_t>(std::min<uint64_t>(v->get_uint64(), INT64_MAX));
    } else {
      return invalid_content(
          "Unexpected value for field ReservedConcurrentExecutions: expected an integer");
    }
  }
  Target t = function_target(ctx, label, NameShape::kFunctionName);
  if (t.error) return *t.error;
  ValidationErrors errors;
  if (!n) {
    errors.add_missing("reservedConcurrentExecutions");
  } else if (*n < 0) {
    errors.add("reservedConcurrentExecutions", std::to_string(*n), min_value_constraint(0));
  }
  if (!errors.empty()) return lambda_error(400, "ValidationException", errors.message());
  if (Result<FunctionRecord> fn = ctx.registry.get(t.name); !fn) {
    if (fn.error().code == Code::kNotFound) return not_found(ctx, t.name);
    return error_response(fn.error());
  }
  Result<std::map<std::string, int>> all = ctx.registry.reserved_concurrencies();
  if (!all) return error_response(all.error());
  int64_t others = 0;
  for (const auto& [name, r] : *all)
    if (name != t.name) others += r;
  if (kAccountConcurrency - others - *n < kMinUnreservedConcurrency)
    return invalid_parameter(
        "Specified ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [" +
        std::to_string(kMinUnreservedConcurrency) + "].");
  const int value = static_cast<int>(*n);
  if (Result<void> r = ctx.registry.set_reserved_concurrency(t.name, value); !r)
    return error_response(r.error());
  if (ctx.effects.concurrency_changed) ctx.effects.concurrency_changed(t.name, value);
  return json_response(200, json::object{{"ReservedConcurrentExecutions", value}});
}

HttpResponse get_concurrency(const VersionsContext& ctx, const std::string& label) {
  Target t = function_target(ctx, label, NameShape::kNamespaced);
  if (t.error) return *t.error;
  if (Result<FunctionRecord> fn = ctx.registry.get(t.name); !fn) {
    if (fn.error().code == Code::kNotFound) return not_found(ctx, t.name);
    return error_response(fn.error());
  }
  json::object out;
  add_concurrency(ctx, t.name, out);
  if (auto* c = out.if_contains("Concurrency")) return json_response(200, *c);
  return json_response(200, json::object{});
}

HttpResponse delete_concurrency(const VersionsContext& ctx, const std::string& label) {
  Target t = function_target(ctx, label, NameShape::kFunctionName);
  if (t.error) return *t.error;
  if (Result<FunctionRecord> fn = ctx.registry.get(t.name); !fn) {
    if (fn.error().code == Code::kNotFound) return not_found(ctx, t.name);
    return error_response(fn.error());
  }
  if (Result<void> r = ctx.registry.set_reserved_concurrency(t.name, std::nullopt); !r)
    return error_response(r.error());
  if (ctx.effects.concurrency_changed) ctx.effects.concurrency_changed(t.name, std::nullopt);
  return empty_response(204);
}

}  // namespace

HttpResponse handle_versions(const VersionsContext& ctx, const RouteMatch& match,
                             const HttpRequest& request, const Query& query) {
  switch (match.operation) {
    case Operation::kPublishVersion:
      return publish_version(ctx, match.label, request);
    case Operation::kListVersionsByFunction:
      return list_versions(ctx, match.label, query);
    case Operation::kCreateAlias:
      return create_alias(ctx, match.label, request);
    case Operation::kListAliases:
      return list_aliases(ctx, match.label, query);
    case Operation::kGetAlias:
      return get_alias(ctx, match.label, match.label2);
    case Operation::kUpdateAlias:
      return update_alias(ctx, match.label, match.label2, request);
    case Operation::kDeleteAlias:
      return delete_alias(ctx, match.label, match.label2);
    case Operation::kPutFunctionConcurrency:
      return put_concurrency(ctx, match.label, request);
    case Operation::kGetFunctionConcurrency:
      return get_concurrency(ctx, match.label);
    case Operation::kDeleteFunctionConcurrency:
      return delete_concurrency(ctx, match.label);
    default:
      return lambda_error(404, "UnknownOperationException", "Unknown operation");
  }
}

HttpResponse get_qualified(const VersionsContext& ctx, const std::string& name,
                           const std::string& qualifier, bool configuration_only) {
  std::string version = qualifier;
  if (!is_version_number(qualifier)) {
    Result<AliasRecord> a = ctx.registry.get_alias(name, qualifier);
    if (!a) {
      if (a.error().code == Code::kNotFound) return not_found(ctx, name, qualifier);
      return error_response(a.error());
    }
    version = a->function_version;
  }
  Result<FunctionRecord> fn = load_version(ctx, name, version);
  if (!fn) {
    if (fn.error().code == Code::kNotFound) return not_found(ctx, name, qualifier);
    return error_response(fn.error());
  }
  json::object config = render_function_configuration(ctx.options, *fn, false);
  // Named through an alias, Lambda echoes the alias ARN with the version it points to.
  config["FunctionArn"] = arn(ctx, name, qualifier);
  if (configuration_only) return json_response(200, config);
  json::object out;
  out["Configuration"] = std::move(config);
  out["Code"] = json::object{{"RepositoryType", "S3"},
                             {"Location", code_location(ctx.options, fn->package_id)}};
  if (Result<FunctionRecord> latest = ctx.registry.get(name); latest && !latest->tags.empty()) {
    json::object tags;
    for (const auto& [k, v] : latest->tags) tags[k] = v;
    out["Tags"] = std::move(tags);
  }
  add_concurrency(ctx, name, out);
  return json_response(200, out);
}

HttpResponse delete_qualified(const VersionsContext& ctx, const std::string& name,
                              const std::string& qualifier) {
  if (!is_version_number(qualifier))
    return invalid_parameter(
        "Deletion of aliases is not supported by DeleteFunction; use "
        "DeleteAlias.");
  if (Result<FunctionRecord> fn = ctx.registry.get(name); !fn) {
    if (fn.error().code == Code::kNotFound) return not_found(ctx, name);
    return error_response(fn.error());
  }
  Result<std::vector<AliasRecord>> aliases = ctx.registry.list_aliases(name);
  if (!aliases) return error_response(aliases.error());
  std::vector<std::string> users;
  for (const AliasRecord& a : *aliases)
    if (a.function_version == qualifier || a.additional_weights.count(qualifier))
      users.push_back(a.name);
  if (!users.empty()) {
    std::string list;
    for (const std::string& u : users) list += (list.empty() ? "" : ", ") + u;
    return lambda_error(
        409, "ResourceConflictException",
        "Unable to delete version because the following aliases reference it: [" + list + "]");
  }
  Result<void> removed = ctx.registry.remove_version(name, qualifier);
  if (!removed) {
    if (removed.error().code == Code::kNotFound) return not_found(ctx, name, qualifier);
    return error_response(removed.error());
  }
  if (ctx.effects.version_removed) ctx.effects.version_removed(name, qualifier);
  return empty_response(204);
}

HttpResponse publish_after_write(const VersionsContext& ctx, const FunctionRecord& latest,
                                 int status) {
  FunctionRecord snapshot = latest;
  snapshot.revision_id = uuid4();
  Result<FunctionRecord> published = ctx.registry.publish_version(snapshot);
  if (!published) return error_response(published.error());
  if (ctx.effects.upserted) ctx.effects.upserted(*published);
  return json_response(status, render_function_configuration(ctx.options, *published, false));
}

void add_concurrency(const VersionsContext& ctx, const std::string& name, json::object& out) {
  Result<std::optional<int>> r = ctx.registry.reserved_concurrency(name);
  if (r && r->has_value()) out["Concurrency"] = json::object{{"ReservedConcurrentExecutions", **r}};
}

int total_reserved_concurrency(const VersionsContext& ctx) {
  Result<std::map<std::string, int>> all = ctx.registry.reserved_concurrencies();
  if (!all) return 0;
  int total = 0;
  for (const auto& [name, n] : *all) total += n;
  return total;
}

}  // namespace lambdad::api
