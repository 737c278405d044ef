#include "schedule/store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>

#include "schedule/scheduler.h"

namespace lambdad::schedule {
namespace {

class ScheduleStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lambdad-schedule-store-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> open() {
    auto s = Store::open(dir_);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message());
    return s.ok() ? std::move(*s) : nullptr;
  }

  static Schedule schedule(const std::string& name) {
    Schedule s;
    s.name = name;
    s.function = "fn";
    s.expression = "rate(5 minutes)";
    s.created_ms = 1000;
    return s;
  }

  std::string dir_;
};

TEST_F(ScheduleStoreTest, InsertRefusesAnExistingNameAndUpsertReplaces) {
  auto s = open();
  ASSERT_TRUE(s->insert(schedule("a")).ok());
  auto again = s->insert(schedule("a"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Code::kConflict);
  Schedule b = schedule("a");
  b.expression = "cron(0 12 * * ? *)";
  b.enabled = false;
  b.input = "{\"k\":1}";
  b.qualifier = "live";
  b.managed_by = "sam";
  ASSERT_TRUE(s->upsert(b).ok());
  auto all = s->all();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].expression, "cron(0 12 * * ? *)");
  EXPECT_FALSE((*all)[0].enabled);
  EXPECT_EQ((*all)[0].input, std::optional<std::string>("{\"k\":1}"));
  EXPECT_EQ((*all)[0].qualifier, "live");
  EXPECT_EQ((*all)[0].managed_by, "sam");
}

TEST_F(ScheduleStoreTest, PersistsAcrossReopenWithLastFiredAndRemoves) {
  {
    auto s = open();
    ASSERT_TRUE(s->insert(schedule("b")).ok());
    ASSERT_TRUE(s->insert(schedule("a")).ok());
    ASSERT_TRUE(s->set_last_fired("a", 123456).ok());
  }
  auto s = open();
  auto all = s->all();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "a");  // by name
  EXPECT_EQ((*all)[0].last_fired_ms, 123456);
  EXPECT_EQ((*all)[0].input, std::nullopt);
  EXPECT_EQ((*all)[1].last_fired_ms, 0);
  auto removed = s->remove("a");
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  removed = s->remove("a");
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE(*removed);
  EXPECT_EQ(s->all()->size(), 1u);
}

TEST(ScheduledEventTest, HasEventBridgeShapeAndKeyOrder) {
  const Time t = Time(std::chrono::sys_days(std::chrono::year(2019) / 3 / 1)) +
                 std::chrono::hours(1) + std::chrono::minutes(23) + std::chrono::seconds(45);
  const std::string ev =
      scheduled_event("cdc73f9d-aea9-11e3-9d5a-835b769c0d9c", t, "us-east-2", "123456789012",
                      "arn:aws:events:us-east-2:123456789012:rule/my-schedule");
  EXPECT_EQ(ev,
            "{\"version\":\"0\",\"id\":\"cdc73f9d-aea9-11e3-9d5a-835b769c0d9c\","
            "\"detail-type\":\"Scheduled Event\",\"source\":\"aws.events\","
            "\"account\":\"123456789012\",\"time\":\"2019-03-01T01:23:45Z\","
            "\"region\":\"us-east-2\","
            "\"resources\":[\"arn:aws:events:us-east-2:123456789012:rule/my-schedule\"],"
            "\"detail\":{}}");
}

}  // namespace
}  // namespace lambdad::schedule
