// The console's static files and its JSON endpoints, called directly (no server).
#include "api/console_api.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>

#include "metering/usage.h"

namespace lambdad::api {
namespace {

namespace json = boost::json;

std::string header(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

HttpRequest get(std::string path, std::string query = "") {
  HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  r.query = std::move(query);
  return r;
}

class ConsoleApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lambdad-console-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    auto rec = metering::UsageRecorder::open(dir_);
    ASSERT_TRUE(rec.ok());
    for (int i = 0; i < 4; ++i) {
      metering::UsageRecord u;
      u.timestamp_ms = kMinute + i * 1000;
      u.function = "fn";
      u.request_id = "r" + std::to_string(i);
      u.duration_us = (i + 1) * 1500;
      u.billed_ms = i + 2;
      u.init_us = i == 0 ? 7000 : 0;
      u.status = i == 3 ? "error" : "ok";
      u.cost_pico = 1000 + i;
      (*rec)->record(u);
    }
    (*rec)->flush();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  HttpResponse call(const HttpRequest& r) { return handle_console_api(dir_, r, kMinute + 60'000); }

  static constexpr int64_t kMinute = 1'800'000'000'000;  // a whole minute
  std::string dir_;
};

TEST(ConsoleStaticTest, ServesEmbeddedFilesWithTypesAndEtags) {
  auto index = console_static("/console", nullptr);
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(header(*index, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(index->body.find("/console/app.js"), std::string::npos);
  EXPECT_NE(header(*index, "Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  EXPECT_EQ(console_static("/console/", nullptr)->body, index->body);

  auto js = console_static("/console/app.js", nullptr);
  EXPECT_EQ(header(*js, "Content-Type"), "text/javascript; charset=utf-8");
  const std::string etag = header(*js, "ETag");
  ASSERT_EQ(etag.size(), 18u);  // "16 hex digits"
  auto again = console_static("/console/app.js", &etag);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  EXPECT_EQ(console_static("/console/uPlot.min.css", nullptr)->status, 200);

  EXPECT_EQ(console_static("/console/../registry.db", nullptr)->status, 404);
  EXPECT_EQ(console_static("/console/nope.js", nullptr)->status, 404);
  EXPECT_FALSE(console_static("/consoles", nullptr).has_value());
  EXPECT_FALSE(console_static("/2015-03-31/functions/", nullptr).has_value());
}

TEST(ConsoleStaticTest, KnowsItsPaths) {
  EXPECT_TRUE(is_console_api("/lambdad/usage"));
  EXPECT_TRUE(is_console_api("/lambdad/usage/series"));
  EXPECT_TRUE(is_console_api("/lambdad/tune/fn"));
  EXPECT_FALSE(is_console_api("/lambdad/async"));
  EXPECT_FALSE(is_console_api("/lambdad/status"));
}

TEST_F(ConsoleApiTest, RecentUsageIsNewestFirstWithReportFigures) {
  auto r = call(get("/lambdad/usage", "function=fn&limit=3"));
  ASSERT_EQ(r.status, 200) << r.body;
  const json::array rows = json::parse(r.body).at("invocations").as_array();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].at("requestId").as_string(), "r3");
  EXPECT_EQ(rows[0].at("status").as_string(), "error");
  EXPECT_EQ(rows[0].at("durationMs").as_double(), 6.0);
  EXPECT_EQ(rows[0].at("billedMs").as_int64(), 5);
  EXPECT_TRUE(rows[0].at("initDurationMs").is_null());
  EXPECT_FALSE(rows[0].at("cold").as_bool());
  auto all = call(get("/lambdad/usage", "function=fn"));
  const json::array every = json::parse(all.body).at("invocations").as_array();
  ASSERT_EQ(every.size(), 4u);
  EXPECT_TRUE(every[3].at("cold").as_bool());
  EXPECT_EQ(every[3].at("initDurationMs").as_double(), 7.0);
}

TEST_F(ConsoleApiTest, SeriesBucketsAddUp) {
  auto r = call(get("/lambdad/usage/series",
                    "function=fn&since=" + std::to_string(kMinute - 60'000) + "&step=60"));
  ASSERT_EQ(r.status, 200) << r.body;
  const json::object doc = json::parse(r.body).as_object();
  const json::array b = doc.at("buckets").as_array();
  ASSERT_EQ(b.size(), 2u);  // the empty minute before, then the busy one
  EXPECT_EQ(b[0].at("invocations").as_int64(), 0);
  EXPECT_EQ(b[1].at("t").as_int64(), kMinute);
  EXPECT_EQ(b[1].at("invocations").as_int64(), 4);
  EXPECT_EQ(b[1].at("errors").as_int64(), 1);
  EXPECT_EQ(b[1].at("coldStarts").as_int64(), 1);
  EXPECT_EQ(b[1].at("p50Ms").as_double(), 3.0);
  EXPECT_EQ(b[1].at("p99Ms").as_double(), 6.0);
  EXPECT_EQ(b[1].at("costPico").as_int64(), 1000 + 1001 + 1002 + 1003);
}

TEST_F(ConsoleApiTest, BadInputGetsLambdaErrors) {
  const std::pair<std::string, std::string> cases[] = {
      {"/lambdad/usage", "limit=0"},
      {"/lambdad/usage", "limit=1001"},
      {"/lambdad/usage", "limit=-1"},
      {"/lambdad/usage", "function=a%2Fb"},
      {"/lambdad/usage/series", "step=0"},
      {"/lambdad/usage/series", "step=86401"},
      {"/lambdad/usage/series", "since=x"},
      {"/lambdad/usage/series", "since=10&until=5"},
      {"/lambdad/usage/series", "since=0&step=1"},  // too many buckets
  };
  for (const auto& [path, query] : cases) {
    auto r = call(get(path, query));
    EXPECT_EQ(r.status, 400) << path << "?" << query;
    EXPECT_EQ(header(r, "x-amzn-ErrorType"), "InvalidParameterValueException") << r.body;
  }
  HttpRequest del = get("/lambdad/usage");
  del.method = "DELETE";
  auto r = call(del);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "GET");
}

TEST_F(ConsoleApiTest, TuneResultsRoundTripAndAreValidated) {
  EXPECT_EQ(call(get("/lambdad/tune/fn")).status, 404);
  HttpRequest put = get("/lambdad/tune/fn");
  put.method = "PUT";
  put.body = R"({"rows":[{"memoryMb":128,"p50Ms":2.5}],"cheapest":128,"function":"other"})";
  auto stored = call(put);
  ASSERT_EQ(stored.status, 200) << stored.body;
  auto back = call(get("/lambdad/tune/fn"));
  ASSERT_EQ(back.status, 200);
  const json::object o = json::parse(back.body).as_object();
  EXPECT_EQ(o.at("function").as_string(), "fn");  // the path wins
  EXPECT_EQ(o.at("storedAt").as_int64(), kMinute + 60'000);
  EXPECT_EQ(o.at("rows").as_array().size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/tune/fn.json"));

  put.body = "[1]";
  EXPECT_EQ(call(put).status, 400);
  put.body = R"({"rows":3})";
  EXPECT_EQ(call(put).status, 400);
  put.body = std::string(300 * 1024, ' ');
  EXPECT_EQ(call(put).status, 413);
  put.path = "/lambdad/tune/../x";
  put.body = R"({"rows":[]})";
  EXPECT_EQ(call(put).status, 400);
  EXPECT_EQ(call(get("/lambdad/tune/")).status, 400);
  // The good result is still there.
  EXPECT_EQ(call(get("/lambdad/tune/fn")).body, back.body);
}

}  // namespace
}  // namespace lambdad::api
