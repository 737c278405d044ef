// The invoker with the real process spawner and the probe bootstrap: warm reuse, deadlines,
// crashes, queue limits and draining on update. Runs a real io_context on this thread.
#include "invoke/invoker.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <filesystem>

namespace lambdad::invoke {
namespace {

namespace fs = std::filesystem;

class InvokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lambdad-invoker-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    fs::create_directories(dir_ + "/packages/probe/tree");
    fs::copy_file(PROBE_BOOTSTRAP, dir_ + "/packages/probe/tree/bootstrap");
    fs::create_directories(dir_ + "/packages/empty/tree");
    logs_ = std::make_unique<metering::LogSink>(dir_ + "/logs", 1 << 20);
    spawner_ = sandbox::make_process_spawner();
    Options o;
    o.packages_root = dir_ + "/packages";
    o.max_environments_per_function = 2;
    o.max_queue_per_function = 2;
    o.init_timeout = std::chrono::milliseconds(500);
    invoker_ = std::make_unique<Invoker>(io_, *spawner_, *logs_, nullptr, o);
  }
  void TearDown() override {
    invoker_->shutdown();
    invoker_.reset();
    fs::remove_all(dir_);
  }

  registry::FunctionRecord fn(const std::string& name, const std::string& package = "probe") {
    registry::FunctionRecord r;
    r.name = name;
    r.runtime = "provided.al2023";
    r.handler = "bootstrap";
    r.package_id = package;
    r.timeout_s = 1;
    r.generation = ++generation_;
    return r;
  }

  // Runs the io_context until `count` invocations completed (or 10 s passed).
  std::vector<InvokeResult> run(const std::string& name, std::vector<std::string> payloads) {
    std::vector<InvokeResult> out(payloads.size());
    size_t done = 0;
    for (size_t i = 0; i < payloads.size(); ++i) {
      InvokeRequest req;
      req.function = name;
      req.payload = payloads[i];
      req.tail = true;
      invoker_->invoke(std::move(req), [&, i](InvokeResult r) {
        out[i] = std::move(r);
        ++done;
      });
    }
    boost::asio::steady_timer guard(io_, std::chrono::seconds(10));
    while (done < payloads.size() && guard.expiry() > std::chrono::steady_clock::now())
      io_.run_one_for(std::chrono::milliseconds(50));
    EXPECT_EQ(done, payloads.size());
    return out;
  }

  std::string dir_;
  boost::asio::io_context io_;
  std::unique_ptr<metering::LogSink> logs_;
  std::unique_ptr<sandbox::Spawner> spawner_;
  std::unique_ptr<Invoker> invoker_;
  int64_t generation_ = 0;
};

TEST_F(InvokerTest, ColdStartThenWarmReuseOfTheSameEnvironment) {
  invoker_->upsert(fn("f"));
  auto a = run("f", {R"({"action":"counter"})"});
  auto b = run("f", {R"({"action":"counter"})"});
  ASSERT_EQ(a[0].status, 200);
  EXPECT_EQ(a[0].body, "1");
  EXPECT_EQ(b[0].body, "2");
  EXPECT_NE(a[0].log_tail.find("Init Duration: "), std::string::npos) << a[0].log_tail;
  EXPECT_EQ(b[0].log_tail.find("Init Duration: "), std::string::npos) << b[0].log_tail;
  EXPECT_EQ(invoker_->stats().cold_starts, 1);
}

// Issue 9 (found by LeakSanitizer): a warm Environment and its FunctionState own each other
// (env->fn, fn->envs), so destroying the invoker leaked both, with the environment's Runtime
// API listener, pipes and sandbox. Its listener must be gone once the invoker is.
TEST_F(InvokerTest, DestroyingTheInvokerDestroysWarmEnvironments) {
  invoker_->upsert(fn("f"));
  auto r = run("f", {R"({"action":"env"})"});
  ASSERT_EQ(r[0].status, 200);
  const std::string key = "\"AWS_LAMBDA_RUNTIME_API\":\"127.0.0.1:";
  const size_t at = r[0].body.find(key);
  ASSERT_NE(at, std::string::npos) << r[0].body;
  const int port = std::atoi(r[0].body.c_str() + at + key.size());
  ASSERT_GT(port, 0);
  invoker_->shutdown();
  invoker_.reset();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  const int err = errno;
  ::close(fd);
  EXPECT_EQ(rc, -1) << "the environment's Runtime API listener outlived the invoker";
  EXPECT_EQ(err, ECONNREFUSED);
  invoker_ = std::make_unique<Invoker>(io_, *spawner_, *logs_, nullptr, Options{});
}

TEST_F(InvokerTest, UpdateDrainsOldEnvironments) {
  invoker_->upsert(fn("f"));
  EXPECT_EQ(run("f", {R"({"action":"counter"})"})[0].body, "1");
  invoker_->upsert(fn("f"));  // new generation
  EXPECT_EQ(run("f", {R"({"action":"counter"})"})[0].body, "1");
}

TEST_F(InvokerTest, DeadlineKillsAndReportsSandboxTimedout) {
  invoker_->upsert(fn("f"));
  auto r = run("f", {R"({"action":"sleep","ms":3000})"});
  EXPECT_EQ(r[0].function_error, "Unhandled");
  EXPECT_NE(r[0].body.find("\"errorType\":\"Sandbox.Timedout\""), std::string::npos);
  EXPECT_NE(r[0].body.find("Task timed out after 1.00 seconds"), std::string::npos);
  EXPECT_NE(r[0].log_tail.find("Status: timeout"), std::string::npos) << r[0].log_tail;
  // The next invocation gets a fresh environment.
  EXPECT_EQ(run("f", {R"({"action":"counter"})"})[0].body, "1");
}

TEST_F(InvokerTest, CrashMidInvokeIsRuntimeExitError) {
  invoker_->upsert(fn("f"));
  auto r = run("f", {R"({"action":"crash","code":7})"});
  EXPECT_EQ(r[0].function_error, "Unhandled");
  EXPECT_NE(r[0].body.find("Runtime exited with error: exit status 7"), std::string::npos)
      << r[0].body;
  EXPECT_NE(r[0].body.find("Runtime.ExitError"), std::string::npos);
}

TEST_F(InvokerTest, MissingBootstrapIsInvalidEntrypoint) {
  invoker_->upsert(fn("f", "empty"));
  auto r = run("f", {"{}"});
  EXPECT_EQ(r[0].function_error, "Unhandled");
  EXPECT_NE(r[0].body.find("Runtime.InvalidEntrypoint"), std::string::npos) << r[0].body;
}

TEST_F(InvokerTest, BeyondEnvironmentsAndQueueCallersGet429) {
  invoker_->upsert(fn("f"));
  // 2 environments + 2 queued; the fifth is throttled at once.
  auto r = run("f", std::vector<std::string>(5, R"({"action":"sleep","ms":200})"));
  int ok = 0, throttled = 0;
  for (auto& x : r) {
    if (x.status == 200 && x.function_error.empty()) ok++;
    if (x.status == 429) {
      throttled++;
      EXPECT_EQ(x.error_type, "TooManyRequestsException");
      EXPECT_EQ(x.reason, "ConcurrentInvocationLimitExceeded");
    }
  }
  EXPECT_EQ(ok, 4);
  EXPECT_EQ(throttled, 1);
}

TEST_F(InvokerTest, InitPastTheInitLimitFailsTheInvocation) {
  auto f = fn("f");
  f.environment["PROBE_INIT"] = "sleep:3000";
  invoker_->upsert(f);
  auto r = run("f", {"{}"});
  EXPECT_EQ(r[0].function_error, "Unhandled");
  EXPECT_NE(r[0].body.find("Init timed out"), std::string::npos) << r[0].body;
  EXPECT_NE(r[0].log_tail.find("INIT_REPORT Init Duration: "), std::string::npos) << r[0].log_tail;
}

TEST_F(InvokerTest, InitErrorBodyIsReturnedToTheCaller) {
  auto f = fn("f");
  f.environment["PROBE_INIT"] = "error";
  invoker_->upsert(f);
  auto r = run("f", {"{}"});
  EXPECT_EQ(r[0].function_error, "Unhandled");
  EXPECT_NE(r[0].body.find("ProbeInitError"), std::string::npos) << r[0].body;
  EXPECT_NE(r[0].log_tail.find("Phase: init\tStatus: error\tError Type: "), std::string::npos)
      << r[0].log_tail;
}

TEST_F(InvokerTest, TwentyConcurrentInvocationsAllComplete) {
  invoker_.reset();
  Options o;
  o.packages_root = dir_ + "/packages";
  invoker_ = std::make_unique<Invoker>(io_, *spawner_, *logs_, nullptr, o);
  invoker_->upsert(fn("f"));
  auto r = run("f", std::vector<std::string>(20, R"({"action":"sleep","ms":50})"));
  for (auto& x : r) {
    EXPECT_EQ(x.status, 200);
    EXPECT_TRUE(x.function_error.empty()) << x.body;
  }
  EXPECT_LE(invoker_->stats().environments, 20);
}

TEST_F(InvokerTest, UnknownAndRemovedFunctionsAreNotFound) {
  EXPECT_EQ(run("nope", {"{}"})[0].status, 404);
  invoker_->upsert(fn("f"));
  invoker_->remove("f");
  auto r = run("f", {"{}"});
  EXPECT_EQ(r[0].status, 404);
  EXPECT_EQ(r[0].error_type, "ResourceNotFoundException");
}

}  // namespace
}  // namespace lambdad::invoke
