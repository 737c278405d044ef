#include "api/validation.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>

namespace lambdad::api {
namespace {

// The model's patterns, printed verbatim in messages.
constexpr std::string_view kFunctionNamePattern =
    R"((arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?)";
constexpr std::string_view kNamespacedPattern =
    R"((arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?)";
constexpr std::string_view kFunctionArnPattern =
    R"(arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}(-gov)?-[a-z]+-\d{1}:\d{12}:function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?)";

// Hand-written matchers for those patterns (no std::regex: the name is parsed on every
// Invoke). Each returns the length of the prefix it matches, or 0.
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }
bool is_name_char(char c, bool dots) {
  return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || (dots && c == '.');
}

// "arn:" ("aws" [a-zA-Z-]*)? ":lambda:"
size_t match_arn_prefix(std::string_view s) {
  if (!s.starts_with("arn:")) return 0;
  size_t i = 4;
  if (s.substr(i).starts_with("aws")) {
    i += 3;
    while (i < s.size() && (is_alpha(s[i]) || s[i] == '-')) ++i;
  }
  return s.substr(i).starts_with(":lambda:") ? i + 8 : 0;
}

// [a-z]{2} ("-gov")? "-" [a-z]+ "-" \d, without the ':' after it.
size_t match_region(std::string_view s) {
  if (s.size() < 2 || !is_lower(s[0]) || !is_lower(s[1])) return 0;
  auto rest = [&s](size_t i) -> size_t {
    if (i >= s.size() || s[i] != '-') return 0;
    size_t j = i + 1;
    while (j < s.size() && is_lower(s[j])) ++j;
    if (j == i + 1 || j + 1 >= s.size() || s[j] != '-' || !is_digit(s[j + 1])) return 0;
    return j + 2;
  };
  if (s.substr(2).starts_with("-gov"))
    if (size_t n = rest(6)) return n;
  return rest(2);
}

// The whole pattern, exploring the optional groups in the order a backtracking regex does
// (each group matched if it can be, then without it), so the parts come out as the model's
// regular expression would capture them.
bool match_function_name(std::string_view s, bool dots, FunctionRef& out) {
  for (int mask = 0; mask < 16; ++mask) {
    std::string_view rest = s;
    std::string_view region, account;
    if (!(mask & 8)) {
      const size_t n = match_arn_prefix(rest);
      if (n == 0) continue;
      rest.remove_prefix(n);
    }
    if (!(mask & 4)) {
      const size_t n = match_region(rest);
      if (n == 0 || n >= rest.size() || rest[n] != ':') continue;
      region = rest.substr(0, n);
      rest.remove_prefix(n + 1);
    }
    if (!(mask & 2)) {
      if (rest.size() < 13 || rest[12] != ':') continue;
      if (!std::all_of(rest.begin(), rest.begin() + 12, is_digit)) continue;
      account = rest.substr(0, 12);
      rest.remove_prefix(13);
    }
    if (!(mask & 1)) {
      if (!rest.starts_with("function:")) continue;
      rest.remove_prefix(9);
    }
    size_t n = 0;
    while (n < rest.size() && is_name_char(rest[n], dots)) ++n;
    if (n == 0) continue;
    std::string_view name = rest.substr(0, n), qualifier;
    rest.remove_prefix(n);
    if (!rest.empty()) {
      if (rest[0] != ':' || rest.size() == 1) continue;
      qualifier = rest.substr(1);
      if (qualifier != "$LATEST" && !std::all_of(qualifier.begin(), qualifier.end(),
                                                 [](char c) { return is_name_char(c, false); }))
        continue;
    }
    out = FunctionRef{std::string(name), std::string(qualifier), std::string(region),
                      std::string(account)};
    return true;
  }
  return false;
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
  FunctionRef ref;
  if (text.empty() || !match_function_name(text, namespaced, ref)) {
    errors.add(member, text,
               pattern_constraint(namespaced ? kNamespacedPattern : kFunctionNamePattern));
    return std::nullopt;
  }
  if (ref.name.size() > kMaxFunctionNameLength) {
    errors.add(member, ref.name, max_length_constraint(kMaxFunctionNameLength));
    return std::nullopt;
  }
  return ref;
}

std::optional<FunctionRef> parse_function_arn(std::string_view text, ValidationErrors& errors,
                                              std::string_view member) {
  // The full-ARN shape: every optional group of the name pattern present, no dots.
  FunctionRef ref;
  const size_t arn = match_arn_prefix(text);
  if (arn == 0 || !match_function_name(text, false, ref) || ref.region.empty() ||
      ref.account.empty() ||
      text.substr(arn + ref.region.size() + ref.account.size() + 2).substr(0, 9) != "function:") {
    errors.add(member, text, pattern_constraint(kFunctionArnPattern));
    return std::nullopt;
  }
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
