#include "api/routes.h"

#include <gtest/gtest.h>

namespace lambdad::api {
namespace {

struct RouteCase {
  const char* method;
  const char* path;
  Operation operation;
  const char* label;
};

TEST(RoutesTest, MatchesEveryOperationOfTheModel) {
  const RouteCase cases[] = {
      {"POST", "/2015-03-31/functions", Operation::kCreateFunction, ""},
      {"POST", "/2015-03-31/functions/", Operation::kCreateFunction, ""},
      {"GET", "/2015-03-31/functions/", Operation::kListFunctions, ""},
      {"GET", "/2015-03-31/functions", Operation::kListFunctions, ""},
      {"GET", "/2015-03-31/functions/f1", Operation::kGetFunction, "f1"},
      {"DELETE", "/2015-03-31/functions/f1", Operation::kDeleteFunction, "f1"},
      {"GET", "/2015-03-31/functions/f1/configuration", Operation::kGetFunctionConfiguration, "f1"},
      {"PUT", "/2015-03-31/functions/f1/configuration", Operation::kUpdateFunctionConfiguration,
       "f1"},
      {"PUT", "/2015-03-31/functions/f1/code", Operation::kUpdateFunctionCode, "f1"},
      {"POST", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af1",
       Operation::kTagResource, "arn:aws:lambda:us-east-1:000000000000:function:f1"},
      {"DELETE", "/2017-03-31/tags/x", Operation::kUntagResource, "x"},
      {"GET", "/2017-03-31/tags/x", Operation::kListTags, "x"},
      {"GET", "/2016-08-19/account-settings/", Operation::kGetAccountSettings, ""},
      {"GET", "/2016-08-19/account-settings", Operation::kGetAccountSettings, ""},
      {"GET", "/lambdad/packages/abc.zip", Operation::kGetPackage, "abc.zip"},
  };
  for (const RouteCase& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + c.path);
    const RouteResult r = match_route(c.method, c.path);
    ASSERT_TRUE(r.match.has_value());
    EXPECT_EQ(r.match->operation, c.operation);
    EXPECT_EQ(r.match->label, c.label);
  }
}

TEST(RoutesTest, DecodesPercentEncodedArnWithQualifierOnce) {
  const RouteResult r = match_route(
      "GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af%3A%24LATEST");
  ASSERT_TRUE(r.match);
  EXPECT_EQ(r.match->label, "arn:aws:lambda:us-east-1:1:function:f:$LATEST");
  // Decoded once only: %253A stays %3A.
  const RouteResult twice = match_route("GET", "/2015-03-31/functions/a%253Ab");
  ASSERT_TRUE(twice.match);
  EXPECT_EQ(twice.match->label, "a%3Ab");
}

TEST(RoutesTest, EncodedSlashStaysInsideTheLabel) {
  const RouteResult r = match_route("GET", "/2015-03-31/functions/a%2Fb/configuration");
  ASSERT_TRUE(r.match);
  EXPECT_EQ(r.match->operation, Operation::kGetFunctionConfiguration);
  EXPECT_EQ(r.match->label, "a/b");
}

TEST(RoutesTest, UnknownPathHasNoMatchAndNoAllowedMethods) {
  for (const char* path : {"/", "/2015-03-31", "/2015-03-31/functions/f/nope",
                           "/2099-01-01/functions", "/2015-03-31/functions/f/configuration/x"}) {
    SCOPED_TRACE(path);
    const RouteResult r = match_route("GET", path);
    EXPECT_FALSE(r.match);
    EXPECT_TRUE(r.allowed_methods.empty());
  }
}

TEST(RoutesTest, KnownPathWithWrongMethodListsAllowedMethods) {
  const RouteResult r = match_route("PATCH", "/2015-03-31/functions/f1");
  EXPECT_FALSE(r.match);
  EXPECT_EQ(r.allowed_methods, (std::vector<std::string>{"DELETE", "GET"}));
  const RouteResult code = match_route("GET", "/2015-03-31/functions/f1/code");
  EXPECT_EQ(code.allowed_methods, (std::vector<std::string>{"PUT"}));
}

TEST(RoutesTest, PercentDecodeKeepsPlusAndMalformedEscapes) {
  EXPECT_EQ(percent_decode("a+b%20c"), "a+b c");
  EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
  EXPECT_EQ(percent_decode("%41%62"), "Ab");
}

TEST(RoutesTest, ParseQueryKeepsRepeatedKeysInOrder) {
  const auto q = parse_query("tagKeys=a&tagKeys=b%20c&Marker=&flag&Qualifier=%24LATEST");
  ASSERT_EQ(q.size(), 5u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"tagKeys", "a"}));
  EXPECT_EQ(q[1], (std::pair<std::string, std::string>{"tagKeys", "b c"}));
  EXPECT_EQ(q[2], (std::pair<std::string, std::string>{"Marker", ""}));
  EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(query_value(q, "Qualifier"), "$LATEST");
  EXPECT_EQ(query_value(q, "tagKeys"), "a");
  EXPECT_FALSE(query_value(q, "MaxItems"));
  EXPECT_TRUE(parse_query("").empty());
}

TEST(RoutesTest, VersionAliasAndConcurrencyRoutes) {
  auto r = match_route("PUT", "/2015-03-31/functions/f%3A1/aliases/live");
  ASSERT_TRUE(r.match);
  EXPECT_EQ(r.match->operation, Operation::kUpdateAlias);
  EXPECT_EQ(r.match->label, "f:1");
  EXPECT_EQ(r.match->label2, "live");
  EXPECT_EQ(match_route("POST", "/2015-03-31/functions/f/versions").match->operation,
            Operation::kPublishVersion);
  EXPECT_EQ(match_route("GET", "/2019-09-30/functions/f/concurrency").match->operation,
            Operation::kGetFunctionConcurrency);
  EXPECT_EQ(match_route("PUT", "/2017-10-31/functions/f/concurrency").match->operation,
            Operation::kPutFunctionConcurrency);
  // Get lives under 2019-09-30 only.
  EXPECT_FALSE(match_route("GET", "/2017-10-31/functions/f/concurrency").match);
  EXPECT_EQ(match_route("PATCH", "/2015-03-31/functions/f/aliases/live").allowed_methods,
            (std::vector<std::string>{"DELETE", "GET", "PUT"}));
}

}  // namespace
}  // namespace lambdad::api
