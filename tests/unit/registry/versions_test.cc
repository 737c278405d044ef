// Versions, aliases and reserved concurrency in the SQLite registry (issue #6).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "registry/registry.h"

namespace lambdad::registry {
namespace {

namespace fs = std::filesystem;

class VersionsRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "lambdad-versions-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    reopen();
  }
  void TearDown() override {
    reg_.reset();
    fs::remove_all(root_);
  }
  void reopen() {
    reg_.reset();
    auto r = open_sqlite_registry(root_);
    ASSERT_TRUE(r.ok()) << r.error().message();
    reg_ = std::move(r).value();
  }
  static FunctionRecord make(const std::string& name, const std::string& pkg = "pkg-a") {
    FunctionRecord fn;
    fn.name = name;
    fn.runtime = "provided.al2023";
    fn.handler = "bootstrap";
    fn.package_id = pkg;
    fn.revision_id = "rev-" + name;
    return fn;
  }
  static AliasRecord alias(const std::string& fn, const std::string& name,
                           const std::string& version) {
    AliasRecord a;
    a.function = fn;
    a.name = name;
    a.function_version = version;
    a.revision_id = "alias-rev-1";
    return a;
  }

  std::string root_;
  std::unique_ptr<Registry> reg_;
};

TEST_F(VersionsRegistryTest, PublishNumbersFromOneAndNeverReuses) {
  ASSERT_TRUE(reg_->create(make("f")).ok());
  auto v1 = reg_->publish_version(make("f"));
  ASSERT_TRUE(v1.ok()) << v1.error().message();
  EXPECT_EQ(v1->version, "1");
  auto v2 = reg_->publish_version(make("f", "pkg-b"));
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->version, "2");
  ASSERT_TRUE(reg_->remove_version("f", "2").ok());
  auto v3 = reg_->publish_version(make("f"));
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(v3->version, "3");  // 2 is gone but not reused
  auto list = reg_->list_versions("f");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].version, "1");
  EXPECT_EQ((*list)[1].version, "3");
  auto got = reg_->get_version("f", "1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->package_id, "pkg-a");
  EXPECT_EQ(reg_->get_version("f", "2").error().code, Code::kNotFound);
  EXPECT_EQ(reg_->get_version("f", "01").error().code, Code::kNotFound);
  EXPECT_EQ(reg_->remove_version("f", "2").error().code, Code::kNotFound);
  EXPECT_EQ(reg_->publish_version(make("missing")).error().code, Code::kNotFound);
}

TEST_F(VersionsRegistryTest, SurvivesReopenAndVersionPackagesAreReferenced) {
  ASSERT_TRUE(reg_->create(make("f")).ok());
  ASSERT_TRUE(reg_->publish_version(make("f", "pkg-old")).ok());
  ASSERT_TRUE(reg_->create_alias(alias("f", "live", "1")).ok());
  ASSERT_TRUE(reg_->set_reserved_concurrency("f", 5).ok());
  reopen();
  EXPECT_EQ(reg_->get_version("f", "1")->package_id, "pkg-old");
  EXPECT_EQ(reg_->get_alias("f", "live")->function_version, "1");
  EXPECT_EQ(*reg_->reserved_concurrency("f").value(), 5);
  auto pkgs = reg_->referenced_packages();
  ASSERT_TRUE(pkgs.ok());
  EXPECT_EQ(*pkgs, (std::vector<std::string>{"pkg-a", "pkg-old"}));
}

TEST_F(VersionsRegistryTest, AliasesCrudWithRevisionPrecondition) {
  ASSERT_TRUE(reg_->create(make("f")).ok());
  AliasRecord a = alias("f", "live", "1");
  a.additional_weights["2"] = 0.25;
  ASSERT_TRUE(reg_->create_alias(a).ok());
  EXPECT_EQ(reg_->create_alias(a).error().code, Code::kConflict);
  ASSERT_TRUE(reg_->create_alias(alias("f", "beta", "$LATEST")).ok());
  auto got = reg_->get_alias("f", "live");
  ASSERT_TRUE(got.ok());
  EXPECT_DOUBLE_EQ(got->additional_weights.at("2"), 0.25);
  auto list = reg_->list_aliases("f");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "beta");

  AliasRecord changed = *got;
  changed.function_version = "3";
  changed.revision_id = "alias-rev-2";
  auto stale = reg_->update_alias(changed, std::string("nope"));
  EXPECT_TRUE(is_precondition_failed(stale.error()));
  ASSERT_TRUE(reg_->update_alias(changed, std::string("alias-rev-1")).ok());
  EXPECT_EQ(reg_->get_alias("f", "live")->function_version, "3");
  ASSERT_TRUE(reg_->remove_alias("f", "live").ok());
  EXPECT_EQ(reg_->get_alias("f", "live").error().code, Code::kNotFound);
  EXPECT_EQ(reg_->remove_alias("f", "live").error().code, Code::kNotFound);
}

TEST_F(VersionsRegistryTest, ConcurrencySetClearAndList) {
  ASSERT_TRUE(reg_->set_reserved_concurrency("a", 10).ok());
  ASSERT_TRUE(reg_->set_reserved_concurrency("b", 0).ok());
  ASSERT_TRUE(reg_->set_reserved_concurrency("a", 7).ok());
  auto all = reg_->reserved_concurrencies();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::map<std::string, int>{{"a", 7}, {"b", 0}}));
  ASSERT_TRUE(reg_->set_reserved_concurrency("a", std::nullopt).ok());
  EXPECT_FALSE(reg_->reserved_concurrency("a")->has_value());
  EXPECT_EQ(*reg_->reserved_concurrency("b").value(), 0);
}

TEST_F(VersionsRegistryTest, RemovingTheFunctionDropsEverythingAndRestartsNumbering) {
  ASSERT_TRUE(reg_->create(make("f")).ok());
  ASSERT_TRUE(reg_->publish_version(make("f")).ok());
  ASSERT_TRUE(reg_->publish_version(make("f")).ok());
  ASSERT_TRUE(reg_->create_alias(alias("f", "live", "1")).ok());
  ASSERT_TRUE(reg_->set_reserved_concurrency("f", 3).ok());
  ASSERT_TRUE(reg_->remove("f").ok());
  ASSERT_TRUE(reg_->create(make("f")).ok());
  EXPECT_TRUE(reg_->list_versions("f")->empty());
  EXPECT_TRUE(reg_->list_aliases("f")->empty());
  EXPECT_FALSE(reg_->reserved_concurrency("f")->has_value());
  EXPECT_EQ(reg_->publish_version(make("f"))->version, "1");
}

TEST_F(VersionsRegistryTest, FunctionUrlsPersistAndGoWithTheFunction) {
  ASSERT_TRUE(reg_->create(make("f")).ok());
  FunctionUrlRecord u;
  u.function = "f";
  u.url_id = "abcdefghijklmnopqrstuvwxyz012345";
  u.auth_type = "NONE";
  u.cors = R"({"AllowOrigins":["*"]})";
  u.creation_time = u.last_modified_time = "2026-01-01T00:00:00.000000Z";
  ASSERT_TRUE(reg_->create_function_url(u).ok());
  auto dup = reg_->create_function_url(u);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, Code::kConflict);
  FunctionUrlRecord aliased = u;
  aliased.qualifier = "live";
  aliased.url_id = "bbcdefghijklmnopqrstuvwxyz012345";
  ASSERT_TRUE(reg_->create_function_url(aliased).ok());
  u.auth_type = "AWS_IAM";
  ASSERT_TRUE(reg_->update_function_url(u).ok());
  ASSERT_TRUE(reg_->set_http_routes("f", {{"GET", "/items/{id}", "2.0"}}).ok());
  reopen();
  auto got = reg_->get_function_url("f", "");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->auth_type, "AWS_IAM");
  EXPECT_EQ(got->cors, R"({"AllowOrigins":["*"]})");
  auto all = reg_->list_function_urls("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  auto routes = reg_->http_routes();
  ASSERT_TRUE(routes.ok());
  ASSERT_EQ(routes->at("f").size(), 1u);
  EXPECT_EQ(routes->at("f")[0].path, "/items/{id}");
  ASSERT_TRUE(reg_->remove_function_url("f", "live").ok());
  EXPECT_EQ(reg_->remove_function_url("f", "live").error().code, Code::kNotFound);
  ASSERT_TRUE(reg_->remove("f").ok());
  EXPECT_TRUE(reg_->list_function_urls("")->empty());
  EXPECT_TRUE(reg_->http_routes()->empty());
  EXPECT_EQ(reg_->get_function_url("f", "").error().code, Code::kNotFound);
}

}  // namespace
}  // namespace lambdad::registry
