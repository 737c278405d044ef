// Plain-process spawner: vfork+exec via posix_spawn, pipes for stdout/stderr, pidfd for
// exit notification, rlimits applied by a tiny exec wrapper-free path (prlimit after spawn).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "sandbox/spawner.h"

namespace lambdad::sandbox {
namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

class ProcessSpawner final : public Spawner {
 public:
  Result<Child> spawn(const SpawnSpec& spec) override {
    if (spec.network == Network::kIsolated)
      return Error::make(Code::kUnavailable,
                         "network mode 'isolated' needs the namespace sandbox (root); this server "
                         "runs functions as plain processes");
    struct stat st {};
    if (::stat(spec.executable.c_str(), &st) != 0)
      return Error{Code::kNotFound, errno, "stat " + spec.executable};
    if (!S_ISREG(st.st_mode) || ::access(spec.executable.c_str(), X_OK) != 0)
      return Error::make(Code::kInvalidArgument, spec.executable + " is not an executable file");

    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return Error::from_errno(errno, "pipe for stdout");
    UniqueFd out_r(out[0]), out_w(out[1]);
    if (::pipe2(err, O_CLOEXEC) != 0) return Error::from_errno(errno, "pipe for stderr");
    UniqueFd err_r(err[0]), err_w(err[1]);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addchdir_np(&fa, spec.working_dir.c_str());
    // Asio opens sockets without CLOEXEC: never let a bootstrap inherit a client connection.
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    // A new process group so a timeout kill takes the bootstrap's children too.
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_USEVFORK);

    std::vector<char*> argv{const_cast<char*>(spec.executable.c_str()), nullptr};
    std::vector<char*> envp;
    envp.reserve(spec.env.size() + 1);
    for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    pid_t pid = -1;
    const int rc =
        ::posix_spawn(&pid, spec.executable.c_str(), &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      Error e = Error::from_errno(rc, "spawn " + spec.executable);
      if (rc == EACCES || rc == ENOEXEC) e.code = Code::kInvalidArgument;
      if (rc == ENOENT) e.code = Code::kNotFound;
      return e;
    }
    // Lambda's per-sandbox limits: 1,024 processes/threads and 1,024 open files; memory as
    // RLIMIT_DATA = MemorySize (heap and private writable mappings, so allocations past it fail
    // with ENOMEM; RLIMIT_AS would also count the address space node reserves). RLIMIT_NPROC
    // counts every process of the uid (the server's too) and root is exempt: a backstop only.
    // No RLIMIT_CPU: it is per process lifetime and a warm environment serves many invocations
    // (the invoker's deadline ends a runaway invocation).
    auto limit = [pid](int resource, rlim_t value) {
      const rlimit l{value, value};
      ::prlimit(pid, static_cast<__rlimit_resource>(resource), &l, nullptr);
    };
    limit(RLIMIT_NOFILE, rlim_t(spec.max_open_files));
    limit(RLIMIT_NPROC, rlim_t(spec.max_processes));
    limit(RLIMIT_DATA, rlim_t(spec.memory_mb) << 20);

    Child child;
    child.pid = pid;
    child.pidfd = UniqueFd(pidfd_open(pid));
    if (!child.pidfd.valid()) {
      const int e = errno;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return Error::from_errno(e, "pidfd_open for bootstrap");
    }
    ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
    ::fcntl(err_r.get(), F_SETFL, O_NONBLOCK);
    child.stdout_fd = std::move(out_r);
    child.stderr_fd = std::move(err_r);
    return child;
  }

  std::string describe() const override {
    return "process (no isolation; rlimits: data = MemorySize, 1024 processes, 1024 files)";
  }
};

}  // namespace

std::unique_ptr<Spawner> make_process_spawner() { return std::make_unique<ProcessSpawner>(); }

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    // Go's os.ProcessState wording, which Lambda's messages use.
    switch (sig) {
      case SIGKILL:
        return "signal: killed";
      case SIGSEGV:
        return "signal: segmentation fault";
      case SIGABRT:
        return "signal: aborted";
      case SIGTERM:
        return "signal: terminated";
      case SIGBUS:
        return "signal: bus error";
      case SIGFPE:
        return "signal: floating point exception";
      case SIGILL:
        return "signal: illegal instruction";
      case SIGINT:
        return "signal: interrupt";
      default:
        return std::string("signal: ") + ::strsignal(sig);
    }
  }
  return "exit status " + std::to_string(status);
}

}  // namespace lambdad::sandbox
