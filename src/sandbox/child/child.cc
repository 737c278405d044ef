// SAFETY: this file runs after clone() in a copy of a multi-threaded process: only raw
// syscalls, no malloc, no locks, no stdio, no exceptions (see child.h).
#include "sandbox/child/child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>

namespace lambdad::sandbox::child {
namespace {

// Raw wrappers: glibc's <sys/mount.h> clashes with <linux/mount.h>.
int sys_mount(const char* src, const char* dst, const char* type, unsigned long flags,
              const void* data) {
  return static_cast<int>(::syscall(SYS_mount, src, dst, type, flags, data));
}

int sys_mount_setattr(const char* path, unsigned int flags, mount_attr* attr) {
  return static_cast<int>(::syscall(SYS_mount_setattr, AT_FDCWD, path, flags, attr, sizeof *attr));
}

constexpr unsigned long kMsRdonly = 1, kMsNosuid = 2, kMsNodev = 4, kMsNoexec = 8, kMsRemount = 32,
                        kMsBind = 4096, kMsRec = 16384, kMsPrivate = 1UL << 18;

[[noreturn]] void fail(const ChildPlan& p, int step) {
  Report r{step, errno};
  (void)!::write(p.error_fd, &r, sizeof r);
  ::_exit(127);
}

// SAFETY: runs as root in the fresh network namespace, before the uid drop; stack only.
void listen_for_runtime_api(const ChildPlan& p) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) fail(p, kLoopback);
  ifreq ifr{};
  ifr.ifr_name[0] = 'l';
  ifr.ifr_name[1] = 'o';
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) fail(p, kLoopback);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) fail(p, kLoopback);
  const int one = 1;
  (void)::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(p.runtime_port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s, 64) != 0)
    fail(p, kListener);
  // The socket keeps this namespace: the server accepts on it from the host side.
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  char byte = 'L';
  iovec iov{&byte, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  __builtin_memcpy(CMSG_DATA(c), &s, sizeof s);
  if (::sendmsg(p.listener_channel, &msg, MSG_NOSIGNAL) != 1) fail(p, kListener);
  ::close(s);
  ::close(p.listener_channel);
}

}  // namespace

const char* step_name(int step) {
  switch (step) {
    case kJoinCgroup:
      return "join cgroup";
    case kFds:
      return "set up fds";
    case kMountPrivate:
      return "make mounts private";
    case kBindTask:
      return "bind-mount the code at /var/task";
    case kReadOnly:
      return "make the filesystem read-only";
    case kMountTmp:
      return "mount tmpfs at /tmp";
    case kMountProc:
      return "mount /proc";
    case kChdir:
      return "chdir /var/task";
    case kSetIds:
      return "drop to the sandbox uid/gid";
    case kNoNewPrivs:
      return "set no_new_privs";
    case kSeccomp:
      return "install seccomp filter";
    case kFork:
      return "fork the bootstrap";
    case kExec:
      return "exec bootstrap";
    case kLoopback:
      return "bring up lo in the network namespace";
    case kListener:
      return "listen for the Runtime API at 127.0.0.1:9001";
    case kExecInit:
      return "exec lambdad-sandbox-init";
    default:
      return "unknown step";
  }
}

void run(const ChildPlan& p) {
  // Own process group, like the process spawner's children (a terminal's ^C stays ours).
  ::setpgid(0, 0);
  for (int i = 0; i < p.cgroup_procs_count; ++i)
    if (::write(p.cgroup_procs_fds[i], "0", 1) != 1) fail(p, kJoinCgroup);

  // Known fds: 0 /dev/null, 1 stdout, 2 stderr, 3 status, 4 error (both kept across the exec
  // of the init), 5 the listener channel (isolated network), 6 the init (CLOEXEC); nothing else
  // survives.
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || ::dup2(p.stdout_fd, 1) < 0 || ::dup2(p.stderr_fd, 2) < 0 ||
      ::dup2(devnull, 0) < 0 || ::dup2(p.status_fd, 3) < 0 || ::dup2(p.error_fd, 4) < 0 ||
      ::dup3(p.init_fd, 6, O_CLOEXEC) < 0)
    fail(p, kFds);
  ChildPlan q = p;  // on the stack: no allocation
  q.error_fd = 4;
  q.status_fd = 3;
  q.init_fd = 6;
  if (q.listener_channel >= 0) {
    if (::dup3(p.listener_channel, 5, O_CLOEXEC) < 0) fail(q, kFds);
    q.listener_channel = 5;
  } else if (::close(5) != 0 && errno != EBADF) {
    fail(q, kFds);
  }
  if (::syscall(SYS_close_range, 7U, ~0U, 0U) != 0) fail(q, kFds);
  if (q.listener_channel >= 0) listen_for_runtime_api(q);

  if (sys_mount(nullptr, "/", nullptr, kMsRec | kMsPrivate, nullptr) != 0) fail(q, kMountPrivate);
  if (sys_mount(q.task_source, q.task_target, nullptr, kMsBind | kMsRec, nullptr) != 0)
    fail(q, kBindTask);
  mount_attr ro{};
  ro.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID;
  if (sys_mount_setattr("/", AT_RECURSIVE, &ro) != 0) fail(q, kReadOnly);
  if (sys_mount("tmpfs", "/tmp", "tmpfs", kMsNosuid | kMsNodev, q.tmp_options) != 0)
    fail(q, kMountTmp);
  if (sys_mount("proc", "/proc", "proc", kMsNosuid | kMsNodev | kMsNoexec, nullptr) != 0)
    fail(q, kMountProc);
  (void)kMsRdonly;
  (void)kMsRemount;
  if (::chdir(q.task_target) != 0) fail(q, kChdir);

  if (::syscall(SYS_setgroups, 0, nullptr) != 0 ||
      ::syscall(SYS_setresgid, q.gid, q.gid, q.gid) != 0 ||
      ::syscall(SYS_setresuid, q.uid, q.uid, q.uid) != 0)
    fail(q, kSetIds);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(q, kNoNewPrivs);
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, q.seccomp, 0, 0) != 0) fail(q, kSeccomp);

  ::syscall(SYS_execveat, q.init_fd, "", q.argv, q.envp, AT_EMPTY_PATH);
  fail(q, kExecInit);
}

}  // namespace lambdad::sandbox::child
