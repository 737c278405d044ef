// Code that runs in the cloned child, between clone and exec. It allocates nothing, locks
// nothing and throws nothing: the parent prepares a ChildPlan, the child only makes syscalls
// and reports a failure as (step, errno) on the error pipe before _exit(127).
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>

namespace lambdad::sandbox::child {

// Steps, reported with errno when one fails.
enum Step : int {
  kJoinCgroup = 1,
  kFds,
  kMountPrivate,
  kBindTask,
  kReadOnly,
  kMountTmp,
  kMountProc,
  kChdir,
  kSetIds,
  kNoNewPrivs,
  kSeccomp,
  kFork,
  kExec,
  kLoopback,
  kListener,
  kExecInit,
};

const char* step_name(int step);

struct Report {
  int step = 0;
  int err = 0;
};

// Everything the child needs, built by the parent before clone. All pointers borrowed.
struct ChildPlan {
  const int* cgroup_procs_fds = nullptr;  // write "0" to each to join; borrowed
  int cgroup_procs_count = 0;
  int stdout_fd = -1;  // write ends; borrowed
  int stderr_fd = -1;
  int error_fd = -1;                  // CLOEXEC pipe for Report
  int status_fd = -1;                 // init writes the bootstrap's wait status here
  const char* task_source = nullptr;  // host path of the unpacked code
  const char* task_target = nullptr;  // "/var/task"
  const char* tmp_options = nullptr;  // "size=512m,mode=1777"
  const char* executable = nullptr;   // path inside the sandbox
  int init_fd = -1;                   // O_PATH fd of lambdad-sandbox-init; borrowed
  char* const* argv = nullptr;        // the init's: {"lambdad-sandbox-init", executable, null}
  char* const* envp = nullptr;
  uid_t uid = 0;
  gid_t gid = 0;
  const sock_fprog* seccomp = nullptr;
  // Isolated network only (else -1): the child is in a new network namespace; it brings `lo`
  // up, listens on 127.0.0.1:runtime_port and sends that socket over this AF_UNIX socket
  // (SCM_RIGHTS) to the parent. Borrowed.
  int listener_channel = -1;
  uint16_t runtime_port = 0;
};

// Runs as pid 1 of the new pid namespace and execs lambdad-sandbox-init (init_main.cc), which
// runs the bootstrap as pid 2; never returns. The caller clones with CLONE_VM | CLONE_VFORK
// and all signals blocked: this shares the server's memory until the exec, so it touches
// only its own stack and makes raw syscalls.
[[noreturn]] void run(const ChildPlan& plan);

}  // namespace lambdad::sandbox::child
