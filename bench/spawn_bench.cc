// spawn_bench: where a cold start's sandbox time goes, without the HTTP path. Spawns a static
// no-op `bootstrap` N times with each spawner and reports medians (µs) of: spawn() (until the
// bootstrap has exec'd), exec -> exit seen on the pidfd, and releasing the Sandbox (cgroup
// removal), plus the CPU time (user + system, server side and the children's) one spawn costs:
// on a loaded host the wall times are mostly waiting for a CPU, the CPU time is the work.
// Isolated spawns are measured with host and isolated networks.
//
//   build/bench/spawn_bench [N] [path/to/static/noop]     (default 30, build/bench/bench_noop)
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "sandbox/spawner.h"

namespace {

using lambdad::sandbox::Network;
using lambdad::sandbox::Spawner;
using lambdad::sandbox::SpawnSpec;
using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
}

double cpu_us(int who) {
  rusage ru{};
  ::getrusage(who, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void run(const char* label, Spawner& spawner, const SpawnSpec& spec, int n) {
  std::vector<double> spawn_us, exit_us, release_us, total_us, self_cpu, child_cpu;
  for (int i = 0; i < n; ++i) {
    const double self0 = cpu_us(RUSAGE_SELF), children0 = cpu_us(RUSAGE_CHILDREN);
    const auto t0 = Clock::now();
    auto child = spawner.spawn(spec);
    if (!child) {
      std::printf("%-28s spawn failed: %s\n", label, child.error().message().c_str());
      return;
    }
    spawn_us.push_back(us_since(t0));
    const auto t1 = Clock::now();
    pollfd p{child->pidfd.get(), POLLIN, 0};
    ::poll(&p, 1, 10000);
    ::waitpid(child->pid, nullptr, 0);
    exit_us.push_back(us_since(t1));
    const auto t2 = Clock::now();
    child->sandbox.reset();
    release_us.push_back(us_since(t2));
    total_us.push_back(us_since(t0));
    self_cpu.push_back(cpu_us(RUSAGE_SELF) - self0);
    child_cpu.push_back(cpu_us(RUSAGE_CHILDREN) - children0);
  }
  std::printf(
      "%-28s spawn %6.0f  exec->exit %6.0f  release %5.0f  total %6.0f  cpu: server %5.0f "
      "children %5.0f\n",
      label, median(spawn_us), median(exit_us), median(release_us), median(total_us),
      median(self_cpu), median(child_cpu));
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 30;
  std::string noop = argc > 2 ? argv[2] : "";
  if (noop.empty()) {
    noop = (std::filesystem::path(argv[0]).parent_path() / "bench_noop").string();
  }
  char dir[] = "/tmp/lambdad-spawn-bench-XXXXXX";
  if (!::mkdtemp(dir)) return 1;
  ::chmod(dir, 0755);
  const std::string exe = std::string(dir) + "/bootstrap";
  std::filesystem::copy_file(noop, exe);
  ::chmod(exe.c_str(), 0755);

  SpawnSpec spec;
  spec.executable = exe;
  spec.working_dir = dir;
  spec.memory_mb = 1769;
  std::printf("medians of %d spawns, microseconds\n", n);
  auto plain = lambdad::sandbox::make_process_spawner();
  run("process", *plain, spec, n);
  auto ns = lambdad::sandbox::make_namespace_spawner();
  if (!ns) {
    std::printf("namespace spawner unavailable: %s\n", ns.error().message().c_str());
  } else {
    run("namespaces, host network", **ns, spec, n);
    spec.network = Network::kIsolated;
    run("namespaces, isolated network", **ns, spec, n);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
