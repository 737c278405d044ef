#include "registry/registry.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace lambdad::registry {
namespace {

namespace fs = std::filesystem;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "lambdad-registry-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    // A data dir that does not exist yet: open must create it.
    data_dir_ = (fs::path(root_) / "data").string();
    reopen();
  }
  void TearDown() override {
    reg_.reset();
    fs::remove_all(root_);
  }

  void reopen() {
    reg_.reset();
    auto r = open_sqlite_registry(data_dir_);
    ASSERT_TRUE(r.ok()) << r.error().message();
    reg_ = std::move(r).value();
  }

  static FunctionRecord make(const std::string& name) {
    FunctionRecord fn;
    fn.name = name;
    fn.runtime = "provided.al2023";
    fn.handler = "bootstrap";
    fn.role = "arn:aws:iam::123456789012:role/r";
    fn.package_id = "pkg-" + name;
    fn.revision_id = "rev-1-" + name;
    return fn;
  }

  std::string root_;
  std::string data_dir_;
  std::unique_ptr<Registry> reg_;
};

TEST_F(RegistryTest, CreateThenGetRoundTripsEveryField) {
  FunctionRecord fn = make("f1");
  fn.description = "hello \"quoted\" \n newline";
  fn.memory_mb = 1769;
  fn.timeout_s = 900;
  fn.ephemeral_mb = 10240;
  fn.architecture = "arm64";
  fn.environment = {{"A", "1"}, {"UNICODE", "h\xC3\xA9llo"}, {"EMPTY", ""}};
  fn.tags = {{"team", "core"}};
  fn.code_sha256 = "YFgDgEKG3ugvF1+pX64gV6tu9qNuIYNUdgJm8nCxsm4=";
  fn.code_size = 5'000'000'000LL;
  fn.last_modified = "2024-01-02T03:04:05.678+0000";
  fn.generation = 42;
  ASSERT_TRUE(reg_->create(fn).ok());

  auto got = reg_->get("f1");
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->name, "f1");
  EXPECT_EQ(got->runtime, fn.runtime);
  EXPECT_EQ(got->handler, fn.handler);
  EXPECT_EQ(got->role, fn.role);
  EXPECT_EQ(got->description, fn.description);
  EXPECT_EQ(got->memory_mb, 1769);
  EXPECT_EQ(got->timeout_s, 900);
  EXPECT_EQ(got->ephemeral_mb, 10240);
  EXPECT_EQ(got->architecture, "arm64");
  EXPECT_EQ(got->environment, fn.environment);
  EXPECT_EQ(got->tags, fn.tags);
  EXPECT_EQ(got->code_sha256, fn.code_sha256);
  EXPECT_EQ(got->code_size, 5'000'000'000LL);
  EXPECT_EQ(got->package_id, "pkg-f1");
  EXPECT_EQ(got->last_modified, fn.last_modified);
  EXPECT_EQ(got->revision_id, "rev-1-f1");
  EXPECT_EQ(got->generation, 42);
}

TEST_F(RegistryTest, CreateFillsEmptyRevisionIdAndLastModified) {
  FunctionRecord fn = make("f");
  fn.revision_id.clear();
  fn.last_modified.clear();
  ASSERT_TRUE(reg_->create(fn).ok());
  auto got = reg_->get("f");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->revision_id.size(), 36u);
  EXPECT_EQ(got->last_modified.size(), std::string("2024-01-02T03:04:05.678+0000").size());
}

TEST_F(RegistryTest, CreateExistingNameIsConflictWithLambdaWording) {
  ASSERT_TRUE(reg_->create(make("dup")).ok());
  FunctionRecord other = make("dup");
  other.memory_mb = 512;
  auto r = reg_->create(other);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kConflict);
  EXPECT_EQ(r.error().context, "Function already exist: dup");
  EXPECT_FALSE(is_precondition_failed(r.error()));
  // The first record is untouched.
  EXPECT_EQ(reg_->get("dup")->memory_mb, 128);
}

TEST_F(RegistryTest, GetMissingIsNotFound) {
  auto r = reg_->get("nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kNotFound);
}

TEST_F(RegistryTest, RemoveDeletesAndRemoveMissingIsNotFound) {
  ASSERT_TRUE(reg_->create(make("f")).ok());
  ASSERT_TRUE(reg_->remove("f").ok());
  EXPECT_EQ(reg_->get("f").error().code, Code::kNotFound);
  auto again = reg_->remove("f");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Code::kNotFound);
  // The name is free again.
  EXPECT_TRUE(reg_->create(make("f")).ok());
}

TEST_F(RegistryTest, UpdateReplacesRecord) {
  ASSERT_TRUE(reg_->create(make("f")).ok());
  FunctionRecord fn = make("f");
  fn.memory_mb = 2048;
  fn.environment = {{"K", "V"}};
  fn.revision_id = "rev-2";
  fn.generation = 1;
  ASSERT_TRUE(reg_->update(fn, std::nullopt).ok());
  auto got = reg_->get("f");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->memory_mb, 2048);
  EXPECT_EQ(got->environment, fn.environment);
  EXPECT_EQ(got->revision_id, "rev-2");
  EXPECT_EQ(got->generation, 1);
}

TEST_F(RegistryTest, UpdateWithMatchingRevisionSucceeds) {
  ASSERT_TRUE(reg_->create(make("f")).ok());
  FunctionRecord fn = make("f");
  fn.revision_id = "rev-2";
  ASSERT_TRUE(reg_->update(fn, std::string("rev-1-f")).ok());
  EXPECT_EQ(reg_->get("f")->revision_id, "rev-2");
}

TEST_F(RegistryTest, UpdateWithStaleRevisionIsPreconditionFailed) {
  ASSERT_TRUE(reg_->create(make("f")).ok());
  FunctionRecord fn = make("f");
  fn.memory_mb = 4096;
  fn.revision_id = "rev-2";
  auto r = reg_->update(fn, std::string("some-older-revision"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kConflict);
  EXPECT_TRUE(r.error().context.starts_with("PreconditionFailed:")) << r.error().context;
  EXPECT_TRUE(is_precondition_failed(r.error()));
  // Nothing was written.
  auto got = reg_->get("f");
  EXPECT_EQ(got->memory_mb, 128);
  EXPECT_EQ(got->revision_id, "rev-1-f");
}

TEST_F(RegistryTest, UpdateMissingIsNotFound) {
  auto r = reg_->update(make("ghost"), std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kNotFound);
  auto r2 = reg_->update(make("ghost"), std::string("rev"));
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, Code::kNotFound);
  EXPECT_EQ(reg_->get("ghost").error().code, Code::kNotFound);
}

TEST_F(RegistryTest, ListPaginatesSortedByName) {
  // Inserted out of order; listing must sort.
  for (const char* n : {"e", "a", "d", "b", "c"}) ASSERT_TRUE(reg_->create(make(n)).ok());

  auto p1 = reg_->list("", 2);
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->functions.size(), 2u);
  EXPECT_EQ(p1->functions[0].name, "a");
  EXPECT_EQ(p1->functions[1].name, "b");
  ASSERT_TRUE(p1->next_marker.has_value());
  EXPECT_EQ(*p1->next_marker, "b");

  auto p2 = reg_->list(*p1->next_marker, 2);
  ASSERT_TRUE(p2.ok());
  ASSERT_EQ(p2->functions.size(), 2u);
  EXPECT_EQ(p2->functions[0].name, "c");
  EXPECT_EQ(p2->functions[1].name, "d");
  ASSERT_TRUE(p2->next_marker.has_value());

  auto p3 = reg_->list(*p2->next_marker, 2);
  ASSERT_TRUE(p3.ok());
  ASSERT_EQ(p3->functions.size(), 1u);
  EXPECT_EQ(p3->functions[0].name, "e");
  EXPECT_FALSE(p3->next_marker.has_value());
}

TEST_F(RegistryTest, ListExactPageHasNoNextMarker) {
  for (const char* n : {"a", "b"}) ASSERT_TRUE(reg_->create(make(n)).ok());
  auto p = reg_->list("", 2);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->functions.size(), 2u);
  EXPECT_FALSE(p->next_marker.has_value());
}

TEST_F(RegistryTest, ListEmptyAndDefaultPageSize) {
  auto empty = reg_->list("", 10);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->functions.empty());
  EXPECT_FALSE(empty->next_marker.has_value());

  for (int i = 0; i < 60; ++i) {
    char name[16];
    snprintf(name, sizeof name, "f%03d", i);
    ASSERT_TRUE(reg_->create(make(name)).ok());
  }
  // max_items <= 0 means Lambda's default page of 50.
  auto p = reg_->list("", 0);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->functions.size(), 50u);
  ASSERT_TRUE(p->next_marker.has_value());
  EXPECT_EQ(*p->next_marker, "f049");
}

TEST_F(RegistryTest, ReferencedPackagesAreDistinctAndSkipEmpty) {
  FunctionRecord a = make("a");
  a.package_id = "p1";
  FunctionRecord b = make("b");
  b.package_id = "p1";
  FunctionRecord c = make("c");
  c.package_id = "p2";
  FunctionRecord d = make("d");
  d.package_id = "";
  for (auto* fn : {&a, &b, &c, &d}) ASSERT_TRUE(reg_->create(*fn).ok());
  auto ids = reg_->referenced_packages();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"p1", "p2"}));

  c.package_id = "p3";
  ASSERT_TRUE(reg_->update(c, std::nullopt).ok());
  EXPECT_EQ(*reg_->referenced_packages(), (std::vector<std::string>{"p1", "p3"}));
}

TEST_F(RegistryTest, UsesWalFileInDataDir) {
  ASSERT_TRUE(reg_->create(make("f")).ok());
  EXPECT_TRUE(fs::exists(fs::path(data_dir_) / "registry.db"));
  EXPECT_TRUE(fs::exists(fs::path(data_dir_) / "registry.db-wal"));
}

TEST_F(RegistryTest, FunctionsSurviveReopen) {
  FunctionRecord fn = make("persist");
  fn.environment = {{"X", "y"}};
  ASSERT_TRUE(reg_->create(fn).ok());
  ASSERT_TRUE(reg_->create(make("gone")).ok());
  ASSERT_TRUE(reg_->remove("gone").ok());
  fn.revision_id = "rev-2";
  ASSERT_TRUE(reg_->update(fn, std::string("rev-1-persist")).ok());

  reopen();  // also re-runs the migration step on an up-to-date schema

  auto got = reg_->get("persist");
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->environment, fn.environment);
  EXPECT_EQ(got->revision_id, "rev-2");
  EXPECT_EQ(reg_->get("gone").error().code, Code::kNotFound);
  auto page = reg_->list("", 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->functions.size(), 1u);
}

TEST_F(RegistryTest, ConcurrentCallsFromEightThreadsAreSafe) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  ASSERT_TRUE(reg_->create(make("shared")).ok());
  std::atomic<int> failures{0};
  std::atomic<int> shared_conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!reg_->create(make(name)).ok()) ++failures;
        if (!reg_->get(name).ok()) ++failures;
        FunctionRecord fn = make(name);
        fn.memory_mb = 256;
        if (!reg_->update(fn, std::nullopt).ok()) ++failures;
        if (!reg_->list("", 5).ok()) ++failures;
        if (i % 2 == 0 && !reg_->remove(name).ok()) ++failures;
        // Everyone races to create the same name: exactly the existing row must win.
        auto dup = reg_->create(make("shared"));
        if (!dup.ok() && dup.error().code == Code::kConflict) ++shared_conflicts;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(shared_conflicts.load(), kThreads * kPerThread);

  auto page = reg_->list("", 10000);
  ASSERT_TRUE(page.ok());
  // Odd-indexed functions of every thread remain, plus "shared".
  EXPECT_EQ(page->functions.size(), static_cast<size_t>(kThreads * kPerThread / 2 + 1));
  for (const auto& fn : page->functions) {
    if (fn.name != "shared") {
      EXPECT_EQ(fn.memory_mb, 256) << fn.name;
    }
  }
}

TEST_F(RegistryTest, TwoRegistriesOnOneFileSeeEachOthersWrites) {
  auto second = open_sqlite_registry(data_dir_);
  ASSERT_TRUE(second.ok()) << second.error().message();
  ASSERT_TRUE(reg_->create(make("x")).ok());
  auto got = (*second)->get("x");
  ASSERT_TRUE(got.ok());
  auto dup = (*second)->create(make("x"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, Code::kConflict);
}

}  // namespace
}  // namespace lambdad::registry
