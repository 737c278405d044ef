#include "sandbox/cgroup.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

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

// ---- CgroupManager against a fake cgroupfs: plain files in a temp dir. Real cgroupfs creates
// a group's control files on mkdir; the fake tree has them made up front, so every file the
// code writes must already exist (a wrong file name fails the test with ENOENT).

namespace fs = std::filesystem;

class FakeCgroupFs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lambdad-fake-cgroup-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    pid_ = std::to_string(::getpid());
  }
  void TearDown() override { fs::remove_all(root_); }

  void touch(const std::string& path, const std::string& text = "") {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
  }
  std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void touch_all(const std::string& dir, std::initializer_list<const char*> files) {
    for (const char* f : files) touch(dir + "/" + f);
  }

  std::string root_;
  std::string pid_;
};

TEST_F(FakeCgroupFs, V2LayoutWritesLimitsReadsPeakFreezesAndSeesOom) {
  touch(root_ + "/cgroup.controllers", "cpuset cpu io memory pids\n");
  const std::string own = root_ + "/user.slice/srv";
  touch(own + "/cgroup.subtree_control");
  touch(own + "/lambdad/cgroup.subtree_control");
  const std::string base = own + "/lambdad/" + pid_;
  touch(base + "/cgroup.subtree_control");
  const std::string env = base + "/env-1";
  touch_all(env, {"memory.max", "memory.swap.max", "cpu.max", "pids.max", "cgroup.procs",
                  "cgroup.freeze"});
  // A directory left by a server that is gone is removed at start.
  fs::create_directories(own + "/lambdad/999999999");

  auto m = CgroupManager::open(root_, "0::/user.slice/srv\n");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ((*m)->version(), CgroupVersion::kV2);
  EXPECT_EQ((*m)->bases(), std::vector<std::string>{base});
  EXPECT_EQ(read(own + "/cgroup.subtree_control"), "+memory +cpu +pids");
  EXPECT_EQ(read(base + "/cgroup.subtree_control"), "+memory +cpu +pids");
  EXPECT_FALSE(fs::exists(own + "/lambdad/999999999"));

  auto cg = (*m)->create("env-1", 1769);
  ASSERT_TRUE(cg) << cg.error().message();
  EXPECT_EQ((*cg)->dirs(), std::vector<std::string>{env});
  EXPECT_EQ(read(env + "/memory.max"), std::to_string(1769LL << 20));
  EXPECT_EQ(read(env + "/memory.swap.max"), "0");
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(read(env + "/cpu.max"), cpu_max_line(limits_for(1769, cores, 1024)));
  EXPECT_EQ(read(env + "/pids.max"), "1024");
  EXPECT_EQ((*cg)->procs_fds().size(), 1u);

  EXPECT_EQ((*cg)->peak_memory_mb(), std::nullopt);  // no memory.peak yet (kernel < 5.19)
  touch(env + "/memory.peak", std::to_string((100LL << 20) + 1) + "\n");
  EXPECT_EQ((*cg)->peak_memory_mb(), 101);

  EXPECT_TRUE((*cg)->set_frozen(true));
  EXPECT_EQ(read(env + "/cgroup.freeze"), "1");
  EXPECT_TRUE((*cg)->set_frozen(false));
  EXPECT_EQ(read(env + "/cgroup.freeze"), "0");

  touch(env + "/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\noom_group_kill 0\n");
  EXPECT_EQ((*cg)->oom_kills(), 0);
  touch(env + "/memory.events", "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\noom_group_kill 0\n");
  EXPECT_EQ((*cg)->oom_kills(), 1);
}

TEST_F(FakeCgroupFs, V2MissingControlFileIsAnError) {
  touch(root_ + "/cgroup.controllers");
  touch(root_ + "/cgroup.subtree_control");
  touch(root_ + "/lambdad/cgroup.subtree_control");
  touch(root_ + "/lambdad/" + pid_ + "/cgroup.subtree_control");
  touch_all(root_ + "/lambdad/" + pid_ + "/env-1", {"memory.max", "pids.max", "cgroup.procs"});
  auto m = CgroupManager::open(root_, "0::/\n");
  ASSERT_TRUE(m) << m.error().message();
  auto cg = (*m)->create("env-1", 128);  // no cpu.max: the cpu controller is not enabled
  ASSERT_FALSE(cg);
  EXPECT_NE(cg.error().message().find("cpu.max"), std::string::npos) << cg.error().message();
}

TEST_F(FakeCgroupFs, V1LayoutUsesOneHierarchyPerControllerAndJointCpuMount) {
  // No cgroup.controllers at the root: v1. cpu is mounted jointly as cpu,cpuacct.
  const std::string self = "9:pids:/\n8:freezer:/f\n4:memory:/process_api/x\n2:cpu,cpuacct:/\n";
  const std::string mem = root_ + "/memory/process_api/x/lambdad/" + pid_ + "/env-1";
  const std::string cpu = root_ + "/cpu,cpuacct/lambdad/" + pid_ + "/env-1";
  const std::string pids = root_ + "/pids/lambdad/" + pid_ + "/env-1";
  const std::string frz = root_ + "/freezer/f/lambdad/" + pid_ + "/env-1";
  touch_all(mem, {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "cgroup.procs"});
  touch_all(cpu, {"cpu.cfs_period_us", "cpu.cfs_quota_us", "cgroup.procs"});
  touch_all(pids, {"pids.max", "cgroup.procs"});
  touch_all(frz, {"freezer.state", "cgroup.procs"});

  auto m = CgroupManager::open(root_, self);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ((*m)->version(), CgroupVersion::kV1);
  auto cg = (*m)->create("env-1", 128);
  ASSERT_TRUE(cg) << cg.error().message();
  EXPECT_EQ((*cg)->dirs(), (std::vector<std::string>{mem, cpu, pids, frz}));
  EXPECT_EQ(read(mem + "/memory.limit_in_bytes"), std::to_string(128LL << 20));
  EXPECT_EQ(read(mem + "/memory.memsw.limit_in_bytes"), std::to_string(128LL << 20));
  EXPECT_EQ(read(cpu + "/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(read(cpu + "/cpu.cfs_quota_us"), "7235");
  EXPECT_EQ(read(pids + "/pids.max"), "1024");
  EXPECT_EQ((*cg)->procs_fds().size(), 4u);

  touch(mem + "/memory.max_usage_in_bytes", std::to_string(64LL << 20) + "\n");
  EXPECT_EQ((*cg)->peak_memory_mb(), 64);

  EXPECT_TRUE((*cg)->set_frozen(true));
  EXPECT_EQ(read(frz + "/freezer.state"), "FROZEN");
  EXPECT_TRUE((*cg)->set_frozen(false));
  EXPECT_EQ(read(frz + "/freezer.state"), "THAWED");

  touch(mem + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  EXPECT_EQ((*cg)->oom_kills(), 2);
}

TEST_F(FakeCgroupFs, V1WithoutAControllerIsUnavailable) {
  auto m = CgroupManager::open(root_, "4:memory:/\n1:cpu:/\n");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Code::kUnavailable);
  EXPECT_NE(m.error().message().find("pids"), std::string::npos) << m.error().message();
}

}  // namespace
}  // namespace lambdad::sandbox
