// SDK invoke loop against an in-process fake Runtime API on 127.0.0.1:0.
#include "lambdad/runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "fake_runtime_api.h"
#include "runtime_internal.h"

namespace {

using lambdad::InvocationRequest;
using lambdad::InvocationResponse;
using lambdad::sdk_detail::run_with_options;
using lambdad::sdk_detail::RunOptions;
using lambdad::sdk_test::FakeRuntimeApi;

RunOptions options_for(const FakeRuntimeApi& api, std::size_t n) {
  RunOptions o;
  o.runtime_api = api.address();
  o.max_invocations = n;
  return o;
}

namespace sdktest {
struct BadThing : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace sdktest

TEST(RuntimeLoopTest, PostsEachSuccessPayloadToItsRequestResponse) {
  FakeRuntimeApi api;
  api.add_next("id-1", R"({"n":1})");
  api.add_next("id-2", R"({"n":2})");
  int rc = run_with_options(
      [](const InvocationRequest& req) {
        return InvocationResponse::success("echo:" + req.payload, "text/plain");
      },
      options_for(api, 2));
  EXPECT_EQ(rc, 0);
  auto posts = api.posts();
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].method, "POST");
  EXPECT_EQ(posts[0].path, "/2018-06-01/runtime/invocation/id-1/response");
  EXPECT_EQ(posts[0].body, R"(echo:{"n":1})");
  EXPECT_EQ(posts[0].headers["content-type"], "text/plain");
  EXPECT_EQ(posts[1].path, "/2018-06-01/runtime/invocation/id-2/response");
  EXPECT_EQ(posts[1].body, R"(echo:{"n":2})");
  EXPECT_EQ(api.connections(), 1) << "keep-alive: one connection for all requests";
}

TEST(RuntimeLoopTest, PassesAllInvocationHeadersToTheHandler) {
  FakeRuntimeApi api;
  api.add_next("8476a536-e9f4-11e8-9739-2dfe598c3fcd", "{}",
               "lambda-runtime-deadline-ms: 1542409706888\r\n"
               "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:"
               "function:f:live\r\n"
               "Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1\r\n"
               "Lambda-Runtime-Client-Context: {\"custom\":{\"k\":\"v\"}}\r\n"
               "Lambda-Runtime-Cognito-Identity: {\"cognitoIdentityId\":\"x\"}\r\n");
  InvocationRequest seen;
  std::string trace_env;
  int rc = run_with_options(
      [&](const InvocationRequest& req) {
        seen = req;
        const char* t = std::getenv("_X_AMZN_TRACE_ID");
        trace_env = t != nullptr ? t : "";
        return InvocationResponse::success("ok");
      },
      options_for(api, 1));
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(seen.request_id, "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
  EXPECT_EQ(seen.deadline, std::chrono::milliseconds(1542409706888));
  EXPECT_EQ(seen.invoked_function_arn, "arn:aws:lambda:us-east-1:123456789012:function:f:live");
  EXPECT_EQ(seen.xray_trace_id, "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1");
  EXPECT_EQ(trace_env, seen.xray_trace_id);
  EXPECT_EQ(seen.client_context, R"({"custom":{"k":"v"}})");
  EXPECT_EQ(seen.cognito_identity, R"({"cognitoIdentityId":"x"})");
  EXPECT_EQ(seen.payload, "{}");
}

TEST(RuntimeLoopTest, TimeRemainingIsDeadlineMinusNow) {
  InvocationRequest past;
  past.deadline = std::chrono::milliseconds(1000);  // 1970
  EXPECT_LT(past.get_time_remaining().count(), 0);
  InvocationRequest future;
  future.deadline = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch()) +
                    std::chrono::hours(24);
  EXPECT_GT(future.get_time_remaining(), std::chrono::hours(23));
}

TEST(RuntimeLoopTest, FailurePostsErrorJsonWithTypeHeader) {
  FakeRuntimeApi api;
  api.add_next("id-e", "{}");
  int rc = run_with_options(
      [](const InvocationRequest&) {
        return InvocationResponse::failure("bad \"input\"\n", "Function.BadInput");
      },
      options_for(api, 1));
  EXPECT_EQ(rc, 0);
  auto posts = api.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].path, "/2018-06-01/runtime/invocation/id-e/error");
  EXPECT_EQ(posts[0].headers["lambda-runtime-function-error-type"], "Function.BadInput");
  EXPECT_EQ(posts[0].headers["content-type"], "application/json");
  EXPECT_EQ(
      posts[0].body,
      R"({"errorMessage":"bad \"input\"\n","errorType":"Function.BadInput","stackTrace":[]})");
}

TEST(RuntimeLoopTest, ThrownExceptionsBecomeErrorsWithTheirDemangledType) {
  FakeRuntimeApi api;
  api.add_next("id-1", "1");
  api.add_next("id-2", "2");
  api.add_next("id-3", "3");
  api.add_next("id-4", "4");
  int rc = run_with_options(
      [](const InvocationRequest& req) -> InvocationResponse {
        if (req.payload == "1") throw std::runtime_error("boom");
        if (req.payload == "2") throw sdktest::BadThing("custom");
        if (req.payload == "3") throw 42;
        return InvocationResponse::success("survived");
      },
      options_for(api, 4));
  EXPECT_EQ(rc, 0);
  auto posts = api.posts();
  ASSERT_EQ(posts.size(), 4u);
  EXPECT_EQ(posts[0].path, "/2018-06-01/runtime/invocation/id-1/error");
  EXPECT_EQ(posts[0].body,
            R"({"errorMessage":"boom","errorType":"std::runtime_error","stackTrace":[]})");
  EXPECT_EQ(posts[0].headers["lambda-runtime-function-error-type"], "std::runtime_error");
  EXPECT_EQ(posts[1].headers["lambda-runtime-function-error-type"],
            "(anonymous namespace)::sdktest::BadThing");
  EXPECT_EQ(posts[2].path, "/2018-06-01/runtime/invocation/id-3/error");
  EXPECT_EQ(posts[2].headers["lambda-runtime-function-error-type"], "int");
  EXPECT_EQ(posts[3].path, "/2018-06-01/runtime/invocation/id-4/response");
  EXPECT_EQ(posts[3].body, "survived");
}

TEST(RuntimeLoopTest, DecodesChunkedNextWithExtensionsAndTrailers) {
  FakeRuntimeApi api;
  api.add_next_raw(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
      "Lambda-Runtime-Aws-Request-Id: id-c\r\nLambda-Runtime-Deadline-Ms: 42\r\n\r\n"
      "5\r\n{\"a\":\r\n"
      "a;ext=1\r\n\"01234567\"\r\n"
      "1\r\n}\r\n"
      "0\r\nSome-Trailer: x\r\n\r\n");
  api.add_next("id-after", "next");  // proves the connection framing stayed in sync
  std::vector<std::string> payloads;
  int rc = run_with_options(
      [&](const InvocationRequest& req) {
        payloads.push_back(req.payload);
        return InvocationResponse::success(req.payload);
      },
      options_for(api, 2));
  EXPECT_EQ(rc, 0);
  ASSERT_EQ(payloads.size(), 2u);
  EXPECT_EQ(payloads[0], R"({"a":"01234567"})");
  EXPECT_EQ(payloads[1], "next");
  EXPECT_EQ(api.connections(), 1);
}

TEST(RuntimeLoopTest, CarriesMegabytePayloadsBothWays) {
  FakeRuntimeApi api;
  std::string big(3 * 1024 * 1024 + 17, 'x');
  api.add_next("id-big", big);
  int rc = run_with_options(
      [](const InvocationRequest& req) { return InvocationResponse::success(req.payload + "!"); },
      options_for(api, 1));
  EXPECT_EQ(rc, 0);
  auto posts = api.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].body.size(), big.size() + 1);
  EXPECT_EQ(posts[0].body, big + "!");
}

TEST(RuntimeLoopTest, ReconnectsWhenTheServerClosesTheKeepAliveConnection) {
  FakeRuntimeApi api;
  api.set_close_after_each(true);
  api.add_next("id-1", "a");
  api.add_next("id-2", "b");
  int rc = run_with_options(
      [](const InvocationRequest& req) { return InvocationResponse::success(req.payload); },
      options_for(api, 2));
  EXPECT_EQ(rc, 0);
  auto posts = api.posts();
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[1].body, "b");
  EXPECT_EQ(api.connections(), 4);
}

TEST(RuntimeLoopTest, RejectedResponseIsLoggedAndTheLoopGoesOn) {
  FakeRuntimeApi api;
  api.set_post_status(413);
  api.add_next("id-1", "a");
  api.add_next("id-2", "b");
  int rc = run_with_options(
      [](const InvocationRequest& req) { return InvocationResponse::success(req.payload); },
      options_for(api, 2));
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(api.posts().size(), 2u);
}

TEST(RuntimeLoopTest, ServerErrorOnResponseEndsTheLoopWithFailure) {
  FakeRuntimeApi api;
  api.set_post_status(500);
  api.add_next("id-1", "a");
  api.add_next("id-2", "b");
  int rc = run_with_options(
      [](const InvocationRequest& req) { return InvocationResponse::success(req.payload); },
      options_for(api, 2));
  EXPECT_NE(rc, 0);
  EXPECT_EQ(api.posts().size(), 1u);
}

TEST(RuntimeLoopTest, NextAnsweringServerErrorEndsTheLoopWithFailure) {
  FakeRuntimeApi api;  // no canned invocations: /next answers 500
  int calls = 0;
  int rc = run_with_options(
      [&](const InvocationRequest&) {
        ++calls;
        return InvocationResponse::success("");
      },
      options_for(api, 1));
  EXPECT_NE(rc, 0);
  EXPECT_EQ(calls, 0);
}

TEST(RuntimeLoopTest, NextWithoutRequestIdEndsTheLoopWithFailure) {
  FakeRuntimeApi api;
  api.add_next_raw("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
  int rc =
      run_with_options([](const InvocationRequest&) { return InvocationResponse::success(""); },
                       options_for(api, 1));
  EXPECT_NE(rc, 0);
  EXPECT_TRUE(api.posts().empty());
}

TEST(RuntimeLoopTest, RequestIdIsPercentEncodedInThePath) {
  FakeRuntimeApi api;
  api.add_next("a b/../c", "{}");
  int rc =
      run_with_options([](const InvocationRequest&) { return InvocationResponse::success("{}"); },
                       options_for(api, 1));
  EXPECT_EQ(rc, 0);
  auto posts = api.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].path, "/2018-06-01/runtime/invocation/a%20b%2F..%2Fc/response");
}

TEST(RuntimeLoopTest, EmptyHandlerReportsInitError) {
  FakeRuntimeApi api;
  int rc = run_with_options(lambdad::Handler{}, options_for(api, 1));
  EXPECT_NE(rc, 0);
  auto posts = api.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].path, "/2018-06-01/runtime/init/error");
  EXPECT_EQ(posts[0].headers["lambda-runtime-function-error-type"], "Runtime.InvalidEntrypoint");
}

TEST(RuntimeLoopTest, MissingRuntimeApiVariableFailsWithoutHandlerCall) {
  ::unsetenv("AWS_LAMBDA_RUNTIME_API");
  int calls = 0;
  int rc = lambdad::run([&](const InvocationRequest&) {
    ++calls;
    return InvocationResponse::success("");
  });
  EXPECT_NE(rc, 0);
  EXPECT_EQ(calls, 0);
}

TEST(RuntimeLoopTest, MalformedRuntimeApiVariableFails) {
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", ":9001", "[::1"}) {
    ::setenv("AWS_LAMBDA_RUNTIME_API", bad, 1);
    EXPECT_NE(
        lambdad::run([](const InvocationRequest&) { return InvocationResponse::success(""); }), 0)
        << bad;
  }
  ::unsetenv("AWS_LAMBDA_RUNTIME_API");
}

TEST(InitErrorTest, ReportInitErrorPostsToInitErrorFromTheEnvironment) {
  FakeRuntimeApi api;
  ::setenv("AWS_LAMBDA_RUNTIME_API", api.address().c_str(), 1);
  int rc = lambdad::report_init_error("config missing", "Runtime.ConfigError");
  ::unsetenv("AWS_LAMBDA_RUNTIME_API");
  EXPECT_NE(rc, 0);
  auto posts = api.posts();
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].path, "/2018-06-01/runtime/init/error");
  EXPECT_EQ(posts[0].headers["lambda-runtime-function-error-type"], "Runtime.ConfigError");
  EXPECT_EQ(
      posts[0].body,
      R"({"errorMessage":"config missing","errorType":"Runtime.ConfigError","stackTrace":[]})");
}

TEST(JsonEscapeTest, EscapesQuotesBackslashesAndControlCharacters) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"plain", "plain"},
      {"a\"b", "a\\\"b"},
      {"back\\slash", "back\\\\slash"},
      {"\n\r\t\b\f", "\\n\\r\\t\\b\\f"},
      {std::string("\x01\x1f", 2), "\\u0001\\u001f"},
      {std::string("nul\0x", 5), "nul\\u0000x"},
      {"caf\xc3\xa9 /", "caf\xc3\xa9 /"},
  };
  for (const auto& c : cases) EXPECT_EQ(lambdad::json_escape(c.in), c.out) << c.in;
}

}  // namespace
