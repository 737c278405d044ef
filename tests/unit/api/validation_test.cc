#include "api/validation.h"

#include <gtest/gtest.h>

namespace lambdad::api {
namespace {

TEST(ValidationTest, MessageCountsAndJoinsErrors) {
  ValidationErrors e;
  EXPECT_TRUE(e.empty());
  e.add("timeout", "901", max_value_constraint(900));
  EXPECT_EQ(e.message(),
            "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: "
            "Member must have value less than or equal to 900");
  e.add("memorySize", "100", min_value_constraint(128));
  e.add_missing("role");
  EXPECT_EQ(e.message(),
            "3 validation errors detected: Value '901' at 'timeout' failed to satisfy constraint: "
            "Member must have value less than or equal to 900; Value '100' at 'memorySize' failed "
            "to satisfy constraint: Member must have value greater than or equal to 128; Value "
            "null at 'role' failed to satisfy constraint: Member must not be null");
}

TEST(ValidationTest, CheckRangeReportsTheViolatedBound) {
  ValidationErrors e;
  check_range(e, "timeout", 1, 1, 900);
  check_range(e, "timeout", 900, 1, 900);
  EXPECT_TRUE(e.empty());
  check_range(e, "timeout", 0, 1, 900);
  EXPECT_EQ(e.message(),
            "1 validation error detected: Value '0' at 'timeout' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1");
}

struct NameCase {
  const char* text;
  const char* name;
  const char* qualifier;
  const char* region;
  const char* account;
};

TEST(ValidationTest, ParsesEveryFunctionNameForm) {
  const NameCase cases[] = {
      {"my-func_1", "my-func_1", "", "", ""},
      {"f:$LATEST", "f", "$LATEST", "", ""},
      {"f:7", "f", "7", "", ""},
      {"f:live", "f", "live", "", ""},
      {"123456789012:function:f", "f", "", "", "123456789012"},
      {"123456789012:function:f:PROD", "f", "PROD", "", "123456789012"},
      {"arn:aws:lambda:us-east-1:123456789012:function:f", "f", "", "us-east-1", "123456789012"},
      {"arn:aws:lambda:eu-west-2:123456789012:function:f:$LATEST", "f", "$LATEST", "eu-west-2",
       "123456789012"},
      {"arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f", "f", "", "us-gov-west-1",
       "123456789012"},
      // Optional groups are taken when they can be, as the model's regular expression does.
      {"function:f", "f", "", "", ""},
      {"function", "function", "", "", ""},
      {"us-east-1:f", "f", "", "us-east-1", ""},
      {"123456789012:f:2", "f", "2", "", "123456789012"},
      {"arn:aws:lambda:f", "f", "", "", ""},
  };
  for (const NameCase& c : cases) {
    SCOPED_TRACE(c.text);
    ValidationErrors e;
    const auto ref = parse_function_name(c.text, NameShape::kFunctionName, e);
    ASSERT_TRUE(ref) << e.message();
    EXPECT_EQ(ref->name, c.name);
    EXPECT_EQ(ref->qualifier, c.qualifier);
    EXPECT_EQ(ref->region, c.region);
    EXPECT_EQ(ref->account, c.account);
  }
}

TEST(ValidationTest, RejectsInvalidNamesWithTheModelPattern) {
  for (const char* bad : {"", "bad name", "a/b", "f:1:2", "f.js", "f:", "ü", "arn:lambda:f",
                          "arn:aws:lambda:us-east-1:123:function:f"}) {
    SCOPED_TRACE(bad);
    ValidationErrors e;
    EXPECT_FALSE(parse_function_name(bad, NameShape::kFunctionName, e));
    EXPECT_EQ(
        e.message(),
        "1 validation error detected: Value '" + std::string(bad) +
            "' at 'functionName' failed to satisfy constraint: Member must satisfy regular "
            "expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?"
            "(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?");
  }
}

TEST(ValidationTest, NamespacedShapeAllowsDotsInName) {
  ValidationErrors e;
  const auto ref = parse_function_name("f.v2", NameShape::kNamespaced, e);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->name, "f.v2");
}

TEST(ValidationTest, RejectsOverlongNames) {
  ValidationErrors e;
  EXPECT_FALSE(parse_function_name(std::string(141, 'a'), NameShape::kFunctionName, e));
  EXPECT_NE(e.message().find("Member must have length less than or equal to 140"),
            std::string::npos);
  ValidationErrors e2;
  EXPECT_FALSE(parse_function_name(std::string(65, 'a'), NameShape::kFunctionName, e2));
  EXPECT_NE(e2.message().find("Member must have length less than or equal to 64"),
            std::string::npos);
  ValidationErrors e3;
  EXPECT_TRUE(parse_function_name(std::string(64, 'a'), NameShape::kFunctionName, e3));
}

TEST(ValidationTest, FunctionArnRequiresTheFullArn) {
  ValidationErrors e;
  const auto ref =
      parse_function_arn("arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST", e);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->name, "f");
  EXPECT_EQ(ref->qualifier, "$LATEST");
  EXPECT_EQ(ref->account, "000000000000");
  EXPECT_FALSE(parse_function_arn("f", e));
  EXPECT_NE(e.message().find("at 'resource' failed to satisfy constraint: Member must satisfy "
                             "regular expression pattern: arn:(aws[a-zA-Z-]*)?:lambda:"),
            std::string::npos);
}

TEST(ValidationTest, KnowsRuntimeLabels) {
  for (const char* r : {"provided", "provided.al2", "provided.al2023", "nodejs20.x", "nodejs22.x",
                        "python3.12", "python3.13", "java21", "dotnet8", "ruby3.3"})
    EXPECT_TRUE(is_known_runtime(r)) << r;
  for (const char* r : {"", "python4", "node", "provided.al2099", "PROVIDED"})
    EXPECT_FALSE(is_known_runtime(r)) << r;
}

TEST(ValidationTest, ReservedEnvironmentKeysAreRejectedWithLambdasMessage) {
  ValidationErrors e;
  const auto problem =
      check_environment({{"AWS_REGION", "x"}, {"FOO", "1"}, {"LAMBDA_TASK_ROOT", "h"}}, e);
  EXPECT_TRUE(e.empty());
  ASSERT_TRUE(problem);
  EXPECT_EQ(*problem,
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            "for modification. Reserved keys used in this request: AWS_REGION, LAMBDA_TASK_ROOT");
}

TEST(ValidationTest, UnderscoreKeysFailThePatternBeforeTheReservedCheck) {
  // _HANDLER is reserved, but the model pattern rejects any leading '_' first.
  ValidationErrors e;
  check_environment({{"_HANDLER", "h"}}, e);
  EXPECT_FALSE(e.empty());
}

TEST(ValidationTest, ReservedKeyListMatchesTheDocs) {
  for (const char* k :
       {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_EXECUTION_ENV", "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "_X_AMZN_TRACE_ID", "_HANDLER"})
    EXPECT_TRUE(is_reserved_environment_key(k)) << k;
  for (const char* k : {"AWS_LAMBDA_EXEC_WRAPPER", "PATH", "LD_LIBRARY_PATH", "TZ", "MY_VAR",
                        "AWS_XRAY_CONTEXT_MISSING"})
    EXPECT_FALSE(is_reserved_environment_key(k)) << k;
}

TEST(ValidationTest, EnvironmentOverFourKilobytesIsRejected) {
  ValidationErrors e;
  // {"K":"<v>"} is 8 bytes of framing plus the value.
  EXPECT_FALSE(check_environment({{"K1", std::string(4096 - 9, 'v')}}, e));
  const auto problem = check_environment({{"K1", std::string(4096 - 8, 'v')}}, e);
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->rfind("Lambda was unable to configure your environment variables because "
                           "the environment variables you have provided exceeded the 4KB limit. "
                           "String measured: {\"K1\":\"vvv",
                           0),
            0u);
}

TEST(ValidationTest, EnvironmentKeyPatternIsAValidationErrorWithoutTheValue) {
  ValidationErrors e;
  EXPECT_FALSE(check_environment({{"BAD-KEY", "secret"}}, e));
  EXPECT_EQ(e.message(),
            "1 validation error detected: Value at 'environment.variables' failed to satisfy "
            "constraint: Map keys must satisfy constraint: [Member must satisfy regular "
            "expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]");
  ValidationErrors e2;
  EXPECT_FALSE(check_environment({{"A", "x"}}, e2));  // a single character is too short
  EXPECT_FALSE(e2.empty());
}

}  // namespace
}  // namespace lambdad::api
