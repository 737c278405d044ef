#include "api/errors.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace lambdad::api {
namespace {

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<absent>";
}

TEST(ErrorsTest, LambdaErrorWritesStatusTypeHeaderAndBody) {
  const HttpResponse r =
      lambda_error(409, "ResourceConflictException", "Function already exist: f");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "ResourceConflictException");
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_EQ(r.body, R"({"Type":"User","message":"Function already exist: f"})");
}

TEST(ErrorsTest, MessageKeyCaseFollowsTheModel) {
  EXPECT_EQ(lambda_error(404, "ResourceNotFoundException", "x").body,
            R"({"Type":"User","Message":"x"})");
  EXPECT_EQ(lambda_error(500, "ServiceException", "x").body, R"({"Type":"Service","Message":"x"})");
  EXPECT_EQ(lambda_error(413, "RequestEntityTooLargeException", "x").body,
            R"({"Type":"User","Message":"x"})");
  EXPECT_EQ(lambda_error(502, "InvalidZipFileException", "x").body,
            R"({"Type":"Service","Message":"x"})");
  EXPECT_EQ(lambda_error(400, "InvalidParameterValueException", "x").body,
            R"({"Type":"User","message":"x"})");
  EXPECT_EQ(lambda_error(412, "PreconditionFailedException", "x").body,
            R"({"Type":"User","message":"x"})");
  EXPECT_EQ(lambda_error(502, "ResourceNotReadyException", "x").body,
            R"({"Type":"Service","message":"x"})");
}

TEST(ErrorsTest, ThrottleCarriesReasonAndRetryAfter) {
  const HttpResponse r =
      lambda_error(429, "TooManyRequestsException", "Rate Exceeded.", "CallerRateLimitExceeded");
  EXPECT_EQ(r.body,
            R"({"Reason":"CallerRateLimitExceeded","Type":"User","message":"Rate Exceeded."})");
  EXPECT_EQ(header(r, "Retry-After"), "1");
  EXPECT_EQ(header(lambda_error(400, "X", "y"), "Retry-After"), "<absent>");
}

TEST(ErrorsTest, MessageIsJsonEscaped) {
  const HttpResponse r = lambda_error(400, "InvalidParameterValueException", "a\"b\nc");
  const auto v = boost::json::parse(r.body);
  EXPECT_EQ(v.at("message").as_string(), "a\"b\nc");
}

TEST(ErrorsTest, ErrorResponseMapsEveryCode) {
  struct Case {
    Code code;
    int status;
    const char* type;
  };
  const Case cases[] = {
      {Code::kNotFound, 404, "ResourceNotFoundException"},
      {Code::kInvalidArgument, 400, "InvalidParameterValueException"},
      {Code::kConflict, 409, "ResourceConflictException"},
      {Code::kTooLarge, 413, "RequestEntityTooLargeException"},
      {Code::kTooManyRequests, 429, "TooManyRequestsException"},
      {Code::kInternal, 500, "ServiceException"},
      {Code::kTimeout, 500, "ServiceException"},
      {Code::kUnavailable, 500, "ServiceException"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.type);
    const HttpResponse r = error_response(Error::make(c.code, "ctx"));
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(header(r, "x-amzn-ErrorType"), c.type);
    const auto v = boost::json::parse(r.body).as_object();
    const auto* m = v.if_contains("message") ? v.if_contains("message") : v.if_contains("Message");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->as_string(), "ctx");
    EXPECT_EQ(v.at("Type").as_string(), c.status >= 500 ? "Service" : "User");
  }
}

}  // namespace
}  // namespace lambdad::api
