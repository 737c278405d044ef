#include "api/function_urls.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace lambdad::api {
namespace {
namespace json = boost::json;

const std::string kId = "abcdefghijklmnopqrstuvwxyz012345";

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<absent>";
}

std::string str(const json::value& v) { return std::string(v.as_string()); }

UrlEventContext context() {
  UrlEventContext c;
  c.url_id = kId;
  c.region = "us-east-1";
  c.account = "123456789012";
  c.request_id = "rid-1";
  c.source_ip = "127.0.0.1";
  c.epoch_ms = 1583348638390;
  return c;
}

TEST(FunctionUrlsTest, UrlIds) {
  EXPECT_TRUE(is_url_id(kId));
  EXPECT_FALSE(is_url_id("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"));
  EXPECT_FALSE(is_url_id("abc"));
  const std::string a = make_url_id();
  EXPECT_TRUE(is_url_id(a));
  EXPECT_NE(a, make_url_id());
}

TEST(FunctionUrlsTest, MatchesHostAndPathForms) {
  auto h = match_function_url(kId + ".lambda-url.us-east-1.localhost:9000", "/a/b");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->url_id, kId);
  EXPECT_EQ(h->path, "/a/b");
  auto p = match_function_url("127.0.0.1:9000", "/lambda-url/" + kId + "/x/y");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->url_id, kId);
  EXPECT_EQ(p->path, "/x/y");
  auto bare = match_function_url("127.0.0.1", "/lambda-url/" + kId);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->path, "/");
  EXPECT_FALSE(match_function_url("127.0.0.1:9000", "/2015-03-31/functions"));
  EXPECT_FALSE(match_function_url("short.lambda-url.us-east-1.localhost", "/"));
}

TEST(FunctionUrlsTest, BuildsPayload20Event) {
  HttpRequest r;
  r.method = "POST";
  r.path = "/my/path";
  r.query = "a=1&a=2&b=x%20y";
  r.headers = {{"host", kId + ".lambda-url.us-east-1.localhost:9000"},
               {"x-custom", "v1"},
               {"x-custom", "v2"},
               {"cookie", "s=1; t=2"},
               {"user-agent", "ua/1"},
               {"content-type", "application/json"}};
  r.body = R"({"k":"v"})";
  const json::object ev = json::parse(build_url_event(r, context())).as_object();
  EXPECT_EQ(ev.at("version"), "2.0");
  EXPECT_EQ(ev.at("routeKey"), "$default");
  EXPECT_EQ(ev.at("rawPath"), "/my/path");
  EXPECT_EQ(ev.at("rawQueryString"), "a=1&a=2&b=x%20y");
  EXPECT_EQ(ev.at("cookies"), (json::array{"s=1", "t=2"}));
  EXPECT_EQ(ev.at("headers").at("x-custom"), "v1,v2");
  EXPECT_FALSE(ev.at("headers").as_object().contains("cookie"));
  EXPECT_EQ(ev.at("queryStringParameters"), (json::object{{"a", "1,2"}, {"b", "x y"}}));
  const auto& rc = ev.at("requestContext").as_object();
  EXPECT_EQ(rc.at("accountId"), "123456789012");
  EXPECT_EQ(str(rc.at("apiId")), kId);
  EXPECT_EQ(str(rc.at("domainName")), kId + ".lambda-url.us-east-1.localhost");
  EXPECT_EQ(str(rc.at("domainPrefix")), kId);
  EXPECT_EQ(rc.at("http").at("method"), "POST");
  EXPECT_EQ(rc.at("http").at("path"), "/my/path");
  EXPECT_EQ(rc.at("http").at("sourceIp"), "127.0.0.1");
  EXPECT_EQ(rc.at("http").at("userAgent"), "ua/1");
  EXPECT_EQ(rc.at("requestId"), "rid-1");
  EXPECT_EQ(rc.at("stage"), "$default");
  EXPECT_EQ(rc.at("time"), "04/Mar/2020:19:03:58 +0000");
  EXPECT_EQ(rc.at("timeEpoch").to_number<int64_t>(), 1583348638390);
  EXPECT_EQ(ev.at("body"), R"({"k":"v"})");
  EXPECT_EQ(ev.at("isBase64Encoded"), false);
}

TEST(FunctionUrlsTest, BinaryBodyIsBase64AndEmptyFieldsOmitted) {
  HttpRequest r;
  r.method = "PUT";
  r.path = "/";
  r.headers = {{"content-type", "application/octet-stream"}};
  r.body = std::string("\x00\xff\x01", 3);
  const json::object ev = json::parse(build_url_event(r, context())).as_object();
  EXPECT_EQ(ev.at("body"), "AP8B");
  EXPECT_EQ(ev.at("isBase64Encoded"), true);
  EXPECT_FALSE(ev.contains("cookies"));
  EXPECT_FALSE(ev.contains("queryStringParameters"));
  EXPECT_EQ(ev.at("rawQueryString"), "");
  HttpRequest empty;
  empty.method = "GET";
  empty.path = "/";
  const json::object ev2 = json::parse(build_url_event(empty, context())).as_object();
  EXPECT_FALSE(ev2.contains("body"));
  EXPECT_EQ(ev2.at("isBase64Encoded"), false);
}

TEST(FunctionUrlsTest, MapsStructuredReply) {
  const HttpResponse r =
      map_url_reply(R"({"statusCode":201,"headers":{"X-A":"b","Content-Type":"text/plain"},)"
                    R"("cookies":["c1=1","c2=2"],"body":"aGk=","isBase64Encoded":true})",
                    false);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(header(r, "X-A"), "b");
  EXPECT_EQ(header(r, "Content-Type"), "text/plain");
  int cookies = 0;
  for (const auto& [k, v] : r.headers) cookies += k == "Set-Cookie";
  EXPECT_EQ(cookies, 2);
  EXPECT_EQ(r.body, "hi");
}

TEST(FunctionUrlsTest, ShortcutAndErrors) {
  const HttpResponse s = map_url_reply(R"("Hello, world!")", false);
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(header(s, "Content-Type"), "application/json");
  EXPECT_EQ(s.body, R"("Hello, world!")");
  const HttpResponse o = map_url_reply(R"({"a":1})", false);
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(o.body, R"({"a":1})");
  const HttpResponse e = map_url_reply(R"({"errorMessage":"x"})", true);
  EXPECT_EQ(e.status, 502);
  EXPECT_EQ(e.body, R"({"Message":"Internal Server Error"})");
  EXPECT_EQ(map_url_reply("not json", false).status, 502);
}

}  // namespace
}  // namespace lambdad::api
