#include "api/control_api.h"

#include <algorithm>
#include <boost/json.hpp>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/errors.h"
#include "api/function_urls_api.h"
#include "api/routes.h"
#include "api/validation.h"
#include "api/versions_api.h"
#include "common/encoding.h"

namespace lambdad::api {
namespace json = boost::json;
namespace {

using registry::FunctionRecord;
using Query = std::vector<std::pair<std::string, std::string>>;

constexpr int kListPageMax =
    50;  // ListFunctions returns at most 50 per page whatever MaxItems says
constexpr int kUpdateAttempts = 3;
constexpr std::string_view kRolePattern =
    R"(arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+)";
constexpr std::string_view kQualifierPattern = "(|[a-zA-Z0-9$_-]+)";

struct Context {
  registry::Registry& registry;
  packages::PackageStore& packages;
  const ControlOptions& options;
  const ControlEffects& effects;
};

// ---- responses -------------------------------------------------------------------------

HttpResponse validation_error(const ValidationErrors& errors) {
  return lambda_error(400, "ValidationException", errors.message());
}

HttpResponse invalid_parameter(std::string_view message) {
  return lambda_error(400, "InvalidParameterValueException", message);
}

HttpResponse invalid_content(std::string_view detail) {
  return lambda_error(400, "InvalidRequestContentException",
                      "Could not parse request body into json: Could not parse payload into "
                      "json: " +
                          std::string(detail));
}

HttpResponse not_found(std::string_view arn) {
  return lambda_error(404, "ResourceNotFoundException", "Function not found: " + std::string(arn));
}

const char* const kPreconditionMessage =
    "The Revision Id provided does not match the latest Revision Id. Call the "
    "GetFunction/GetAlias API to retrieve the latest Revision Id";

HttpResponse precondition_failed() {
  return lambda_error(412, "PreconditionFailedException", kPreconditionMessage);
}

bool is_revision_conflict(const Error& error) {
  return error.code == Code::kConflict && (error.context.starts_with("PreconditionFailed:") ||
                                           error.context.find("RevisionId") != std::string::npos);
}

// ---- typed reading of request members --------------------------------------------------

// Reads members of one JSON object with the types the model gives them. A wrong type is
// InvalidRequestContentException in Lambda (its JSON binder rejects the document), so the
// first mismatch is recorded in `error` and the caller answers with it. null == absent.
class Members {
 public:
  Members(const json::object& object, std::string& error, std::string prefix = "")
      : object_(object), error_(error), prefix_(std::move(prefix)) {}

  const json::value* get(std::string_view key) const {
    const auto it = object_.find(key);
    if (it == object_.end() || it->value().is_null()) return nullptr;
    return &it->value();
  }

  std::optional<std::string> string(std::string_view key) {
    const json::value* v = get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) return fail(key, "a string"), std::nullopt;
    return std::string(v->get_string());
  }

  std::optional<int64_t> integer(std::string_view key) {
    const json::value* v = get(key);
    if (v == nullptr) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= uint64_t(INT64_MAX))
      return static_cast<int64_t>(v->get_uint64());
    return fail(key, "an integer"), std::nullopt;
  }

  std::optional<bool> boolean(std::string_view key) {
    const json::value* v = get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_bool()) return fail(key, "a boolean"), std::nullopt;
    return v->get_bool();
  }

  const json::object* object(std::string_view key) {
    const json::value* v = get(key);
    if (v == nullptr) return nullptr;
    if (!v->is_object()) return fail(key, "an object"), nullptr;
    return &v->get_object();
  }

  const json::array* array(std::string_view key) {
    const json::value* v = get(key);
    if (v == nullptr) return nullptr;
    if (!v->is_array()) return fail(key, "an array"), nullptr;
    return &v->get_array();
  }

  std::optional<std::map<std::string, std::string>> string_map(std::string_view key) {
    const json::object* o = object(key);
    if (o == nullptr) return std::nullopt;
    std::map<std::string, std::string> out;
    for (const auto& kv : *o) {
      if (!kv.value().is_string()) return fail(key, "a map of strings"), std::nullopt;
      out[std::string(kv.key())] = std::string(kv.value().get_string());
    }
    return out;
  }

  std::optional<std::vector<std::string>> string_list(std::string_view key) {
    const json::array* a = array(key);
    if (a == nullptr) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& item : *a) {
      if (!item.is_string()) return fail(key, "a list of strings"), std::nullopt;
      out.emplace_back(item.get_string());
    }
    return out;
  }

  bool failed() const { return !error_.empty(); }

 private:
  void fail(std::string_view key, std::string_view expected) {
    if (error_.empty())
      error_ = "Unexpected value for field " + prefix_ + std::string(key) + ": expected " +
               std::string(expected);
  }

  const json::object& object_;
  std::string& error_;
  std::string prefix_;
};

// Parses the body as a JSON object (an empty body counts as {}); nullopt on success.
std::optional<HttpResponse> parse_body(const std::string& body, json::object& out) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return std::nullopt;
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) return invalid_content(ec.message());
  if (!value.is_object()) return invalid_content("expected a JSON object");
  out = std::move(value.get_object());
  return std::nullopt;
}

// The configuration members shared by CreateFunction and UpdateFunctionConfiguration.
struct ConfigInput {
  std::optional<std::string> runtime;
  std::optional<std::string> role;
  std::optional<std::string> handler;
  std::optional<std::string> description;
  std::optional<int64_t> timeout;
  std::optional<int64_t> memory_mb;
  bool has_ephemeral = false;
  std::optional<int64_t> ephemeral_mb;
  std::optional<std::map<std::string, std::string>> environment;
  std::optional<std::vector<std::string>> architectures;
  std::vector<std::string> unsupported;  // members lambdad refuses, by name
};

bool non_empty_array(Members& m, std::string_view key) {
  const json::array* a = m.array(key);
  return a != nullptr && !a->empty();
}

void read_config(Members& m, std::string& type_error, ConfigInput& in) {
  in.runtime = m.string("Runtime");
  in.role = m.string("Role");
  in.handler = m.string("Handler");
  in.description = m.string("Description");
  in.timeout = m.integer("Timeout");
  in.memory_mb = m.integer("MemorySize");
  if (const json::object* env = m.object("Environment")) {
    Members e(*env, type_error, "Environment.");
    // Environment replaces the whole map; {"Environment":{}} clears it.
    in.environment = e.string_map("Variables").value_or(std::map<std::string, std::string>{});
  }
  if (const json::object* eph = m.object("EphemeralStorage")) {
    Members e(*eph, type_error, "EphemeralStorage.");
    in.has_ephemeral = true;
    in.ephemeral_mb = e.integer("Size");
  }
  in.architectures = m.string_list("Architectures");
  if (non_empty_array(m, "Layers")) in.unsupported.emplace_back("Layers");
  if (const json::object* vpc = m.object("VpcConfig")) {
    Members v(*vpc, type_error, "VpcConfig.");
    if (non_empty_array(v, "SubnetIds") || non_empty_array(v, "SecurityGroupIds"))
      in.unsupported.emplace_back("VpcConfig");
  }
  if (non_empty_array(m, "FileSystemConfigs")) in.unsupported.emplace_back("FileSystemConfigs");
  // TracingConfig, LoggingConfig, DeadLetterConfig, KMSKeyArn, SnapStart, ImageConfig and
  // CodeSigningConfigArn are accepted and ignored: lambdad renders its fixed defaults.
}

std::string list_text(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

// Model constraints, in the model's member order (that is the order Lambda lists them).
void validate_config(const ConfigInput& in, bool role_required, ValidationErrors& errors) {
  if (in.runtime && !is_known_runtime(*in.runtime))
    errors.add("runtime", *in.runtime, enum_constraint(known_runtimes()));
  if (in.role) {
    if (!in.role->starts_with("arn:"))
      errors.add("role", *in.role, pattern_constraint(kRolePattern));
  } else if (role_required) {
    errors.add_missing("role");
  }
  if (in.handler) {
    if (in.handler->size() > 128) {
      errors.add("handler", *in.handler, max_length_constraint(128));
    } else if (in.handler->empty() ||
               in.handler->find_first_of(" \t\r\n\f\v") != std::string::npos) {
      errors.add("handler", *in.handler, pattern_constraint("[^\\s]+"));
    }
  }
  if (in.description && in.description->size() > 256)
    errors.add("description", *in.description, max_length_constraint(256));
  if (in.timeout) check_range(errors, "timeout", *in.timeout, 1, 900);
  if (in.memory_mb) check_range(errors, "memorySize", *in.memory_mb, 128, 10240);
  if (in.architectures) {
    const auto& a = *in.architectures;
    if (a.size() > 1) {
      errors.add("architectures", list_text(a), max_length_constraint(1));
    } else if (a.empty()) {
      errors.add("architectures", "[]", "Member must have length greater than or equal to 1");
    } else if (a[0] != "x86_64" && a[0] != "arm64") {
      errors.add("architectures", list_text(a),
                 "Member must satisfy constraint: [" + enum_constraint({"x86_64", "arm64"}) + "]");
    }
  }
  if (in.has_ephemeral) {
    if (!in.ephemeral_mb) {
      errors.add_missing("ephemeralStorage.size");
    } else {
      check_range(errors, "ephemeralStorage.size", *in.ephemeral_mb, 512, 10240);
    }
  }
}

// InvalidParameterValueException checks that follow the model constraints.
std::optional<HttpResponse> check_config_semantics(const ConfigInput& in,
                                                   ValidationErrors& errors) {
  std::optional<std::string> env_problem;
  if (in.environment) env_problem = check_environment(*in.environment, errors);
  if (!errors.empty()) return validation_error(errors);
  for (const std::string& member : in.unsupported)
    return invalid_parameter(member + " is not supported by lambdad");
  if (env_problem) return invalid_parameter(*env_problem);
  return std::nullopt;
}

void apply_config(const ConfigInput& in, FunctionRecord& fn) {
  if (in.runtime) fn.runtime = *in.runtime;
  if (in.role) fn.role = *in.role;
  if (in.handler) fn.handler = *in.handler;
  if (in.description) fn.description = *in.description;
  if (in.timeout) fn.timeout_s = static_cast<int>(*in.timeout);
  if (in.memory_mb) fn.memory_mb = static_cast<int>(*in.memory_mb);
  if (in.ephemeral_mb) fn.ephemeral_mb = static_cast<int>(*in.ephemeral_mb);
  if (in.environment) fn.environment = *in.environment;
  if (in.architectures && !in.architectures->empty()) fn.architecture = in.architectures->front();
}

// ---- rendering ---------------------------------------------------------------------------

void put_if(json::object& o, std::string_view key, const std::string& value) {
  if (!value.empty()) o[key] = value;
}

// FunctionConfiguration in the member order real Lambda output uses. ListFunctions items
// omit State*/LastUpdateStatus* (model documentation of ListFunctions).
json::object render_configuration(const Context& ctx, const FunctionRecord& fn, bool list_item) {
  return render_function_configuration(ctx.options, fn, list_item);
}

}  // namespace

json::object render_function_configuration(const ControlOptions& options, const FunctionRecord& fn,
                                           bool list_item) {
  json::object o;
  o["FunctionName"] = fn.name;
  // Published versions carry their qualified ARN; $LATEST the unqualified one.
  o["FunctionArn"] = function_arn(options, fn.name) +
                     (fn.version == "$LATEST" || fn.version.empty() ? "" : ":" + fn.version);
  put_if(o, "Runtime", fn.runtime);
  put_if(o, "Role", fn.role);
  put_if(o, "Handler", fn.handler);
  o["CodeSize"] = fn.code_size;
  o["Description"] = fn.description;
  o["Timeout"] = fn.timeout_s;
  o["MemorySize"] = fn.memory_mb;
  put_if(o, "LastModified", fn.last_modified);
  put_if(o, "CodeSha256", fn.code_sha256);
  o["Version"] = fn.version.empty() ? std::string("$LATEST") : fn.version;
  if (!fn.environment.empty()) {
    json::object vars;
    for (const auto& [k, v] : fn.environment) vars[k] = v;
    o["Environment"] = json::object{{"Variables", std::move(vars)}};
  }
  o["TracingConfig"] = json::object{{"Mode", "PassThrough"}};
  put_if(o, "RevisionId", fn.revision_id);
  if (!list_item) {
    o["State"] = "Active";
    o["LastUpdateStatus"] = "Successful";
  }
  o["PackageType"] = "Zip";
  o["Architectures"] = json::array{json::value(fn.architecture)};
  o["EphemeralStorage"] = json::object{{"Size", fn.ephemeral_mb}};
  o["SnapStart"] = json::object{{"ApplyOn", "None"}, {"OptimizationStatus", "Off"}};
  o["LoggingConfig"] = json::object{{"LogFormat", "Text"}, {"LogGroup", "/aws/lambda/" + fn.name}};
  return o;
}

namespace {

json::object render_tags(const std::map<std::string, std::string>& tags) {
  json::object o;
  for (const auto& [k, v] : tags) o[k] = v;
  return o;
}

// ---- name resolution ---------------------------------------------------------------------

struct Resolved {
  std::string name;
  std::optional<HttpResponse> error;
  std::string qualifier = {};  // a version or alias, set only when resolve() allowed it
};

// Turns a {FunctionName} (or tag {ARN}) and an optional ?Qualifier= into the $LATEST
// function it names. Only $LATEST exists until versions land, so any other qualifier is a
// function that is not found (with the qualified ARN in the message, as Lambda reports it).
Resolved resolve(const Context& ctx, const std::string& label, NameShape shape,
                 const std::optional<std::string>& query_qualifier, bool arn_only = false,
                 bool allow_qualifier = false) {
  ValidationErrors errors;
  const std::optional<FunctionRef> ref =
      arn_only ? parse_function_arn(label, errors) : parse_function_name(label, shape, errors);
  if (query_qualifier &&
      (query_qualifier->size() > 128 ||
       query_qualifier->find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789$_-") != std::string::npos)) {
    errors.add("qualifier", *query_qualifier,
               query_qualifier->size() > 128 ? max_length_constraint(128)
                                             : pattern_constraint(kQualifierPattern));
  }
  if (!errors.empty()) return {"", validation_error(errors)};

  std::string qualifier = ref->qualifier;
  if (query_qualifier && !query_qualifier->empty()) {
    if (!qualifier.empty() && qualifier != *query_qualifier)
      return {"",
              invalid_parameter("The derived qualifier from the function name does not match the "
                                "specified qualifier.")};
    qualifier = *query_qualifier;
  }
  const bool foreign = (!ref->region.empty() && ref->region != ctx.options.region) ||
                       (!ref->account.empty() && ref->account != ctx.options.account);
  if (foreign) {
    std::string arn = "arn:aws:lambda:" + (ref->region.empty() ? ctx.options.region : ref->region) +
                      ":" + (ref->account.empty() ? ctx.options.account : ref->account) +
                      ":function:" + ref->name;
    if (!qualifier.empty()) arn += ":" + qualifier;
    return {"", not_found(arn)};
  }
  if (!qualifier.empty() && qualifier != "$LATEST") {
    if (allow_qualifier) return {ref->name, std::nullopt, qualifier};
    return {"", not_found(function_arn(ctx.options, ref->name) + ":" + qualifier)};
  }
  return {ref->name, std::nullopt};
}

// The registry's record, or the Lambda error for its absence / failure.
Result<FunctionRecord> load(const Context& ctx, const std::string& name) {
  return ctx.registry.get(name);
}

HttpResponse load_error(const Context& ctx, const std::string& name, const Error& error) {
  if (error.code == Code::kNotFound) return not_found(function_arn(ctx.options, name));
  return error_response(error);
}

VersionsContext versions_context(const Context& ctx) {
  return VersionsContext{ctx.registry, ctx.options, ctx.effects};
}

void notify_upserted(const Context& ctx, const FunctionRecord& fn) {
  if (ctx.effects.upserted) ctx.effects.upserted(fn);
}

// Read-modify-write of one function under optimistic concurrency. `client_revision` is the
// caller's RevisionId precondition. `change` marks a code/config change (new RevisionId,
// LastModified, generation; effects notified); tag edits are not changes of the function.
// Without a client precondition a lost race is retried; after kUpdateAttempts it is 409.
std::optional<HttpResponse> update_function(const Context& ctx, const std::string& name,
                                            const std::optional<std::string>& client_revision,
                                            const std::function<void(FunctionRecord&)>& mutate,
                                            bool change, FunctionRecord& out) {
  for (int attempt = 0; attempt < kUpdateAttempts; ++attempt) {
    Result<FunctionRecord> current = load(ctx, name);
    if (!current) return load_error(ctx, name, current.error());
    FunctionRecord fn = std::move(current).value();
    if (client_revision && *client_revision != fn.revision_id) return precondition_failed();
    const std::string expected = fn.revision_id;
    mutate(fn);
    if (change) {
      fn.revision_id = uuid4();
      fn.last_modified = lambda_timestamp_now();
      ++fn.generation;
    }
    const Result<void> written = ctx.registry.update(fn, expected);
    if (written) {
      if (change) notify_upserted(ctx, fn);
      out = std::move(fn);
      return std::nullopt;
    }
    if (is_revision_conflict(written.error())) {
      if (client_revision) return precondition_failed();
      continue;
    }
    return load_error(ctx, name, written.error());
  }
  return lambda_error(409, "ResourceConflictException",
                      "The operation cannot be performed at this time. An update is in progress "
                      "for resource: " +
                          function_arn(ctx.options, name));
}

// Decodes Code.ZipFile / ZipFile (a base64 blob in rest-json).
std::optional<HttpResponse> decode_zip(const std::string& b64, std::string& zip) {
  std::optional<std::string> bytes = base64_decode(b64);
  if (!bytes) return invalid_parameter("ZipFile is not valid base64.");
  if (bytes->empty())
    return invalid_parameter(
        "Could not unzip uploaded file. Please check your file, then try to upload again.");
  zip = std::move(*bytes);
  return std::nullopt;
}

// ---- operations --------------------------------------------------------------------------

// lambdad's own tag choosing a function's network (invoke::kNetworkTag; this library does not
// link the invoker): "host" or "isolated". Other values are InvalidParameterValueException.
constexpr std::string_view kNetworkTag = "lambdad:network";

std::optional<HttpResponse> check_network_tag(const std::map<std::string, std::string>& tags) {
  const auto it = tags.find(std::string(kNetworkTag));
  if (it == tags.end() || it->second == "host" || it->second == "isolated") return std::nullopt;
  return invalid_parameter("Tag " + std::string(kNetworkTag) +
                           " must be 'host' or 'isolated', not '" + it->second + "'.");
}

HttpResponse create_function(const Context& ctx, const HttpRequest& request) {
  json::object body;
  if (auto bad = parse_body(request.body, body)) return *bad;
  std::string type_error;
  Members m(body, type_error);
  const std::optional<std::string> function_name = m.string("FunctionName");
  ConfigInput in;
  read_config(m, type_error, in);
  const std::optional<std::string> package_type = m.string("PackageType");
  const std::optional<std::map<std::string, std::string>> tags = m.string_map("Tags");
  const bool publish = m.boolean("Publish").value_or(false);
  std::optional<std::string> zip_b64;
  std::vector<std::string> code_unsupported;
  const json::object* code = m.object("Code");
  if (code != nullptr) {
    Members c(*code, type_error, "Code.");
    zip_b64 = c.string("ZipFile");
    for (const char* key : {"S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri"})
      if (c.string(key)) code_unsupported.push_back(std::string("Code.") + key);
  }
  if (m.failed()) return invalid_content(type_error);

  ValidationErrors errors;
  std::optional<FunctionRef> ref;
  if (function_name) {
    ref = parse_function_name(*function_name, NameShape::kFunctionName, errors);
  } else {
    errors.add_missing("functionName");
  }
  validate_config(in, /*role_required=*/true, errors);
  if (code == nullptr) errors.add_missing("code");
  if (package_type && *package_type != "Zip" && *package_type != "Image")
    errors.add("packageType", *package_type, enum_constraint({"Zip", "Image"}));
  if (auto bad = check_config_semantics(in, errors)) return *bad;
  if (tags)
    if (auto bad = check_network_tag(*tags)) return *bad;

  if (package_type == "Image")
    return invalid_parameter("PackageType Image is not supported by lambdad; use Zip.");
  if (!code_unsupported.empty())
    return invalid_parameter(code_unsupported.front() +
                             " is not supported by lambdad; upload the code as Code.ZipFile");
  if (!in.runtime || !in.handler)
    return invalid_parameter(
        "Runtime and Handler are mandatory parameters for functions created with deployment "
        "packages.");
  Resolved target = resolve(ctx, *function_name, NameShape::kFunctionName, std::nullopt);
  if (target.error) return *target.error;
  if (!zip_b64) return invalid_parameter("Please provide a source for function code.");
  std::string zip;
  if (auto bad = decode_zip(*zip_b64, zip)) return *bad;

  // Fail fast on an existing name before storing any code (the registry re-checks).
  if (ctx.registry.get(target.name))
    return lambda_error(409, "ResourceConflictException", "Function already exist: " + target.name);

  Result<packages::PackageInfo> package = ctx.packages.put(zip);
  if (!package) return error_response(package.error());

  FunctionRecord fn;
  fn.name = target.name;
  apply_config(in, fn);
  fn.code_sha256 = package->code_sha256;
  fn.code_size = package->zip_size;
  fn.package_id = package->id;
  fn.last_modified = lambda_timestamp_now();
  fn.revision_id = uuid4();
  fn.generation = 1;
  if (tags) fn.tags = *tags;

  const Result<void> created = ctx.registry.create(fn);
  if (!created) {
    if (created.error().code == Code::kConflict)
      return lambda_error(409, "ResourceConflictException", "Function already exist: " + fn.name);
    return error_response(created.error());
  }
  notify_upserted(ctx, fn);
  if (publish) return publish_after_write(versions_context(ctx), fn, 201);
  return json_response(201, render_configuration(ctx, fn, false));
}

HttpResponse get_function(const Context& ctx, const std::string& label, const Query& query,
                          bool configuration_only) {
  Resolved target =
      resolve(ctx, label, NameShape::kNamespaced, query_value(query, "Qualifier"), false, true);
  if (target.error) return *target.error;
  if (!target.qualifier.empty())
    return get_qualified(versions_context(ctx), target.name, target.qualifier, configuration_only);
  Result<FunctionRecord> fn = load(ctx, target.name);
  if (!fn) return load_error(ctx, target.name, fn.error());
  if (configuration_only) return json_response(200, render_configuration(ctx, *fn, false));
  json::object out;
  out["Configuration"] = render_configuration(ctx, *fn, false);
  out["Code"] = json::object{{"RepositoryType", "S3"},
                             {"Location", code_location(ctx.options, fn->package_id)}};
  if (!fn->tags.empty()) out["Tags"] = render_tags(fn->tags);
  add_concurrency(versions_context(ctx), target.name, out);
  return json_response(200, out);
}

HttpResponse list_functions(const Context& ctx, const Query& query) {
  ValidationErrors errors;
  int max_items = kListPageMax;
  if (const auto raw = query_value(query, "MaxItems")) {
    char* end = nullptr;
    const long long n = std::strtoll(raw->c_str(), &end, 10);
    if (raw->empty() || *end != '\0')
      return invalid_parameter("MaxItems must be an integer: " + *raw);
    check_range(errors, "maxItems", n, 1, 10000);
    if (n < max_items) max_items = static_cast<int>(n);
  }
  if (const auto version = query_value(query, "FunctionVersion"); version && *version != "ALL")
    errors.add("functionVersion", *version, enum_constraint({"ALL"}));
  if (!errors.empty()) return validation_error(errors);

  Result<registry::ListPage> page =
      ctx.registry.list(query_value(query, "Marker").value_or(""), max_items);
  if (!page) return error_response(page.error());
  json::array functions;
  for (const FunctionRecord& fn : page->functions)
    functions.push_back(render_configuration(ctx, fn, true));
  json::object out;
  out["Functions"] = std::move(functions);
  if (page->next_marker && !page->next_marker->empty()) out["NextMarker"] = *page->next_marker;
  return json_response(200, out);
}

HttpResponse update_function_configuration(const Context& ctx, const HttpRequest& request,
                                           const std::string& label) {
  json::object body;
  if (auto bad = parse_body(request.body, body)) return *bad;
  std::string type_error;
  Members m(body, type_error);
  ConfigInput in;
  read_config(m, type_error, in);
  const std::optional<std::string> revision = m.string("RevisionId");
  if (m.failed()) return invalid_content(type_error);

  ValidationErrors errors;
  Resolved target = resolve(ctx, label, NameShape::kFunctionName, std::nullopt);
  if (target.error) return *target.error;
  validate_config(in, /*role_required=*/false, errors);
  if (auto bad = check_config_semantics(in, errors)) return *bad;

  FunctionRecord updated;
  auto mutate = [&in](FunctionRecord& fn) { apply_config(in, fn); };
  if (auto bad = update_function(ctx, target.name, revision, mutate, true, updated)) return *bad;
  return json_response(200, render_configuration(ctx, updated, false));
}

HttpResponse update_function_code(const Context& ctx, const HttpRequest& request,
                                  const std::string& label) {
  json::object body;
  if (auto bad = parse_body(request.body, body)) return *bad;
  std::string type_error;
  Members m(body, type_error);
  const std::optional<std::string> zip_b64 = m.string("ZipFile");
  const std::optional<std::string> revision = m.string("RevisionId");
  const bool dry_run = m.boolean("DryRun").value_or(false);
  const bool publish = m.boolean("Publish").value_or(false);
  ConfigInput arch;
  arch.architectures = m.string_list("Architectures");
  std::vector<std::string> unsupported;
  for (const char* key : {"S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri"})
    if (m.string(key)) unsupported.emplace_back(key);
  if (m.failed()) return invalid_content(type_error);

  Resolved target = resolve(ctx, label, NameShape::kFunctionName, std::nullopt);
  if (target.error) return *target.error;
  ValidationErrors errors;
  validate_config(arch, /*role_required=*/false, errors);
  if (!errors.empty()) return validation_error(errors);
  if (!unsupported.empty())
    return invalid_parameter(unsupported.front() +
                             " is not supported by lambdad; upload the code as ZipFile");
  if (!zip_b64) return invalid_parameter("Please provide a source for function code.");
  std::string zip;
  if (auto bad = decode_zip(*zip_b64, zip)) return *bad;

  // Check existence and the precondition before storing code.
  Result<FunctionRecord> current = load(ctx, target.name);
  if (!current) return load_error(ctx, target.name, current.error());
  if (revision && *revision != current->revision_id) return precondition_failed();

  if (dry_run) {
    // Validates only: report what the function would look like, change nothing.
    FunctionRecord preview = std::move(current).value();
    apply_config(arch, preview);
    preview.code_sha256 = sha256_base64(zip);
    preview.code_size = static_cast<int64_t>(zip.size());
    return json_response(200, render_configuration(ctx, preview, false));
  }

  Result<packages::PackageInfo> package = ctx.packages.put(zip);
  if (!package) return error_response(package.error());
  const packages::PackageInfo info = std::move(package).value();
  FunctionRecord updated;
  auto mutate = [&arch, &info](FunctionRecord& fn) {
    apply_config(arch, fn);
    fn.code_sha256 = info.code_sha256;
    fn.code_size = info.zip_size;
    fn.package_id = info.id;
  };
  if (auto bad = update_function(ctx, target.name, revision, mutate, true, updated)) return *bad;
  if (publish) return publish_after_write(versions_context(ctx), updated, 200);
  return json_response(200, render_configuration(ctx, updated, false));
}

HttpResponse delete_function(const Context& ctx, const std::string& label, const Query& query) {
  Resolved target =
      resolve(ctx, label, NameShape::kFunctionName, query_value(query, "Qualifier"), false, true);
  if (target.error) return *target.error;
  if (!target.qualifier.empty())
    return delete_qualified(versions_context(ctx), target.name, target.qualifier);
  // No version or alias qualifier: it is $LATEST (in the name or the query) or none.
  const auto q = query_value(query, "Qualifier");
  if ((q && !q->empty()) || label.ends_with(":$LATEST"))
    return invalid_parameter("$LATEST version cannot be deleted without deleting the function.");
  const Result<void> removed = ctx.registry.remove(target.name);
  if (!removed) return load_error(ctx, target.name, removed.error());
  if (ctx.effects.removed) ctx.effects.removed(target.name);
  return empty_response(204);
}

HttpResponse tag_resource(const Context& ctx, const HttpRequest& request,
                          const std::string& label) {
  json::object body;
  if (auto bad = parse_body(request.body, body)) return *bad;
  std::string type_error;
  Members m(body, type_error);
  const auto tags = m.string_map("Tags");
  if (m.failed()) return invalid_content(type_error);
  Resolved target = resolve(ctx, label, NameShape::kFunctionName, std::nullopt, true);
  if (target.error) return *target.error;
  if (!tags) {
    ValidationErrors errors;
    errors.add_missing("tags");
    return validation_error(errors);
  }
  if (auto bad = check_network_tag(*tags)) return *bad;
  FunctionRecord updated;
  auto mutate = [&tags](FunctionRecord& fn) {
    for (const auto& [k, v] : *tags) fn.tags[k] = v;
  };
  if (auto bad = update_function(ctx, target.name, std::nullopt, mutate, false, updated))
    return *bad;
  // Not a change of the function, but the invoker must learn the new network mode.
  if (tags->count(std::string(kNetworkTag))) notify_upserted(ctx, updated);
  return empty_response(204);
}

HttpResponse untag_resource(const Context& ctx, const std::string& label, const Query& query) {
  Resolved target = resolve(ctx, label, NameShape::kFunctionName, std::nullopt, true);
  if (target.error) return *target.error;
  std::vector<std::string> keys;
  for (const auto& [k, v] : query)
    if (k == "tagKeys") keys.push_back(v);
  if (keys.empty()) {
    ValidationErrors errors;
    errors.add_missing("tagKeys");
    return validation_error(errors);
  }
  FunctionRecord updated;
  auto mutate = [&keys](FunctionRecord& fn) {
    for (const std::string& k : keys) fn.tags.erase(k);
  };
  if (auto bad = update_function(ctx, target.name, std::nullopt, mutate, false, updated))
    return *bad;
  if (std::find(keys.begin(), keys.end(), kNetworkTag) != keys.end()) notify_upserted(ctx, updated);
  return empty_response(204);
}

HttpResponse list_tags(const Context& ctx, const std::string& label) {
  Resolved target = resolve(ctx, label, NameShape::kFunctionName, std::nullopt, true);
  if (target.error) return *target.error;
  Result<FunctionRecord> fn = load(ctx, target.name);
  if (!fn) return load_error(ctx, target.name, fn.error());
  return json_response(200, json::object{{"Tags", render_tags(fn->tags)}});
}

HttpResponse get_account_settings(const Context& ctx) {
  int64_t total_code = 0;
  int64_t count = 0;
  std::string marker;
  while (true) {
    Result<registry::ListPage> page = ctx.registry.list(marker, 1000);
    if (!page) return error_response(page.error());
    for (const FunctionRecord& fn : page->functions) {
      total_code += fn.code_size;
      ++count;
    }
    if (!page->next_marker || page->next_marker->empty() || page->functions.empty()) break;
    marker = *page->next_marker;
  }
  json::object limit;
  limit["TotalCodeSize"] = int64_t{80530636800};
  limit["CodeSizeUnzipped"] = int64_t{262144000};
  limit["CodeSizeZipped"] = int64_t{52428800};
  limit["ConcurrentExecutions"] = kAccountConcurrency;
  limit["UnreservedConcurrentExecutions"] =
      kAccountConcurrency - total_reserved_concurrency(versions_context(ctx));
  json::object usage;
  usage["TotalCodeSize"] = total_code;
  usage["FunctionCount"] = count;
  return json_response(
      200, json::object{{"AccountLimit", std::move(limit)}, {"AccountUsage", std::move(usage)}});
}

HttpResponse get_package(const Context& ctx, const std::string& file) {
  constexpr std::string_view kSuffix = ".zip";
  const std::string id =
      file.ends_with(kSuffix) ? file.substr(0, file.size() - kSuffix.size()) : std::string();
  const bool valid =
      id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!valid) return lambda_error(404, "ResourceNotFoundException", "Package not found: " + file);
  Result<std::string> zip = ctx.packages.read_zip(id);
  if (!zip) {
    if (zip.error().code == Code::kNotFound)
      return lambda_error(404, "ResourceNotFoundException", "Package not found: " + file);
    return error_response(zip.error());
  }
  HttpResponse response;
  response.headers.emplace_back("Content-Type", "application/zip");
  response.body = std::move(zip).value();
  return response;
}

// Unknown path: 404; known path with a method the model does not define for it: 405 with
// Allow. Both carry x-amzn-ErrorType UnknownOperationException, the code botocore surfaces
// for an operation the endpoint does not know, so SDK callers see one error name either way.
HttpResponse unknown_operation(const HttpRequest& request, const RouteResult& route) {
  const std::string message = "Unknown operation " + request.method + " " + request.path;
  if (route.allowed_methods.empty()) return lambda_error(404, "UnknownOperationException", message);
  HttpResponse response = lambda_error(405, "UnknownOperationException", message);
  std::string allow;
  for (const std::string& m : route.allowed_methods) allow += (allow.empty() ? "" : ", ") + m;
  response.headers.emplace_back("Allow", allow);
  return response;
}

HttpResponse dispatch(const Context& ctx, const HttpRequest& request) {
  const RouteResult route = match_route(request.method, request.path);
  if (!route.match) return unknown_operation(request, route);
  const Query query = parse_query(request.query);
  const std::string& label = route.match->label;
  switch (route.match->operation) {
    case Operation::kCreateFunction:
      return create_function(ctx, request);
    case Operation::kListFunctions:
      return list_functions(ctx, query);
    case Operation::kGetFunction:
      return get_function(ctx, label, query, false);
    case Operation::kGetFunctionConfiguration:
      return get_function(ctx, label, query, true);
    case Operation::kDeleteFunction:
      return delete_function(ctx, label, query);
    case Operation::kUpdateFunctionConfiguration:
      return update_function_configuration(ctx, request, label);
    case Operation::kUpdateFunctionCode:
      return update_function_code(ctx, request, label);
    case Operation::kTagResource:
      return tag_resource(ctx, request, label);
    case Operation::kUntagResource:
      return untag_resource(ctx, label, query);
    case Operation::kListTags:
      return list_tags(ctx, label);
    case Operation::kGetAccountSettings:
      return get_account_settings(ctx);
    case Operation::kGetPackage:
      return get_package(ctx, label);
    case Operation::kPublishVersion:
    case Operation::kListVersionsByFunction:
    case Operation::kCreateAlias:
    case Operation::kListAliases:
    case Operation::kGetAlias:
    case Operation::kUpdateAlias:
    case Operation::kDeleteAlias:
    case Operation::kPutFunctionConcurrency:
    case Operation::kGetFunctionConcurrency:
    case Operation::kDeleteFunctionConcurrency:
      return handle_versions(versions_context(ctx), *route.match, request, query);
    case Operation::kCreateFunctionUrlConfig:
    case Operation::kGetFunctionUrlConfig:
    case Operation::kUpdateFunctionUrlConfig:
    case Operation::kDeleteFunctionUrlConfig:
    case Operation::kListFunctionUrlConfigs:
    case Operation::kPutHttpRoutes:
    case Operation::kGetHttpRoutes:
    case Operation::kDeleteHttpRoutes:
    case Operation::kListHttpRoutes:
      return handle_function_urls(UrlsContext{ctx.registry, ctx.options, ctx.effects}, *route.match,
                                  request, query);
  }
  return unknown_operation(request, RouteResult{});
}

}  // namespace

std::string function_arn(const ControlOptions& options, const std::string& name) {
  return "arn:aws:lambda:" + options.region + ":" + options.account + ":function:" + name;
}

ControlApi::ControlApi(registry::Registry& registry, packages::PackageStore& packages,
                       ControlOptions options, ControlEffects effects)
    : registry_(registry),
      packages_(packages),
      options_(std::move(options)),
      effects_(std::move(effects)) {}

HttpResponse ControlApi::handle(const HttpRequest& request) {
  // The handler boundary: nothing below throws by design, but an allocation failure or a
  // Boost.JSON exception must still become Lambda's 500, not a dropped connection.
  try {
    const Context ctx{registry_, packages_, options_, effects_};
    return dispatch(ctx, request);
  } catch (const std::exception& e) {
    return lambda_error(500, "ServiceException", std::string("Internal error: ") + e.what());
  } catch (...) {
    return lambda_error(500, "ServiceException", "Internal error");
  }
}

}  // namespace lambdad::api
