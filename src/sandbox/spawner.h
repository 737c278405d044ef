// Sandbox: starts a function's `bootstrap` as a child process with its environment,
// working directory and resource limits, and hands back the handles the invoker needs.
// Thread rules: spawn() is called on the io thread; it must not block beyond fork/exec.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace lambdad::sandbox {

struct SpawnSpec {
  std::string executable;            // absolute path of bootstrap
  std::string working_dir;           // the task root
  std::vector<std::string> env;      // "KEY=value"
  int memory_mb = 128;               // for limits (address space is not limited: node needs VA)
  int max_processes = 1024;          // Lambda: 1,024 processes/threads
  int max_open_files = 1024;         // Lambda: 1,024 fds
};

struct Child {
  pid_t pid = -1;
  UniqueFd pidfd;       // readable when the child exits
  UniqueFd stdout_fd;   // read end of the child's stdout (non-blocking)
  UniqueFd stderr_fd;   // read end of the child's stderr (non-blocking)
};

class Spawner {
 public:
  virtual ~Spawner() = default;
  // kNotFound when the executable is missing; kInvalidArgument when it is not executable
  // (both mean Runtime.InvalidEntrypoint); kInternal for fork/pipe failures.
  virtual Result<Child> spawn(const SpawnSpec& spec) = 0;
  virtual std::string describe() const = 0;
};

// Plain processes with rlimits (no namespaces): works without privileges.
std::unique_ptr<Spawner> make_process_spawner();

// Decodes a wait status into Lambda's words: "exit status 1", "signal: killed",
// "signal: segmentation fault".
std::string describe_exit(int wait_status);

}  // namespace lambdad::sandbox
