// Control handlers for versions, aliases and reserved concurrency (issue #6), against a real
// SQLite registry and package store.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>

#include "api/control_api.h"
#include "common/encoding.h"
#include "invoke/routing.h"
#include "support/zip_builder.h"

namespace lambdad::api {
namespace {

namespace json = boost::json;
using registry::AliasRecord;
using registry::FunctionRecord;

constexpr char kArn[] = "arn:aws:lambda:us-east-1:000000000000:function:";

class VersionsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/versions_api_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = packages::PackageStore::open(dir_ + "/pkg");
    ASSERT_TRUE(store.ok()) << store.error().message();
    store_ = std::make_unique<packages::PackageStore>(std::move(store).value());
    auto reg = registry::open_sqlite_registry(dir_ + "/reg");
    ASSERT_TRUE(reg.ok());
    registry_ = std::move(reg).value();
    ControlEffects effects;
    effects.upserted = [this](const FunctionRecord& fn) { upserted_.push_back(fn); };
    effects.version_removed = [this](const std::string& n, const std::string& v) {
      versions_removed_.push_back(n + ":" + v);
    };
    effects.alias_upserted = [this](const AliasRecord& a) { aliases_.push_back(a); };
    effects.alias_removed = [this](const std::string& f, const std::string& a) {
      aliases_removed_.push_back(f + ":" + a);
    };
    effects.concurrency_changed = [this](const std::string& n, std::optional<int> r) {
      concurrency_.emplace_back(n, r);
    };
    api_ = std::make_unique<ControlApi>(*registry_, *store_, ControlOptions{}, effects);
    ASSERT_EQ(call("POST", "/2015-03-31/functions", create_body("f")).status, 201);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string create_body(const std::string& name) {
    return R"({"FunctionName":")" + name +
           R"(","Runtime":"provided.al2023","Role":"arn:aws:iam::123456789012:role/r",)"
           R"("Handler":"bootstrap","Code":{"ZipFile":")" +
           base64_encode(testing::bootstrap_zip()) + "\"}}";
  }

  HttpResponse call(const std::string& method, const std::string& path,
                    const std::string& body = "", const std::string& query = "") {
    HttpRequest request;
    request.method = method;
    request.path = path;
    request.query = query;
    request.body = body;
    return api_->handle(request);
  }

  static json::object body(const HttpResponse& r) {
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    return !ec && v.is_object() ? v.as_object() : json::object{};
  }
  static std::string error_type(const HttpResponse& r) {
    for (const auto& [k, v] : r.headers)
      if (k == "x-amzn-ErrorType") return v;
    return "";
  }
  static std::string message(const HttpResponse& r) {
    auto o = body(r);
    if (auto* m = o.if_contains("message")) return std::string(m->as_string());
    if (auto* m = o.if_contains("Message")) return std::string(m->as_string());
    return "";
  }

  std::string dir_;
  std::unique_ptr<packages::PackageStore> store_;
  std::unique_ptr<registry::Registry> registry_;
  std::unique_ptr<ControlApi> api_;
  std::vector<FunctionRecord> upserted_;
  std::vector<std::string> versions_removed_;
  std::vector<AliasRecord> aliases_;
  std::vector<std::string> aliases_removed_;
  std::vector<std::pair<std::string, std::optional<int>>> concurrency_;
};

TEST_F(VersionsApiTest, PublishSnapshotsAndNotifies) {
  upserted_.clear();
  HttpResponse r = call("POST", "/2015-03-31/functions/f/versions", R"({"Description":"d"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body(r).at("Version").as_string(), "1");
  EXPECT_EQ(body(r).at("FunctionArn").as_string(), std::string(kArn) + "f:1");
  EXPECT_EQ(body(r).at("Description").as_string(), "d");
  ASSERT_EQ(upserted_.size(), 1u);
  EXPECT_EQ(upserted_[0].version, "1");
  // Unchanged: the same version comes back, nothing new is announced.
  r = call("POST", "/2015-03-31/functions/f/versions");
  EXPECT_EQ(body(r).at("Version").as_string(), "1");
  EXPECT_EQ(upserted_.size(), 1u);
  // $LATEST stays unqualified and mutable.
  r = call("GET", "/2015-03-31/functions/f/configuration");
  EXPECT_EQ(body(r).at("Version").as_string(), "$LATEST");
  EXPECT_EQ(body(r).at("FunctionArn").as_string(), std::string(kArn) + "f");
}

TEST_F(VersionsApiTest, PublishPreconditionsAndMissingFunction) {
  HttpResponse r = call("POST", "/2015-03-31/functions/f/versions", R"({"RevisionId":"x"})");
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(error_type(r), "PreconditionFailedException");
  r = call("POST", "/2015-03-31/functions/f/versions", R"({"CodeSha256":"abc"})");
  EXPECT_EQ(r.status, 412);
  EXPECT_TRUE(message(r).starts_with("CodeSHA256 (abc) is different")) << message(r);
  r = call("POST", "/2015-03-31/functions/nope/versions");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(message(r), std::string("Function not found: ") + kArn + "nope");
}

TEST_F(VersionsApiTest, ListVersionsLatestFirstAndPaginates) {
  ASSERT_EQ(call("POST", "/2015-03-31/functions/f/versions").status, 201);
  HttpResponse r = call("GET", "/2015-03-31/functions/f/versions", "", "MaxItems=1");
  ASSERT_EQ(r.status, 200);
  auto o = body(r);
  ASSERT_EQ(o.at("Versions").as_array().size(), 1u);
  EXPECT_EQ(o.at("Versions").as_array()[0].at("FunctionArn").as_string(),
            std::string(kArn) + "f:$LATEST");
  const std::string marker(o.at("NextMarker").as_string());
  r = call("GET", "/2015-03-31/functions/f/versions", "", "Marker=" + marker);
  o = body(r);
  ASSERT_EQ(o.at("Versions").as_array().size(), 1u);
  EXPECT_EQ(o.at("Versions").as_array()[0].at("Version").as_string(), "1");
  EXPECT_FALSE(o.contains("NextMarker"));
}

TEST_F(VersionsApiTest, AliasValidationAndRouting) {
  ASSERT_EQ(call("POST", "/2015-03-31/functions/f/versions").status, 201);
  HttpResponse r =
      call("POST", "/2015-03-31/functions/f/aliases", R"({"Name":"123","FunctionVersion":"1"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_type(r), "ValidationException");
  r = call("POST", "/2015-03-31/functions/f/aliases", R"({"Name":"live","FunctionVersion":"2"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(message(r), std::string("Function not found: ") + kArn + "f:2");
  r = call(
      "POST", "/2015-03-31/functions/f/aliases",
      R"({"Name":"live","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"1":0.5}}})");
  EXPECT_EQ(r.status, 400);
  r = call(
      "POST", "/2015-03-31/functions/f/aliases",
      R"({"Name":"live","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"2":1.5}}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_type(r), "ValidationException");
  r = call("POST", "/2015-03-31/functions/f/aliases", R"({"Name":"live","FunctionVersion":"1"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body(r).at("AliasArn").as_string(), std::string(kArn) + "f:live");
  ASSERT_EQ(aliases_.size(), 1u);
  r = call("GET", "/2015-03-31/functions/f/aliases/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(message(r), std::string("Cannot find alias arn: ") + kArn + "f:nope");
  // Deleting a referenced version is a conflict; the alias goes first.
  r = call("DELETE", "/2015-03-31/functions/f", "", "Qualifier=1");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_type(r), "ResourceConflictException");
  EXPECT_EQ(call("DELETE", "/2015-03-31/functions/f/aliases/live").status, 204);
  EXPECT_EQ(aliases_removed_, std::vector<std::string>{"f:live"});
  EXPECT_EQ(call("DELETE", "/2015-03-31/functions/f", "", "Qualifier=1").status, 204);
  EXPECT_EQ(versions_removed_, std::vector<std::string>{"f:1"});
  EXPECT_EQ(call("GET", "/2015-03-31/functions/f", "", "Qualifier=1").status, 404);
}

TEST_F(VersionsApiTest, ConcurrencyFloorAndAccountSettings) {
  HttpResponse r =
      call("PUT", "/2017-10-31/functions/f/concurrency", R"({"ReservedConcurrentExecutions":901})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(message(r),
            "Specified ReservedConcurrentExecutions for function decreases account's "
            "UnreservedConcurrentExecution below its minimum value of [100].");
  r = call("PUT", "/2017-10-31/functions/f/concurrency", R"({"ReservedConcurrentExecutions":900})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"ReservedConcurrentExecutions":900})");
  EXPECT_EQ(call("GET", "/2019-09-30/functions/f/concurrency").body,
            R"({"ReservedConcurrentExecutions":900})");
  r = call("GET", "/2016-08-19/account-settings");
  EXPECT_EQ(body(r).at("AccountLimit").at("UnreservedConcurrentExecutions").as_int64(), 100);
  EXPECT_EQ(call("DELETE", "/2017-10-31/functions/f/concurrency").status, 204);
  EXPECT_EQ(call("GET", "/2019-09-30/functions/f/concurrency").body, "{}");
  ASSERT_EQ(concurrency_.size(), 2u);
  EXPECT_EQ(concurrency_[0].second, 900);
  EXPECT_FALSE(concurrency_[1].second.has_value());
  r = call("PUT", "/2017-10-31/functions/f/concurrency", R"({"ReservedConcurrentExecutions":-1})");
  EXPECT_EQ(error_type(r), "ValidationException");
}

TEST_F(VersionsApiTest, CreateWithPublishAnswersVersionOne) {
  std::string b = create_body("g");
  b.insert(b.size() - 1, R"(,"Publish":true)");
  HttpResponse r = call("POST", "/2015-03-31/functions", b);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body(r).at("Version").as_string(), "1");
  EXPECT_EQ(body(r).at("FunctionArn").as_string(), std::string(kArn) + "g:1");
}

TEST(AliasRouting, PickVersionSplitsByWeight) {
  AliasRecord a;
  a.function_version = "1";
  EXPECT_EQ(invoke::pick_version(a, 0.99), "1");
  a.additional_weights["2"] = 0.25;
  EXPECT_EQ(invoke::pick_version(a, 0.0), "2");
  EXPECT_EQ(invoke::pick_version(a, 0.2499), "2");
  EXPECT_EQ(invoke::pick_version(a, 0.25), "1");
  EXPECT_EQ(invoke::pool_key("f", "$LATEST"), "f");
  EXPECT_EQ(invoke::pool_key("f", "3"), "f:3");
}

}  // namespace
}  // namespace lambdad::api
