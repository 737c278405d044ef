// Request validation the way Lambda words it: model-constraint violations collected into one
// ValidationException message ("N validation error(s) detected: ..."), function name / ARN
// parsing, and the semantic checks Lambda answers with InvalidParameterValueException
// (reserved environment keys, the 4 KB environment limit). Pure functions; any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lambdad::api {

// Collects model-constraint violations in request-member order.
class ValidationErrors {
 public:
  // "Value '<value>' at '<member>' failed to satisfy constraint: <constraint>".
  void add(std::string_view member, std::string_view value, std::string_view constraint);
  // "Value null at '<member>' failed to satisfy constraint: Member must not be null".
  void add_missing(std::string_view member);
  // Sensitive members (environment) are reported without their value, as Lambda does:
  // "Value at '<member>' failed to satisfy constraint: <constraint>".
  void add_sensitive(std::string_view member, std::string_view constraint);

  bool empty() const { return items_.empty(); }
  // "1 validation error detected: a" / "2 validation errors detected: a; b".
  std::string message() const;

 private:
  std::vector<std::string> items_;
};

// Constraint texts, exactly as AWS's model validation prints them.
std::string max_length_constraint(
    int64_t max);                               // "Member must have length less than or equal to N"
std::string min_value_constraint(int64_t min);  // "... value greater than or equal to N"
std::string max_value_constraint(int64_t max);  // "... value less than or equal to N"
std::string pattern_constraint(std::string_view pattern);
std::string enum_constraint(const std::vector<std::string_view>& values);

// Adds a violation when `value` is outside [min, max].
void check_range(ValidationErrors& errors, std::string_view member, int64_t value, int64_t min,
                 int64_t max);

// Which model shape a {FunctionName} follows: FunctionName (writes, max 140, no '.') or
// NamespacedFunctionName (reads, max 170, '.' allowed in the name).
enum class NameShape { kFunctionName, kNamespaced };

// The parts of a FunctionName label; empty strings for absent parts.
struct FunctionRef {
  std::string name;
  std::string qualifier;
  std::string region;
  std::string account;
};

// Parses a name, "name:qualifier", partial ARN "123456789012:function:name[:q]" or full ARN.
// On a constraint violation adds it to `errors` (member `member`) and returns nullopt.
std::optional<FunctionRef> parse_function_name(std::string_view text, NameShape shape,
                                               ValidationErrors& errors,
                                               std::string_view member = "functionName");

// Parses a full function ARN (TagResource & co.'s {ARN}, model shape FunctionArn).
std::optional<FunctionRef> parse_function_arn(std::string_view text, ValidationErrors& errors,
                                              std::string_view member = "resource");

// Runtime labels lambdad accepts: every identifier Lambda has used, current or deprecated
// (lambdad runs any bootstrap, so a deprecated label is still useful here).
bool is_known_runtime(std::string_view runtime);
const std::vector<std::string_view>& known_runtimes();

// Environment.Variables checks. Key pattern violations go to `errors`; the returned string is
// the InvalidParameterValueException message for reserved keys or the 4 KB limit, if any.
std::optional<std::string> check_environment(const std::map<std::string, std::string>& variables,
                                             ValidationErrors& errors);

// The reserved keys Lambda refuses in Environment.Variables (its documented list).
bool is_reserved_environment_key(std::string_view key);

}  // namespace lambdad::api
