// Sandbox: starts a function's `bootstrap` as a child process with its environment,
// working directory and resource limits, and hands back the handles the invoker needs.
// Thread rules: spawn() is called on the io thread; it must not block beyond fork/exec.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace lambdad::sandbox {

// Network of an execution environment. kHost shares the host's network (the Runtime API on a
// host loopback port); kIsolated gets its own network namespace with only `lo` up, and the
// Runtime API inside it at kIsolatedRuntimeApi, as on Lambda.
enum class Network { kHost, kIsolated };
inline constexpr const char* kIsolatedRuntimeApi = "127.0.0.1:9001";
inline constexpr uint16_t kIsolatedRuntimePort = 9001;

struct SpawnSpec {
  std::string executable;        // absolute path of bootstrap
  std::string working_dir;       // the task root
  std::vector<std::string> env;  // "KEY=value"
  int memory_mb = 128;           // for limits (address space is not limited: node needs VA)
  int max_processes = 1024;      // Lambda: 1,024 processes/threads
  int max_open_files = 1024;     // Lambda: 1,024 fds
  int ephemeral_mb = 512;        // size of the private /tmp (EphemeralStorage)
  Network network = Network::kHost;
};

// Per-child resources an isolating spawner keeps (cgroup, status pipe). Its destructor
// releases them (removes the cgroup); call only after the child has been reaped.
class Sandbox {
 public:
  virtual ~Sandbox() = default;
  // The bootstrap's own wait status, given the status waitpid() returned for `Child::pid`
  // (an isolating spawner may run a small init as `pid`).
  virtual int exit_status(int wait_status) { return wait_status; }
  // Peak memory of the whole environment in MiB; nullopt when unknown.
  virtual std::optional<int> peak_memory_mb() { return std::nullopt; }
  // True when the kernel's OOM killer acted inside this environment.
  virtual bool oom_killed() { return false; }
  // Freezer: stop every process of the environment while it is idle; no-ops if unsupported.
  virtual void freeze() {}
  virtual void thaw() {}
};

struct Child {
  pid_t pid = -1;
  UniqueFd pidfd;                    // readable when the child exits
  UniqueFd stdout_fd;                // read end of the child's stdout (non-blocking)
  UniqueFd stderr_fd;                // read end of the child's stderr (non-blocking)
  std::unique_ptr<Sandbox> sandbox;  // null for plain processes
  // Network::kIsolated only: a listening TCP socket bound to kIsolatedRuntimeApi inside the
  // environment's network namespace; the Runtime API endpoint accepts on it.
  UniqueFd runtime_listener;
  // The uid the environment runs as when it is its own (isolating spawners); the Runtime API
  // then accepts only this uid's connections.
  std::optional<uid_t> uid;
};

class Spawner {
 public:
  virtual ~Spawner() = default;
  // kNotFound when the executable is missing; kInvalidArgument when it is not executable
  // (both mean Runtime.InvalidEntrypoint); kInternal for fork/pipe failures.
  virtual Result<Child> spawn(const SpawnSpec& spec) = 0;
  virtual std::string describe() const = 0;
  // Where the task root (SpawnSpec::working_dir on the host) appears to the bootstrap.
  virtual std::string task_root_in_sandbox(const std::string& host_root) const { return host_root; }
  // Whether spawn() honours SpawnSpec::network == Network::kIsolated (else it fails with
  // kUnavailable).
  virtual bool supports_isolated_network() const { return false; }
  // True when functions run as another (unprivileged) user than the server.
  virtual bool runs_as_other_user() const { return false; }
};

// Plain processes with rlimits (no namespaces): works without privileges.
std::unique_ptr<Spawner> make_process_spawner();

// Namespaces (mount, pid, ipc, uts), read-only host with the code at /var/task, a private
// tmpfs /tmp, an unprivileged uid, no_new_privs, seccomp and cgroup limits. Fails (with the
// reason) when the privileges or kernel features are missing.
// freeze_idle: Sandbox::freeze()/thaw() act (cgroup freezer). Off by default: a v1 freezer
// write costs 10-30 ms here, on the io thread and in every warm invoke.
struct IsolationOptions {
  bool freeze_idle = false;
};
Result<std::unique_ptr<Spawner>> make_namespace_spawner(IsolationOptions options = {});

// The namespace spawner when it can be set up, else the process spawner; `note` gets one
// line saying which and why.
std::unique_ptr<Spawner> make_best_spawner(std::string* note, IsolationOptions options = {});

// Decodes a wait status into Lambda's words: "exit status 1", "signal: killed",
// "signal: segmentation fault".
std::string describe_exit(int wait_status);

}  // namespace lambdad::sandbox
