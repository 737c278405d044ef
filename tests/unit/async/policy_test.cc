#include "async/policy.h"

#include <gtest/gtest.h>

namespace lambdad::async {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(AsyncPolicyTest, ClassifiesInvokeOutcomes) {
  struct Case {
    int status;
    const char* function_error;
    Outcome want;
  } cases[] = {
      {200, "", Outcome::kSuccess},  {200, "Unhandled", Outcome::kFunctionError},
      {429, "", Outcome::kThrottle}, {500, "", Outcome::kThrottle},
      {502, "", Outcome::kThrottle}, {404, "", Outcome::kGone},
      {400, "", Outcome::kGone},
  };
  for (const auto& c : cases)
    EXPECT_EQ(classify(c.status, c.function_error), c.want) << c.status << c.function_error;
}

TEST(AsyncPolicyTest, RetriesWaitOneThenTwoMinutesByDefault) {
  EXPECT_EQ(retry_delay(minutes(1), 1), minutes(1));
  EXPECT_EQ(retry_delay(minutes(1), 2), minutes(2));
  EXPECT_EQ(retry_delay(milliseconds(200), 1), milliseconds(200));
  EXPECT_EQ(retry_delay(milliseconds(200), 2), milliseconds(400));
  EXPECT_EQ(retry_delay(milliseconds(200), 0), milliseconds(200));
}

TEST(AsyncPolicyTest, ThrottlesBackOffFromOneSecondToFiveMinutes) {
  EXPECT_EQ(throttle_delay(minutes(1), 1), seconds(1));
  EXPECT_EQ(throttle_delay(minutes(1), 2), seconds(2));
  EXPECT_EQ(throttle_delay(minutes(1), 9), seconds(256));
  EXPECT_EQ(throttle_delay(minutes(1), 10), minutes(5));
  EXPECT_EQ(throttle_delay(minutes(1), 1000), minutes(5));
  // A short retry base (tests) also shortens the first throttle delay.
  EXPECT_EQ(throttle_delay(milliseconds(200), 1), milliseconds(200));
}

TEST(AsyncPolicyTest, EventExpiresOnlyAfterItsMaximumAge) {
  EXPECT_FALSE(expired(0, 60'000, 60));
  EXPECT_TRUE(expired(0, 60'001, 60));
  EXPECT_FALSE(expired(1'000, 21'601'000, 21600));
  EXPECT_TRUE(expired(1'000, 21'601'001, 21600));
  EXPECT_TRUE(expired(0, 61, 60, 1));  // a 1 ms age unit (test hook)
}

TEST(AsyncPolicyTest, RetriesExhaustedAfterMaximumRetryAttemptsPlusOne) {
  EXPECT_FALSE(retries_exhausted(1, 2));
  EXPECT_FALSE(retries_exhausted(2, 2));
  EXPECT_TRUE(retries_exhausted(3, 2));
  EXPECT_TRUE(retries_exhausted(1, 0));
  EXPECT_FALSE(retries_exhausted(1, 1));
  EXPECT_TRUE(retries_exhausted(2, 1));
}

}  // namespace
}  // namespace lambdad::async
