#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "async/queue.h"

namespace lambdad::async {
namespace {

namespace json = boost::json;
constexpr const char* kArn = "arn:aws:lambda:us-east-1:000000000000:function:f";

Event sample() {
  Event e;
  e.request_id = "rid-1";
  e.function = "f";
  e.payload = R"({"ORDER_IDS":["a"]})";
  e.attempts = 3;
  return e;
}

TEST(DestinationRecordTest, FailureRecordHasLambdasShapeAndOrder) {
  const std::string text =
      destination_record(sample(), kArn, "RetriesExhausted", true, 200, "$LATEST", "Unhandled",
                         R"({"errorMessage":"boom"})", 1573755365568);
  EXPECT_EQ(text,
            R"({"version":"1.0","timestamp":"2019-11-14T18:16:05.568Z","requestContext":)"
            R"({"requestId":"rid-1","functionArn":"arn:aws:lambda:us-east-1:000000000000:)"
            R"(function:f:$LATEST","condition":"RetriesExhausted","approximateInvokeCount":3},)"
            R"("requestPayload":{"ORDER_IDS":["a"]},"responseContext":{"statusCode":200,)"
            R"("executedVersion":"$LATEST","functionError":"Unhandled"},)"
            R"("responsePayload":{"errorMessage":"boom"}})");
}

TEST(DestinationRecordTest, SuccessOmitsFunctionErrorAndEmbedsNonJsonAsString) {
  const json::value v = json::parse(
      destination_record(sample(), kArn, "Success", true, 200, "$LATEST", "", "not json", 0));
  EXPECT_FALSE(v.at("responseContext").as_object().contains("functionError"));
  EXPECT_EQ(v.at("responsePayload").as_string(), "not json");
  EXPECT_EQ(v.at("timestamp").as_string(), "1970-01-01T00:00:00.000Z");
}

TEST(DestinationRecordTest, AgeDropWithoutInvocationHasNoResponse) {
  Event e = sample();
  e.attempts = 0;
  e.payload = "";
  const json::value v =
      json::parse(destination_record(e, kArn, "EventAgeExceeded", false, 0, "", "", "", 0));
  EXPECT_FALSE(v.as_object().contains("responseContext"));
  EXPECT_FALSE(v.as_object().contains("responsePayload"));
  EXPECT_TRUE(v.at("requestPayload").is_null());
  EXPECT_EQ(v.at("requestContext").at("approximateInvokeCount").as_int64(), 0);
}

}  // namespace
}  // namespace lambdad::async
