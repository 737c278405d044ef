// SigV4, SHA-256 and HMAC in lambdad::aws against published vectors and botocore.
#include "lambdad/aws.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace lambdad::aws {
namespace {

TEST(AwsSha256, FipsVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(AwsHmac, Rfc4231Vectors) {
  // Test case 2 and test case 6 (key longer than the block).
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex(hmac_sha256(std::string(131, '\xaa'),
                            "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// Expected values computed with botocore.auth.SigV4Auth / S3SigV4Auth (canonical_request,
// string_to_sign, signature) for the same inputs and request.context['timestamp'].
TEST(AwsSigV4, MatchesBotocoreDynamoDb) {
  Credentials c{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "TOKEN123"};
  std::string body = R"({"TableName":"orders"})";
  std::string hash = sha256_hex(body);
  SigningRequest r;
  r.method = "POST";
  r.path = "/";
  r.headers = {{"Content-Type", "application/x-amz-json-1.0"},
               {"X-Amz-Target", "DynamoDB_20120810.PutItem"},
               {"host", "127.0.0.1:8000"},
               {"X-Amz-Date", "20240301T120000Z"},
               {"X-Amz-Security-Token", "TOKEN123"}};
  r.payload_sha256_hex = hash;
  Signature s = sign_v4(r, c, "us-east-1", "dynamodb", "20240301T120000Z");
  EXPECT_EQ(s.canonical_request,
            "POST\n/\n\ncontent-type:application/x-amz-json-1.0\nhost:127.0.0.1:8000\n"
            "x-amz-date:20240301T120000Z\nx-amz-security-token:TOKEN123\n"
            "x-amz-target:DynamoDB_20120810.PutItem\n\n"
            "content-type;host;x-amz-date;x-amz-security-token;x-amz-target\n"
            "fc37e9ff30f42b703d978dcbb71b9553a5182da4a8088bc79a758ee47ee6544e");
  EXPECT_EQ(s.signature, "651c3b59e2cbe102990dbde88ce56c525345e21b208f05598a3f3bf4d637415d");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240301/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
            "Signature=651c3b59e2cbe102990dbde88ce56c525345e21b208f05598a3f3bf4d637415d");
}

TEST(AwsSigV4, MatchesBotocoreS3Put) {
  Credentials c{"S3RVER", "S3RVER", ""};
  std::string hash = sha256_hex("hello");
  std::string path = "/my-bucket/" + uri_encode("in/a b.zip", true);
  EXPECT_EQ(path, "/my-bucket/in/a%20b.zip");
  SigningRequest r;
  r.method = "PUT";
  r.path = path;
  r.headers = {{"content-type", "text/csv"},
               {"host", "127.0.0.1:4568"},
               {"x-amz-date", "20240301T120000Z"},
               {"x-amz-content-sha256", hash}};
  r.payload_sha256_hex = hash;
  Signature s = sign_v4(r, c, "eu-west-1", "s3", "20240301T120000Z");
  EXPECT_EQ(s.signature, "b69be8fdc4dfb1bd1881c5b41f8d8792570340191bde2691906bda3e30b273c0");
}

TEST(AwsConfig, EndpointUrls) {
  ServiceEndpoint ep;
  ASSERT_TRUE(parse_endpoint_url("http://127.0.0.1:4568", ep, nullptr));
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, "4568");
  ASSERT_TRUE(parse_endpoint_url("http://localhost/", ep, nullptr));
  EXPECT_EQ(ep.port, "80");
  ASSERT_TRUE(parse_endpoint_url("http://[::1]:9000", ep, nullptr));
  EXPECT_EQ(ep.host, "::1");
  std::string why;
  EXPECT_FALSE(parse_endpoint_url("https://s3.amazonaws.com", ep, &why));
  EXPECT_NE(why.find("TLS"), std::string::npos);

  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
  setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2", 1);
  unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
  EXPECT_EQ(endpoint_url_from_env("S3").value(), "http://127.0.0.1:2");
  EXPECT_EQ(endpoint_url_from_env("DYNAMODB").value(), "http://127.0.0.1:1");
  unsetenv("AWS_ENDPOINT_URL");
  unsetenv("AWS_ENDPOINT_URL_S3");
}

TEST(AwsDynamoDb, ItemJson) {
  Item item = {{"id", AttributeValue::string("a\"b")},
               {"n", AttributeValue::number("12.50")},
               {"ok", AttributeValue::boolean(true)},
               {"none", AttributeValue::null()}};
  EXPECT_EQ(item_json(item),
            R"({"id":{"S":"a\"b"},"n":{"N":"12.50"},"ok":{"BOOL":true},"none":{"NULL":true}})");
}

}  // namespace
}  // namespace lambdad::aws
