// lambdad-sandbox-init: pid 1 of an execution environment. The sandbox child (child.cc) execs
// this small static program once the namespaces, mounts, uid and seccomp are set, instead of
// forking a copy of the server: the server's address space is never copied (the child is
// cloned with CLONE_VM | CLONE_VFORK), and this process forks cheaply.
//
//   lambdad-sandbox-init BOOTSTRAP        (environment = the function's)
//
// fds on entry: 0-2 the bootstrap's stdio, 3 the status pipe (gets the bootstrap's wait
// status), 4 the server's error pipe (gets a child::Report when exec fails; its EOF tells
// the server the bootstrap has exec'd). All signals arrive blocked.
// pid 1 of a namespace ignores signals it has no handler for, so the bootstrap runs as pid 2
// (a self-sent SIGSEGV must still kill it) and this init only reaps and reports.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "sandbox/child/child.h"

extern char** environ;

int main(int argc, char** argv) {
  using lambdad::sandbox::child::kExec;
  using lambdad::sandbox::child::Report;
  if (argc < 2) return 125;
  ::fcntl(4, F_SETFD, FD_CLOEXEC);
  // CLONE_VFORK: continue only once the bootstrap has exec'd (or failed), then let go of the
  // error pipe at once so the server sees EOF.
  const long pid = ::syscall(SYS_clone, SIGCHLD | CLONE_VFORK, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) {
    Report r{lambdad::sandbox::child::kFork, errno};
    (void)!::write(4, &r, sizeof r);
    return 127;
  }
  if (pid == 0) {
    ::close(3);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // e.g. SIGPIPE
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[1], argv + 1, environ);
    Report r{kExec, errno};
    (void)!::write(4, &r, sizeof r);
    ::_exit(127);
  }
  ::close(0);
  ::close(1);
  ::close(2);
  ::close(4);
  for (;;) {
    int status = 0;
    const pid_t got = ::waitpid(-1, &status, 0);
    if (got < 0 && errno != EINTR) ::_exit(126);
    if (got != pid) continue;
    (void)!::write(3, &status, sizeof status);
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
}
