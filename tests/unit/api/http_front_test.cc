// HTTP front end (issue #6): SAM route templates, route choice, CORS, the REST 1.0 and
// HttpApi 2.0 events and their reply mappings.
#include "api/http_front.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace lambdad::api {
namespace {

namespace json = boost::json;
using Params = std::vector<std::pair<std::string, std::string>>;

TEST(RouteTemplate, LiteralParamAndGreedy) {
  EXPECT_EQ(match_route_template("/items", "/items"), Params{});
  EXPECT_EQ(match_route_template("/items", "/items/"), Params{});
  EXPECT_FALSE(match_route_template("/items", "/items/1"));
  EXPECT_FALSE(match_route_template("/items/{id}", "/items"));
  EXPECT_EQ(match_route_template("/items/{id}", "/items/42"), (Params{{"id", "42"}}));
  EXPECT_EQ(match_route_template("/items/{id}", "/items/a%20b"), (Params{{"id", "a b"}}));
  EXPECT_EQ(match_route_template("/u/{user}/f/{file}", "/u/ann/f/x.txt"),
            (Params{{"user", "ann"}, {"file", "x.txt"}}));
  EXPECT_EQ(match_route_template("/files/{proxy+}", "/files/a/b/c"), (Params{{"proxy", "a/b/c"}}));
  EXPECT_FALSE(match_route_template("/files/{proxy+}", "/files"));
  EXPECT_EQ(match_route_template("/{proxy+}", "/x"), (Params{{"proxy", "x"}}));
  EXPECT_EQ(match_route_template("/", "/"), Params{});
  EXPECT_FALSE(match_route_template("/", "/x"));
}

TEST(FrontTable, PicksTheMostSpecificRoute) {
  FrontTable t;
  t.set_routes("a", {{"GET", "/items/{id}", "2.0"}, {"ANY", "/{proxy+}", "2.0"}});
  t.set_routes("b", {{"GET", "/items/special", "1.0"}, {"POST", "/items/{id}", "2.0"}});
  auto m = t.match("GET", "/items/special");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->function, "b");
  m = t.match("GET", "/items/7");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->function, "a");
  EXPECT_EQ(m->params, (Params{{"id", "7"}}));
  m = t.match("POST", "/items/7");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->function, "b");
  m = t.match("DELETE", "/anything/else");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route.path, "/{proxy+}");
  t.remove_function("a");
  EXPECT_FALSE(t.match("DELETE", "/anything/else"));
  t.set_routes("b", {});
  EXPECT_FALSE(t.match("GET", "/items/special"));
}

TEST(FrontTable, UrlsByIdRemovedWithTheirFunction) {
  FrontTable t;
  registry::FunctionUrlRecord u;
  u.function = "f";
  u.url_id = "abcdefghijklmnopqrstuvwxyz012345";
  u.auth_type = "AWS_IAM";
  u.cors = R"({"AllowOrigins":["*"],"MaxAge":10})";
  t.put_url(u);
  auto e = t.find_url(u.url_id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->auth_type, "AWS_IAM");
  ASSERT_TRUE(e->cors);
  EXPECT_EQ(e->cors->max_age, 10);
  t.remove_function("f");
  EXPECT_FALSE(t.find_url(u.url_id));
}

HttpRequest preflight(std::string origin, std::string method) {
  HttpRequest r;
  r.method = "OPTIONS";
  r.path = "/";
  r.headers = {{"origin", std::move(origin)}, {"access-control-request-method", std::move(method)}};
  return r;
}

std::string header(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<none>";
}

TEST(Cors, PreflightAllowedAndRefused) {
  CorsConfig c;
  c.allow_origins = {"https://a.example"};
  c.allow_methods = {"GET", "POST"};
  c.allow_headers = {"x-custom"};
  c.max_age = 300;
  c.allow_credentials = true;
  auto r = cors_preflight(c, preflight("https://a.example", "POST"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(header(*r, "Access-Control-Allow-Origin"), "https://a.example");
  EXPECT_EQ(header(*r, "Access-Control-Allow-Methods"), "GET,POST");
  EXPECT_EQ(header(*r, "Access-Control-Allow-Headers"), "x-custom");
  EXPECT_EQ(header(*r, "Access-Control-Max-Age"), "300");
  EXPECT_EQ(header(*r, "Access-Control-Allow-Credentials"), "true");
  r = cors_preflight(c, preflight("https://evil.example", "POST"));
  ASSERT_TRUE(r);
  EXPECT_EQ(header(*r, "Access-Control-Allow-Origin"), "<none>");
  r = cors_preflight(c, preflight("https://a.example", "DELETE"));
  ASSERT_TRUE(r);
  EXPECT_EQ(header(*r, "Access-Control-Allow-Origin"), "<none>");
  HttpRequest get;
  get.method = "OPTIONS";
  EXPECT_FALSE(cors_preflight(c, get));  // no Origin: the function's business
}

TEST(Cors, ResponseHeadersReplaceTheFunctions) {
  CorsConfig c;
  c.allow_origins = {"*"};
  c.expose_headers = {"x-a", "x-b"};
  HttpRequest req;
  req.headers = {{"origin", "https://b.example"}};
  HttpResponse res;
  res.headers = {{"access-control-allow-origin", "https://fn.example"}, {"X-Other", "1"}};
  apply_cors(c, req, res);
  EXPECT_EQ(header(res, "access-control-allow-origin"), "<none>");
  EXPECT_EQ(header(res, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header(res, "Access-Control-Expose-Headers"), "x-a,x-b");
  EXPECT_EQ(header(res, "X-Other"), "1");
}

MatchedRoute items_route(std::string version) {
  return MatchedRoute{"fn", {"GET", "/items/{id}", std::move(version)}, {{"id", "42"}}};
}

TEST(Events, HttpApiCarriesRouteKeyAndPathParameters) {
  HttpRequest req;
  req.method = "GET";
  req.path = "/items/42";
  req.query = "a=1&a=2";
  req.headers = {{"host", "api.localhost:9001"}};
  UrlEventContext ctx;
  ctx.account = "000000000000";
  json::object ev = json::parse(build_http_api_event(req, ctx, items_route("2.0"))).as_object();
  EXPECT_EQ(ev.at("version"), "2.0");
  EXPECT_EQ(ev.at("routeKey"), "GET /items/{id}");
  EXPECT_EQ(ev.at("requestContext").at("routeKey"), "GET /items/{id}");
  EXPECT_EQ(ev.at("pathParameters").at("id"), "42");
  EXPECT_EQ(ev.at("queryStringParameters").at("a"), "1,2");
}

TEST(Events, RestProxyEvent) {
  HttpRequest req;
  req.method = "GET";
  req.path = "/items/42";
  req.query = "a=1&a=2&b=x";
  req.headers = {{"Host", "api.localhost"}, {"X-Custom", "v1"}, {"X-Custom", "v2"}};
  UrlEventContext ctx;
  ctx.source_ip = "127.0.0.1";
  json::object ev = json::parse(build_rest_event(req, ctx, items_route("1.0"))).as_object();
  EXPECT_EQ(ev.at("resource"), "/items/{id}");
  EXPECT_EQ(ev.at("path"), "/items/42");
  EXPECT_EQ(ev.at("httpMethod"), "GET");
  EXPECT_EQ(ev.at("headers").at("X-Custom"), "v2");
  EXPECT_EQ(ev.at("multiValueHeaders").at("X-Custom"), (json::array{"v1", "v2"}));
  EXPECT_EQ(ev.at("queryStringParameters").at("a"), "2");
  EXPECT_EQ(ev.at("multiValueQueryStringParameters").at("a"), (json::array{"1", "2"}));
  EXPECT_EQ(ev.at("pathParameters").at("id"), "42");
  EXPECT_TRUE(ev.at("stageVariables").is_null());
  EXPECT_TRUE(ev.at("body").is_null());
  EXPECT_EQ(ev.at("isBase64Encoded"), false);
  EXPECT_EQ(ev.at("requestContext").at("resourcePath"), "/items/{id}");
  EXPECT_EQ(ev.at("requestContext").at("identity").at("sourceIp"), "127.0.0.1");
}

TEST(Replies, RestNeedsStatusCodeAndKeepsMultiValueHeaders) {
  EXPECT_EQ(map_rest_reply(R"("hello")", false).status, 502);
  EXPECT_EQ(map_rest_reply(R"({"statusCode":200})", true).status, 502);
  HttpResponse r = map_rest_reply(
      R"({"statusCode":201,"headers":{"A":"1"},"multiValueHeaders":{"B":["x","y"]},"body":"ok"})",
      false);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "ok");
  int b = 0;
  for (const auto& [k, v] : r.headers) b += k == "B";
  EXPECT_EQ(b, 2);
}

TEST(Replies, HttpApiErrorIs500) {
  HttpResponse r = map_http_api_reply("{}", true);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, R"({"message":"Internal Server Error"})");
  EXPECT_EQ(map_http_api_reply(R"({"a":1})", false).status, 200);
}

}  // namespace
}  // namespace lambdad::api
