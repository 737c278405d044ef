// Payload 2.0 helpers (sdk/include/lambdad/http.h) and the SDK's internal JSON reader.
#include "lambdad/http.h"

#include <gtest/gtest.h>

#include "json_value.h"

namespace lambdad::http {
namespace {

using sdk_detail::JsonValue;

// The events.md §1 example, trimmed.
constexpr const char* kEvent = R"({
  "version": "2.0", "routeKey": "GET /items/{id}", "rawPath": "/items/7",
  "rawQueryString": "a=1&a=2&b=x",
  "cookies": ["s_fid=7AAB", "regStatus=pre-register"],
  "headers": {"Accept": "*/*", "content-type": "application/json", "x-custom": "v1,v2"},
  "queryStringParameters": {"a": "1,2", "b": "x"},
  "pathParameters": {"id": "7"},
  "requestContext": {"requestId": "e1506fd5-9e7b-434f-bd42-4f8fa224b599",
    "http": {"method": "POST", "path": "/items/7", "protocol": "HTTP/1.1",
             "sourceIp": "203.0.113.7", "userAgent": "curl/8.7.1"},
    "timeEpoch": 1583348638390, "authorizer": null},
  "body": "{\"k\":\"v\u00e9\"}", "isBase64Encoded": false
})";

TEST(HttpRequestTest, ParsesEveryFieldOfAPayload20Event) {
  std::string error;
  auto req = parse_request(kEvent, &error);
  ASSERT_TRUE(req) << error;
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->raw_path, "/items/7");
  EXPECT_EQ(req->raw_query, "a=1&a=2&b=x");
  EXPECT_EQ(req->route_key, "GET /items/{id}");
  EXPECT_EQ(req->headers.at("accept"), "*/*");  // lower-cased
  EXPECT_EQ(req->header("X-Custom"), "v1,v2");
  EXPECT_EQ(req->query_param("a"), "1,2");
  EXPECT_EQ(req->path_param("id"), "7");
  EXPECT_EQ(req->path_param("nope"), std::nullopt);
  EXPECT_EQ(req->cookies, (std::vector<std::string>{"s_fid=7AAB", "regStatus=pre-register"}));
  EXPECT_EQ(req->cookie("regStatus"), "pre-register");
  EXPECT_EQ(req->body, "{\"k\":\"v\xc3\xa9\"}");
  EXPECT_FALSE(req->body_was_base64);
  EXPECT_EQ(req->request_id, "e1506fd5-9e7b-434f-bd42-4f8fa224b599");
  EXPECT_EQ(req->source_ip, "203.0.113.7");
}

TEST(HttpRequestTest, DecodesBase64Body) {
  auto req = parse_request(R"({"body":"AAEC/w==","isBase64Encoded":true})");
  ASSERT_TRUE(req);
  EXPECT_TRUE(req->body_was_base64);
  EXPECT_EQ(req->body, std::string("\x00\x01\x02\xff", 4));
}

TEST(HttpRequestTest, RejectsInvalidBase64Body) {
  std::string error;
  EXPECT_FALSE(parse_request(R"({"body":"@@@","isBase64Encoded":true})", &error));
  EXPECT_NE(error.find("base64"), std::string::npos);
}

TEST(HttpRequestTest, RejectsNonJsonAndNonObjectEvents) {
  std::string error;
  EXPECT_FALSE(parse_request("{\"a\":", &error));
  EXPECT_NE(error.find("not JSON"), std::string::npos) << error;
  EXPECT_FALSE(parse_request("[1,2]", &error));
  EXPECT_FALSE(parse_request("", &error));
}

TEST(HttpRequestTest, SplitsCookieHeaderWhenCookiesFieldIsAbsent) {
  auto req = parse_request(R"({"headers":{"Cookie":"a=1; b=2"}})");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->cookies, (std::vector<std::string>{"a=1", "b=2"}));
}

TEST(HttpRequestTest, MissingFieldsAreEmpty) {
  auto req = parse_request("{}");
  ASSERT_TRUE(req);
  EXPECT_TRUE(req->method.empty());
  EXPECT_TRUE(req->headers.empty());
  EXPECT_TRUE(req->body.empty());
}

TEST(HttpResponseTest, RendersStructuredResponse) {
  HttpResponse r = HttpResponse::json(201, R"({"id":1})");
  r.cookies = {"a=b; Max-Age=60"};
  EXPECT_EQ(r.to_json(),
            R"({"statusCode":201,"headers":{"content-type":"application/json"},)"
            R"("cookies":["a=b; Max-Age=60"],"body":"{\"id\":1}","isBase64Encoded":false})");
}

TEST(HttpResponseTest, Base64EncodesBinaryBodyAndOmitsEmptyCookies) {
  HttpResponse r;
  r.status = 200;
  r.body = std::string("\x00\xff", 2);
  r.is_base64 = true;
  EXPECT_EQ(r.to_json(), R"({"statusCode":200,"headers":{},"body":"AP8=","isBase64Encoded":true})");
}

TEST(HttpHandlerTest, AdaptsHttpHandlerToRuntimeHandler) {
  Handler h = handler([](const HttpRequest& req) { return HttpResponse::text(200, req.raw_path); });
  InvocationRequest inv;
  inv.payload = R"({"rawPath":"/x"})";
  InvocationResponse out = h(inv);
  ASSERT_TRUE(out.is_success());
  EXPECT_EQ(out.payload(),
            R"({"statusCode":200,"headers":{"content-type":"text/plain; charset=utf-8"},)"
            R"("body":"/x","isBase64Encoded":false})");
  inv.payload = "not json";
  out = h(inv);
  EXPECT_FALSE(out.is_success());
  EXPECT_EQ(out.error_type(), "InvalidHttpEvent");
}

TEST(Base64Test, RoundTripsAllLengths) {
  std::string s;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
    s += static_cast<char>(0xF0 + i);
  }
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_decode("Zm9vYg"), "foob");
  EXPECT_EQ(base64_decode("Z"), std::nullopt);
}

TEST(JsonValueTest, ParsesNestedDocumentAndEscapes) {
  JsonValue v;
  std::string error;
  ASSERT_TRUE(
      JsonValue::parse(R"( {"a":[1,-2.5e3,true,false,null],"s":"\ud83d\ude00\n\/"} )", &v, &error))
      << error;
  const JsonValue* a = v.find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->items().size(), 5u);
  EXPECT_EQ(a->items()[1].text(), "-2.5e3");
  EXPECT_TRUE(a->items()[2].boolean());
  EXPECT_TRUE(a->items()[4].is_null());
  EXPECT_EQ(v.find("s")->text(), "\xf0\x9f\x98\x80\n/");
}

TEST(JsonValueTest, RejectsMalformedDocuments) {
  const char* bad[] = {"",        "{",        "[1,]",  "{\"a\" 1}", "01",    "1.",    "tru",
                       "\"\\x\"", "\"a\nb\"", "{} {}", "-",         "[1 2]", "{1:2}", "\"\\u12\""};
  for (const char* text : bad) {
    JsonValue v;
    std::string error;
    EXPECT_FALSE(JsonValue::parse(text, &v, &error)) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
  EXPECT_TRUE(is_valid_json(R"({"ok":[{}]})"));
  EXPECT_FALSE(is_valid_json(std::string(200, '[') + std::string(200, ']')));  // too deep
}

}  // namespace
}  // namespace lambdad::http
