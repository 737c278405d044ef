// Seccomp filter for execution environments: built once in the parent with libseccomp and
// exported as a BPF program the child installs with prctl (no allocation after clone).
// Thread rules: build at startup; the program is immutable afterwards.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "common/result.h"

namespace lambdad::sandbox {

// Syscalls refused with EPERM (what a function never needs).
const std::vector<std::string>& refused_syscalls();

// The BPF program: allow by default; EPERM for refused_syscalls(), for unshare/clone asking
// for a user namespace, and ENOSYS for clone3 (so libc falls back to filterable clone).
Result<std::vector<sock_filter>> build_seccomp_filter();

}  // namespace lambdad::sandbox
