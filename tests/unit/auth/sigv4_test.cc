// Canonical request and signature against AWS's published SigV4 examples and against
// signatures botocore 1.29 computed (python one-liners, pasted as constants).
#include "auth/sigv4.h"

#include <gtest/gtest.h>

#include "common/encoding.h"

namespace lambdad::auth {
namespace {

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

TEST(SigV4, SigningKeyMatchesAwsDocumentationExample) {
  // docs.aws.amazon.com "Examples of how to derive a signing key" (iam, 20120215).
  const SigningKey k = signing_key(kSecret, "20120215", "us-east-1", "iam");
  EXPECT_EQ(hex(std::string_view(reinterpret_cast<const char*>(k.data()), k.size())),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4, GetVanillaFromAwsTestSuite) {
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"host", "example.amazonaws.com"}, {"x-amz-date", "20150830T123600Z"}};
  SignedRequest r{"GET", "/", "", &headers, ""};
  const std::string cr = canonical_request(r, "host;x-amz-date");
  EXPECT_EQ(cr,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string sts =
      string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", cr);
  EXPECT_EQ(signature(signing_key(kSecret, "20150830", "us-east-1", "service"), sts),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, InvokeWithArnIsDoubleEncodedLikeBotocore) {
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"host", "localhost:9001"},
      {"x-amz-invocation-type", "RequestResponse"},
      {"x-amz-date", "20150830T123600Z"},
      {"user-agent", "not signed"}};
  SignedRequest r{"POST",
                  "/2015-03-31/functions/"
                  "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/invocations",
                  "", &headers, R"({"a": 1})"};
  const std::string signed_headers = "host;x-amz-date;x-amz-invocation-type";
  const std::string cr = canonical_request(r, signed_headers);
  EXPECT_EQ(cr,
            "POST\n/2015-03-31/functions/"
            "arn%253Aaws%253Alambda%253Aus-east-1%253A123456789012%253Afunction%253Af/"
            "invocations\n\nhost:localhost:9001\nx-amz-date:20150830T123600Z\n"
            "x-amz-invocation-type:RequestResponse\n\nhost;x-amz-date;x-amz-invocation-type\n"
            "f9d86028c6e0d64e225186f96acb69338b2c59764df79162107f5c4bb34d1310");
  const std::string sts =
      string_to_sign("20150830T123600Z", "20150830/us-east-1/lambda/aws4_request", cr);
  EXPECT_EQ(signature(signing_key(kSecret, "20150830", "us-east-1", "lambda"), sts),
            "d75370ecee6881781c7cdabdf97b20d6a9ba735a80c8e2058694ad4abaaa8825");
}

TEST(SigV4, ListWithQueryMatchesBotocore) {
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"host", "localhost:9001"}, {"x-amz-date", "20150830T123600Z"}};
  SignedRequest r{"GET", "/2015-03-31/functions/",
                  "MaxItems=10&Marker=a%20b%2Fc&FunctionVersion=ALL", &headers, ""};
  const std::string cr = canonical_request(r, "host;x-amz-date");
  EXPECT_EQ(cr,
            "GET\n/2015-03-31/functions/\nFunctionVersion=ALL&Marker=a%20b%2Fc&MaxItems=10\n"
            "host:localhost:9001\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string sts =
      string_to_sign("20150830T123600Z", "20150830/us-east-1/lambda/aws4_request", cr);
  EXPECT_EQ(signature(signing_key(kSecret, "20150830", "us-east-1", "lambda"), sts),
            "cea4c358f1c6173ad21b1a075a314f97004a69ebff196a16420cf153808585d7");
}

TEST(SigV4, CanonicalUriNormalizesDotsAndSlashes) {
  EXPECT_EQ(canonical_uri(""), "/");
  EXPECT_EQ(canonical_uri("/a/./b/../c//d/"), "/a/c/d/");
  EXPECT_EQ(canonical_uri("/.."), "/");
  EXPECT_EQ(canonical_uri("/a b/%41"), "/a%20b/%2541");
}

TEST(SigV4, CanonicalQuerySortsAndReencodes) {
  EXPECT_EQ(canonical_query(""), "");
  EXPECT_EQ(canonical_query("b=2&a=1&tagKeys=z&tagKeys=y"), "a=1&b=2&tagKeys=y&tagKeys=z");
  EXPECT_EQ(canonical_query("k&x=%7e%3a"), "k=&x=~%3A");
  EXPECT_EQ(canonical_query("q=a+b"), "q=a%2Bb");
}

TEST(SigV4, CanonicalHeadersTrimAndJoinRepeats) {
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"my-header", "  a   b  "}, {"x-b", "1"}, {"my-header", "c"}};
  EXPECT_EQ(canonical_headers(headers, "my-header;x-b"), "my-header:a b,c\nx-b:1\n");
}

TEST(SigV4, PayloadHashPrefersContentSha256Header) {
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"}};
  SignedRequest r{"PUT", "/", "", &headers, "body"};
  EXPECT_EQ(payload_hash(r), "UNSIGNED-PAYLOAD");
}

TEST(SigV4, ParsesAuthorizationHeader) {
  std::string why;
  auto a = parse_authorization(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/lambda/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=abc",
      &why);
  ASSERT_TRUE(a) << why;
  EXPECT_EQ(a->access_key, "AKIDEXAMPLE");
  EXPECT_EQ(a->date, "20150830");
  EXPECT_EQ(a->region, "us-east-1");
  EXPECT_EQ(a->service, "lambda");
  EXPECT_EQ(a->signed_headers, "host;x-amz-date");
  EXPECT_EQ(a->signature, "abc");
  EXPECT_FALSE(parse_authorization("Bearer x", &why));
  EXPECT_FALSE(parse_authorization("AWS4-HMAC-SHA256 Credential=A/1/r/s/aws4_request", &why));
  EXPECT_NE(why.find("'SignedHeaders'"), std::string::npos);
  EXPECT_FALSE(parse_authorization(
      "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/x, SignedHeaders=host, Signature=a", &why));
}

}  // namespace
}  // namespace lambdad::auth
