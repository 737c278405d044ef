#include "api/validation.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <regex>

namespace lambdad::api {
namespace {

// The model's patterns, printed verbatim in messages.
constexpr std::string_view kFunctionNamePattern =
    R"((arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?)";
constexpr std::string_view kNamespacedPattern =
    R"((arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?)";
constexpr std::string_view kFunctionArnPattern =
    R"(arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}(-gov)?-[a-z]+-\d{1}:\d{12}:function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?)";

// The same patterns in a form std::regex (ECMAScript) parses unambiguously ('-' last in a class).
// Groups: 3 region+':', 5 account+':', 7 name, 9 qualifier.
const std::regex& function_name_regex(bool dots) {
  static const std::regex kPlain(
      R"(^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d:)?(\d{12}:)?(function:)?([a-zA-Z0-9_-]+)(:(\$LATEST|[a-zA-Z0-9_-]+))?$)");
  static const std::regex kDots(
      R"(^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d:)?(\d{12}:)?(function:)?([a-zA-Z0-9_.-]+)(:(\$LATEST|[a-zA-Z0-9_-]+))?$)");
  return dots ? kDots : kPlain;
}

// Groups: 2 region, 4 account, 5 name, 7 qualifier.
const std::regex& function_arn_regex() {
  static const std::regex kArn(
      R"(^arn:(aws[a-zA-Z-]*)?:lambda:([a-z]{2}(-gov)?-[a-z]+-\d):(\d{12}):function:([a-zA-Z0-9_-]+)(:(\$LATEST|[a-zA-Z0-9_-]+))?$)");
  return kArn;
}

std::string strip_colon(std::string s) {
  if (!s.empty() && s.back() == ':') s.pop_back();
  return s;
}

constexpr size_t kMaxFunctionNameLength = 64;  // the name part, whatever form it came in
constexpr size_t kMaxEnvironmentBytes = 4096;

// Documented reserved keys (Lambda developer guide, "Defined runtime environment variables").
// TZ is listed there but Lambda accepts it in practice; AWS_LAMBDA_EXEC_WRAPPER and the
// AWS_XRAY_* keys are explicitly user-settable.
constexpr std::array<std::string_view, 18> kReservedKeys = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
};

bool is_env_key(std::string_view key) {
  // [a-zA-Z]([a-zA-Z0-9_])+
  if (key.size() < 2) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(key[0])) return false;
  return std::all_of(key.begin() + 1, key.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9') || c == '_'; });
}

}  // namespace

void ValidationErrors::add(std::string_view member, std::string_view value,
                           std::string_view constraint) {
  items_.push_back("Value '" + std::string(value) + "' at '" + std::string(member) +
                   "' failed to satisfy constraint: " + std::string(constraint));
}

void ValidationErrors::add_missing(std::string_view member) {
  items_.push_back("Value null at '" + std::string(member) +
                   "' failed to satisfy constraint: Member must not be null");
}

void ValidationErrors::add_sensitive(std::string_view member, std::string_view constraint) {
  items_.push_back("Value at '" + std::string(member) +
                   "' failed to satisfy constraint: " + std::string(constraint));
}

std::string ValidationErrors::message() const {
  std::string out =
      std::to_string(items_.size()) +
      (items_.size() == 1 ? " validation error detected: " : " validation errors detected: ");
  for (size_t i = 0; i < items_.size(); ++i) {
    if (i > 0) out += "; ";
    out += items_[i];
  }
  return out;
}

std::string max_length_constraint(int64_t max) {
  return "Member must have length less than or equal to " + std::to_string(max);
}
std::string min_value_constraint(int64_t min) {
  return "Member must have value greater than or equal to " + std::to_string(min);
}
std::string max_value_constraint(int64_t max) {
  return "Member must have value less than or equal to " + std::to_string(max);
}
std::string pattern_constraint(std::string_view pattern) {
  return "Member must satisfy regular expression pattern: " + std::string(pattern);
}
std::string enum_constraint(const std::vector<std::string_view>& values) {
  std::string out = "Member must satisfy enum value set: [";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += values[i];
  }
  return out + "]";
}

void check_range(ValidationErrors& errors, std::string_view member, int64_t value, int64_t min,
                 int64_t max) {
  if (value < min) {
    errors.add(member, std::to_string(value), min_value_constraint(min));
  } else if (value > max) {
    errors.add(member, std::to_string(value), max_value_constraint(max));
  }
}

std::optional<FunctionRef> parse_function_name(std::string_view text, NameShape shape,
                                               ValidationErrors& errors, std::string_view member) {
  const bool namespaced = shape == NameShape::kNamespaced;
  const size_t max_len = namespaced ? 170 : 140;
  if (text.size() > max_len) {
    errors.add(member, text, max_length_constraint(static_cast<int64_t>(max_len)));
    return std::nullopt;
  }
  std::match_results<std::string_view::const_iterator> m;
  if (text.empty() ||
      !std::regex_match(text.begin(), text.end(), m, function_name_regex(namespaced))) {
    errors.add(member, text,
               pattern_constraint(namespaced ? kNamespacedPattern : kFunctionNamePattern));
    return std::nullopt;
  }
  FunctionRef ref{m[7].str(), m[9].str(), strip_colon(m[3].str()), strip_colon(m[5].str())};
  if (ref.name.size() > kMaxFunctionNameLength) {
    errors.add(member, ref.name, max_length_constraint(kMaxFunctionNameLength));
    return std::nullopt;
  }
  return ref;
}

std::optional<FunctionRef> parse_function_arn(std::string_view text, ValidationErrors& errors,
                                              std::string_view member) {
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(text.begin(), text.end(), m, function_arn_regex())) {
    errors.add(member, text, pattern_constraint(kFunctionArnPattern));
    return std::nullopt;
  }
  FunctionRef ref{m[5].str(), m[7].str(), m[2].str(), m[4].str()};
  if (ref.name.size() > kMaxFunctionNameLength) {
    errors.add(member, ref.name, max_length_constraint(kMaxFunctionNameLength));
    return std::nullopt;
  }
  return ref;
}

const std::vector<std::string_view>& known_runtimes() {
  static const std::vector<std::string_view> kRuntimes = {
      "nodejs24.x",    "nodejs22.x",     "nodejs20.x",    "nodejs18.x", "nodejs16.x",
      "nodejs14.x",    "nodejs12.x",     "nodejs10.x",    "nodejs8.10", "nodejs6.10",
      "nodejs4.3",     "nodejs4.3-edge", "nodejs",        "python3.14", "python3.13",
      "python3.12",    "python3.11",     "python3.10",    "python3.9",  "python3.8",
      "python3.7",     "python3.6",      "python2.7",     "java25",     "java21",
      "java17",        "java11",         "java8.al2",     "java8",      "dotnet10",
      "dotnet9",       "dotnet8",        "dotnet7",       "dotnet6",    "dotnetcore3.1",
      "dotnetcore2.1", "dotnetcore2.0",  "dotnetcore1.0", "ruby3.4",    "ruby3.3",
      "ruby3.2",       "ruby2.7",        "ruby2.5",       "go1.x",      "provided.al2023",
      "provided.al2",  "provided",
  };
  return kRuntimes;
}

bool is_known_runtime(std::string_view runtime) {
  const auto& all = known_runtimes();
  return std::find(all.begin(), all.end(), runtime) != all.end();
}

bool is_reserved_environment_key(std::string_view key) {
  return std::find(kReservedKeys.begin(), kReservedKeys.end(), key) != kReservedKeys.end();
}

std::optional<std::string> check_environment(const std::map<std::string, std::string>& variables,
                                             ValidationErrors& errors) {
  for (const auto& [key, value] : variables) {
    if (!is_env_key(key)) {
      errors.add_sensitive(
          "environment.variables",
          "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: "
          "[a-zA-Z]([a-zA-Z0-9_])+]");
      break;
    }
  }
  std::string reserved;
  for (const auto& [key, value] : variables) {
    if (!is_reserved_environment_key(key)) continue;
    if (!reserved.empty()) reserved += ", ";
    reserved += key;
  }
  if (!reserved.empty()) {
    return "Lambda was unable to configure your environment variables because the environment "
           "variables you have provided contains reserved keys that are currently not supported "
           "for modification. Reserved keys used in this request: " +
           reserved;
  }
  // Lambda measures the JSON serialisation of the Variables map.
  boost::json::object measured;
  for (const auto& [key, value] : variables) measured[key] = value;
  const std::string text = boost::json::serialize(measured);
  if (text.size() > kMaxEnvironmentBytes) {
    return "Lambda was unable to configure your environment variables because the environment "
           "variables you have provided exceeded the 4KB limit. String measured: " +
           text;
  }
  return std::nullopt;
}

}  // namespace lambdad::api
