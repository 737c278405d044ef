// See seccomp.h.
#include "sandbox/seccomp.h"

#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memory>

#include "common/unique_fd.h"

namespace lambdad::sandbox {

const std::vector<std::string>& refused_syscalls() {
  static const std::vector<std::string> kList = {
      "mount",
      "umount2",
      "pivot_root",
      "chroot",
      "kexec_load",
      "kexec_file_load",
      "bpf",
      "init_module",
      "finit_module",
      "delete_module",
      "ptrace",
      "process_vm_readv",
      "process_vm_writev",
      "reboot",
      "swapon",
      "swapoff",
      "setns",
      "acct",
      "quotactl",
      "open_by_handle_at",
      "perf_event_open",
      "fsopen",
      "fsmount",
      "fsconfig",
      "move_mount",
      "open_tree",
      "mount_setattr",
      "keyctl",
      "add_key",
      "request_key",
      "userfaultfd",
      "syslog",
      "settimeofday",
      "clock_settime",
      "sethostname",
      "setdomainname",
      "iopl",
      "ioperm",
      "lookup_dcookie",
      "name_to_handle_at",
  };
  return kList;
}

Result<std::vector<sock_filter>> build_seccomp_filter() {
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(SCMP_ACT_ALLOW),
                                                       seccomp_release);
  if (!ctx) return Error::make(Code::kInternal, "seccomp_init failed");
  for (const auto& name : refused_syscalls()) {
    const int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), nr, 0); rc != 0)
      return Error::from_errno(-rc, "seccomp rule for " + name);
  }
  const auto newuser = static_cast<scmp_datum_t>(CLONE_NEWUSER);
  if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                                SCMP_A0(SCMP_CMP_MASKED_EQ, newuser, newuser));
      rc != 0)
    return Error::from_errno(-rc, "seccomp rule for unshare");
  if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                SCMP_A0(SCMP_CMP_MASKED_EQ, newuser, newuser));
      rc != 0)
    return Error::from_errno(-rc, "seccomp rule for clone");
  if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0); rc != 0)
    return Error::from_errno(-rc, "seccomp rule for clone3");

  UniqueFd mem(::memfd_create("lambdad-seccomp", MFD_CLOEXEC));
  if (!mem.valid()) return Error::from_errno(errno, "memfd for seccomp export");
  if (int rc = seccomp_export_bpf(ctx.get(), mem.get()); rc != 0)
    return Error::from_errno(-rc, "export seccomp bpf");
  const off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0)
    return Error::make(Code::kInternal, "seccomp export has a bad size");
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), prog.data(), static_cast<size_t>(size), 0) != size)
    return Error::from_errno(errno, "read seccomp export");
  return prog;
}

}  // namespace lambdad::sandbox
