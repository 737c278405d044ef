#include "sandbox/seccomp.h"

#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

namespace lambdad::sandbox {
namespace {

TEST(SeccompTest, RefusesWhatAFunctionNeverNeeds) {
  const auto& list = refused_syscalls();
  for (const char* name : {"mount", "umount2", "kexec_load", "bpf", "init_module", "finit_module",
                           "delete_module", "ptrace", "reboot", "swapon", "pivot_root", "setns"})
    EXPECT_NE(std::find(list.begin(), list.end(), name), list.end()) << name;
}

TEST(SeccompTest, BuildsABpfProgram) {
  auto prog = build_seccomp_filter();
  ASSERT_TRUE(prog.ok()) << prog.error().message();
  EXPECT_GT(prog->size(), 10u);
}

// Installs the filter in a forked child (no privileges needed with no_new_privs) and checks
// that refused calls fail with EPERM while ordinary ones still work.
TEST(SeccompTest, InstalledFilterReturnsEpermAndAllowsTheRest) {
  auto prog = build_seccomp_filter();
  ASSERT_TRUE(prog.ok());
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    sock_fprog fprog{static_cast<unsigned short>(prog->size()), prog->data()};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(10);
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) _exit(11);
    if (::mount("none", "/mnt", "tmpfs", 0, nullptr) == 0 || errno != EPERM) _exit(12);
    if (::unshare(CLONE_NEWUSER) == 0 || errno != EPERM) _exit(13);
    if (::getpid() <= 0) _exit(14);
    const pid_t kid = ::fork();  // plain fork (clone without CLONE_NEWUSER) still works
    if (kid < 0) _exit(15);
    if (kid == 0) _exit(0);
    int st = 0;
    ::waitpid(kid, &st, 0);
    _exit(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 16);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace lambdad::sandbox
