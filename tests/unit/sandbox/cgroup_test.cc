#include "sandbox/cgroup.h"

#include <gtest/gtest.h>

namespace lambdad::sandbox {
namespace {

TEST(CgroupLimitsTest, MemoryIsMemorySizeInMiB) {
  EXPECT_EQ(limits_for(128, 2, 1024).memory_bytes, 128LL << 20);
  EXPECT_EQ(limits_for(10240, 2, 1024).memory_bytes, 10240LL << 20);
}

TEST(CgroupLimitsTest, CpuQuotaIsMemoryOver1769CappedAtHostCores) {
  struct Case {
    int mb;
    int cores;
    int64_t quota_us;
  } cases[] = {
      {128, 8, 7235},      // 128/1769 of a 100 ms period
      {1769, 8, 100000},   // one vCPU
      {3538, 8, 200000},   // two
      {10240, 8, 578858},  // ~5.79
      {10240, 2, 200000},  // capped at the host
      {1, 8, 1000},        // floor: the kernel refuses tiny quotas
  };
  for (const auto& c : cases) {
    const CgroupLimits l = limits_for(c.mb, c.cores, 1024);
    EXPECT_EQ(l.cpu_period_us, 100000) << c.mb;
    EXPECT_EQ(l.cpu_quota_us, c.quota_us) << c.mb << " MB on " << c.cores << " cores";
  }
  EXPECT_EQ(cpu_max_line(limits_for(1769, 4, 1024)), "100000 100000");
}

TEST(CgroupLimitsTest, PidsLimitPassesThrough) {
  EXPECT_EQ(limits_for(128, 1, 1024).pids_max, 1024);
}

TEST(CgroupPathTest, FindsV1ControllerIncludingJointHierarchies) {
  const std::string text =
      "12:pids:/a/b\n4:memory:/process_api/x\n3:cpu,cpuacct:/svc\n0::/unified\n";
  EXPECT_EQ(own_cgroup_path(text, "memory"), "/process_api/x");
  EXPECT_EQ(own_cgroup_path(text, "cpu"), "/svc");
  EXPECT_EQ(own_cgroup_path(text, "cpuacct"), "/svc");
  EXPECT_EQ(own_cgroup_path(text, "pids"), "/a/b");
  EXPECT_EQ(own_cgroup_path(text, "freezer"), std::nullopt);
  EXPECT_EQ(own_cgroup_path(text, ""), "/unified");
}

TEST(CgroupPathTest, FindsV2Path) {
  EXPECT_EQ(own_cgroup_path("0::/user.slice/x.scope\n", ""), "/user.slice/x.scope");
  EXPECT_EQ(own_cgroup_path("4:memory:/m\n", ""), std::nullopt);
}

TEST(CgroupKeyedTest, ReadsOomKillFromV1AndV2Files) {
  EXPECT_EQ(keyed_value("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill"), 3);
  EXPECT_EQ(keyed_value("low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n", "oom_kill"),
            1);
  EXPECT_EQ(keyed_value("low 0\n", "oom_kill"), std::nullopt);
}

}  // namespace
}  // namespace lambdad::sandbox
