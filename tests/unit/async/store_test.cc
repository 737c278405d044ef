#include "async/store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace lambdad::async {
namespace {

class AsyncStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lambdad-async-store-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> open() {
    auto s = Store::open(dir_);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message());
    return s.ok() ? std::move(*s) : nullptr;
  }

  static Event event(const std::string& id, const std::string& fn = "f") {
    Event e;
    e.request_id = id;
    e.function = fn;
    e.payload = "{\"id\":\"" + id + "\"}";
    e.enqueued_ms = 1000;
    e.next_ms = 1000;
    return e;
  }

  std::string dir_;
};

TEST_F(AsyncStoreTest, InsertAssignsIncreasingSeqsAndReadsInOrder) {
  auto s = open();
  ASSERT_TRUE(s->begin().ok());
  std::vector<Event> evs = {event("a"), event("b"), event("c", "g")};
  for (auto& e : evs) ASSERT_TRUE(s->insert(e).ok());
  ASSERT_TRUE(s->commit().ok());
  EXPECT_LT(evs[0].seq, evs[1].seq);
  EXPECT_LT(evs[1].seq, evs[2].seq);
  auto all = s->read_after(0, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].function, "g");
  EXPECT_EQ((*all)[1].payload, "{\"id\":\"b\"}");
  auto page = s->read_after(evs[0].seq, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].request_id, "b");
  auto depths = s->depths();
  ASSERT_TRUE(depths.ok());
  ASSERT_EQ(depths->size(), 2u);
  EXPECT_EQ((*depths)[0].depth, 2);
}

TEST_F(AsyncStoreTest, SeqsNeverGoBackwardsAfterDeletingTheNewest) {
  auto s = open();
  Event a = event("a"), b = event("b");
  ASSERT_TRUE(s->insert(a).ok());
  ASSERT_TRUE(s->insert(b).ok());
  ASSERT_TRUE(s->remove(b.seq).ok());
  auto top = s->max_seq();
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(*top, b.seq);
  Event c = event("c");
  ASSERT_TRUE(s->insert(c).ok());
  EXPECT_GT(c.seq, b.seq);
}

TEST_F(AsyncStoreTest, EventsAndReschedulesSurviveReopen) {
  int64_t seq = 0;
  {
    auto s = open();
    Event a = event("a");
    ASSERT_TRUE(s->insert(a).ok());
    seq = a.seq;
    ASSERT_TRUE(s->reschedule(seq, 2, 5000).ok());
  }
  auto s = open();
  auto all = s->read_after(0, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].seq, seq);
  EXPECT_EQ((*all)[0].attempts, 2);
  EXPECT_EQ((*all)[0].next_ms, 5000);
}

TEST_F(AsyncStoreTest, RolledBackInsertsAreGone) {
  auto s = open();
  ASSERT_TRUE(s->begin().ok());
  Event a = event("a");
  ASSERT_TRUE(s->insert(a).ok());
  s->rollback();
  auto all = s->read_after(0, 10);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(AsyncStoreTest, ConfigsReplaceAndDelete) {
  auto s = open();
  EventInvokeConfig c;
  c.function = "f";
  c.max_retry_attempts = 0;
  c.on_failure = "arn:aws:lambda:us-east-1:000000000000:function:d";
  c.last_modified_ms = 1234;
  ASSERT_TRUE(s->put_config(c).ok());
  c.max_retry_attempts.reset();
  c.max_event_age_s = 60;
  ASSERT_TRUE(s->put_config(c).ok());
  auto all = s->configs();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_FALSE((*all)[0].max_retry_attempts.has_value());
  EXPECT_EQ((*all)[0].max_event_age_s, 60);
  EXPECT_EQ((*all)[0].on_failure, c.on_failure);
  EXPECT_EQ((*all)[0].qualifier, "$LATEST");
  auto del = s->delete_config("f", "$LATEST");
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE(*del);
  del = s->delete_config("f", "$LATEST");
  ASSERT_TRUE(del.ok());
  EXPECT_FALSE(*del);
}

}  // namespace
}  // namespace lambdad::async
