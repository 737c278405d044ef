// The probe bootstrap (tests/probe) run as a child process against the fake Runtime API.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fake_runtime_api.h"

namespace {

using lambdad::sdk_test::FakeRuntimeApi;
using lambdad::sdk_test::Recorded;

struct ProbeRun {
  int wait_status = 0;
  std::vector<Recorded> posts;
};

// Runs the probe until it exits: it exits 1 once the fake answers /next with 500 (no events
// left), or earlier by its own action.
ProbeRun run_probe(FakeRuntimeApi& api, const std::vector<std::string>& extra_env = {}) {
  std::vector<std::string> env = {"AWS_LAMBDA_RUNTIME_API=" + api.address(),
                                  "AWS_LAMBDA_FUNCTION_NAME=probe-test"};
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char path[] = LAMBDAD_PROBE_PATH;
  char* argv[] = {path, nullptr};
  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, STDOUT_FILENO);
    ::dup2(devnull, STDERR_FILENO);
    ::execve(path, argv, envp.data());
    ::_exit(127);
  }
  ProbeRun run;
  ::waitpid(pid, &run.wait_status, 0);
  run.posts = api.posts();
  return run;
}

TEST(ProbeTest, EchoesEventsAndCountsInvocations) {
  FakeRuntimeApi api;
  api.add_next("id-1", R"({"action":"echo","x":[1,2]})");
  api.add_next("id-2", R"({"action":"counter"})");
  api.add_next("id-3", R"({"action" : "counter"})");
  auto run = run_probe(api);
  ASSERT_TRUE(WIFEXITED(run.wait_status));
  ASSERT_EQ(run.posts.size(), 3u);
  EXPECT_EQ(run.posts[0].body, R"({"action":"echo","x":[1,2]})");
  EXPECT_EQ(run.posts[1].body, "2");
  EXPECT_EQ(run.posts[2].body, "3");
}

TEST(ProbeTest, ErrorActionPostsProbeError) {
  FakeRuntimeApi api;
  api.add_next("id-1", R"({"action":"error","message":"as asked"})");
  auto run = run_probe(api);
  ASSERT_EQ(run.posts.size(), 1u);
  EXPECT_EQ(run.posts[0].path, "/2018-06-01/runtime/invocation/id-1/error");
  EXPECT_EQ(run.posts[0].headers["lambda-runtime-function-error-type"], "ProbeError");
  EXPECT_EQ(run.posts[0].body,
            R"({"errorMessage":"as asked","errorType":"ProbeError","stackTrace":[]})");
}

TEST(ProbeTest, EnvBigSleepPrintAndAllocAnswer) {
  FakeRuntimeApi api;
  api.add_next("id-1", R"({"action":"env"})");
  api.add_next("id-2", R"({"action":"big","bytes":1000})");
  api.add_next("id-3", R"({"action":"sleep","ms":1})");
  api.add_next("id-4", R"({"action":"print","text":"hello\nworld"})");
  api.add_next("id-5", R"({"action":"alloc","mb":4})");
  auto run = run_probe(api);
  ASSERT_EQ(run.posts.size(), 5u);
  EXPECT_NE(run.posts[0].body.find(R"("AWS_LAMBDA_FUNCTION_NAME":"probe-test")"), std::string::npos)
      << run.posts[0].body;
  EXPECT_EQ(run.posts[1].body.size(), 1000u);
  EXPECT_EQ(run.posts[1].body.front(), '"');
  EXPECT_EQ(run.posts[1].body.back(), '"');
  EXPECT_EQ(run.posts[2].body, R"({"slept_ms":1})");
  EXPECT_EQ(run.posts[3].body, R"({"printed":11})");
  EXPECT_EQ(run.posts[4].body, R"({"allocated_mb":4})");
}

TEST(ProbeTest, CrashExitsWithTheGivenCodeWithoutAnswering) {
  FakeRuntimeApi api;
  api.add_next("id-1", R"({"action":"crash","code":7})");
  auto run = run_probe(api);
  ASSERT_TRUE(WIFEXITED(run.wait_status));
  EXPECT_EQ(WEXITSTATUS(run.wait_status), 7);
  EXPECT_TRUE(run.posts.empty());
}

TEST(ProbeTest, SignalActionDiesOfSigsegv) {
  FakeRuntimeApi api;
  api.add_next("id-1", R"({"action":"signal"})");
  auto run = run_probe(api);
  ASSERT_TRUE(WIFSIGNALED(run.wait_status));
  EXPECT_EQ(WTERMSIG(run.wait_status), SIGSEGV);
}

TEST(ProbeTest, InitCrashExitsThreeBeforeAnyRequest) {
  FakeRuntimeApi api;
  api.add_next("id-1", "{}");
  auto run = run_probe(api, {"PROBE_INIT=crash"});
  ASSERT_TRUE(WIFEXITED(run.wait_status));
  EXPECT_EQ(WEXITSTATUS(run.wait_status), 3);
  EXPECT_EQ(api.connections(), 0);
}

TEST(ProbeTest, InitErrorPostsInitError) {
  FakeRuntimeApi api;
  auto run = run_probe(api, {"PROBE_INIT=error"});
  ASSERT_TRUE(WIFEXITED(run.wait_status));
  EXPECT_NE(WEXITSTATUS(run.wait_status), 0);
  ASSERT_EQ(run.posts.size(), 1u);
  EXPECT_EQ(run.posts[0].path, "/2018-06-01/runtime/init/error");
  EXPECT_EQ(run.posts[0].headers["lambda-runtime-function-error-type"], "ProbeInitError");
}

}  // namespace
