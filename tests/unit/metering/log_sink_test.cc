#include "metering/log_sink.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "metering/usage.h"

namespace lambdad::metering {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/lambdad-metering-XXXXXX";
  return ::mkdtemp(tmpl);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LogSinkTest, AppendsInOrderAndRotatesPastTheBound) {
  const std::string dir = temp_dir();
  {
    LogSink sink(dir + "/logs", 100);
    sink.append("fn", std::string(60, 'a'));
    sink.append("fn", std::string(60, 'b'));  // file now 120 bytes, over the bound
    sink.append("fn", "c");                   // rotates first
    sink.flush();
  }
  EXPECT_EQ(slurp(dir + "/logs/fn.log.1"), std::string(60, 'a') + std::string(60, 'b'));
  EXPECT_EQ(slurp(dir + "/logs/fn.log"), "c");
}

TEST(LogSinkTest, DropsWhatWouldOverfillTheQueueAndCountsIt) {
  const std::string dir = temp_dir();
  LogSink sink(dir + "/logs", 1 << 20);
  const size_t too_much = LogSink::kMaxQueuedBytes + 1;
  sink.append("fn", std::string(too_much, 'x'));  // more than the queue may hold: dropped
  sink.append("fn", "kept\n");
  sink.flush();
  EXPECT_EQ(sink.dropped_bytes(), too_much);
  EXPECT_EQ(slurp(dir + "/logs/fn.log"), "kept\n");
}

TEST(UsageRecorderTest, RecordsAreSummarizedPerFunction) {
  const std::string dir = temp_dir();
  {
    auto rec = UsageRecorder::open(dir);
    ASSERT_TRUE(rec.ok());
    for (int i = 1; i <= 10; ++i) {
      UsageRecord r;
      r.timestamp_ms = 1000 + i;
      r.function = i <= 7 ? "a" : "b";
      r.duration_us = i * 1000;
      r.billed_ms = i;
      r.memory_mb = 256;
      r.status = i == 3 ? "error" : "ok";
      r.cost_pico = 10;
      (*rec)->record(r);
    }
    (*rec)->flush();
  }
  auto all = summarize_usage(dir, "", 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].function, "a");
  EXPECT_EQ((*all)[0].invocations, 7);
  EXPECT_EQ((*all)[0].errors, 1);
  EXPECT_EQ((*all)[0].billed_ms, 28);
  EXPECT_EQ((*all)[0].gb_ms_x1024, 28 * 256);
  EXPECT_EQ((*all)[0].cost_pico, 70);
  EXPECT_EQ((*all)[1].invocations, 3);
  auto only_b = summarize_usage(dir, "b", 0);
  ASSERT_TRUE(only_b.ok());
  ASSERT_EQ(only_b->size(), 1u);
  EXPECT_EQ((*only_b)[0].p50_duration_us, 9000);
}

}  // namespace
}  // namespace lambdad::metering
