// Cgroups for execution environments, v1 (one hierarchy per controller) and v2 (unified).
// The limit math is pure and unit-tested; CgroupManager touches /sys/fs/cgroup (or the root a
// test passes: a fake tree of plain files in a temp dir, see tests/unit/sandbox/cgroup_test.cc).
// Thread rules: CgroupManager is used from the io thread only; Cgroup is owned by one Child.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace lambdad::sandbox {

enum class CgroupVersion { kNone, kV1, kV2 };

inline constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

struct CgroupLimits {
  int64_t memory_bytes = 0;  // memory.limit_in_bytes / memory.max
  int64_t cpu_period_us = 100000;
  int64_t cpu_quota_us = 0;  // cpu.cfs_quota_us / first field of cpu.max
  int pids_max = 1024;
};

// Lambda's proportions: memory MiB -> bytes; 1,769 MB = one vCPU, capped at `host_cores`.
CgroupLimits limits_for(int memory_mb, int host_cores, int pids_max);

// The v2 cpu.max line for `l` ("quota period").
std::string cpu_max_line(const CgroupLimits& l);

// The cgroup path of `controller` ("" for v2) in the text of /proc/self/cgroup; nullopt if absent.
std::optional<std::string> own_cgroup_path(const std::string& proc_self_cgroup,
                                           const std::string& controller);

// Reads "key value" from a flat keyed file's text (memory.events, memory.oom_control).
std::optional<int64_t> keyed_value(const std::string& text, const std::string& key);

class Cgroup;

class CgroupManager {
 public:
  // Detects the version and prepares `<own cgroup>/lambdad` in each needed controller.
  // `root` is where the hierarchies are mounted (v2 when `<root>/cgroup.controllers` exists);
  // `proc_self_cgroup` is the text of /proc/self/cgroup (read when nullopt).
  static Result<std::unique_ptr<CgroupManager>> open(
      const std::string& root = kCgroupRoot,
      const std::optional<std::string>& proc_self_cgroup = std::nullopt);
  ~CgroupManager();  // removes this server's cgroups
  CgroupVersion version() const { return version_; }
  std::string describe() const;
  // This server's base cgroup directories (v1: memory, cpu, pids, freezer; v2: one).
  const std::vector<std::string>& bases() const { return bases_; }
  // Creates the environment's cgroup with its limits. The returned Cgroup removes it.
  Result<std::unique_ptr<Cgroup>> create(const std::string& name, int memory_mb);

 private:
  CgroupVersion version_ = CgroupVersion::kNone;
  std::vector<std::string> bases_;  // v1: memory, cpu, pids, freezer bases; v2: one base
  int host_cores_ = 1;
  friend class Cgroup;
};

class Cgroup {
 public:
  ~Cgroup();
  // Write-only fds of cgroup.procs in every hierarchy (the child writes "0" to join).
  const std::vector<int>& procs_fds() const { return procs_raw_; }
  void close_procs_fds();
  std::optional<int> peak_memory_mb() const;
  int64_t oom_kills() const;
  // Freezes or thaws every task of the cgroup; false when the write failed.
  bool set_frozen(bool frozen);
  // The environment's directories (v1: memory, cpu, pids, freezer; v2: one).
  const std::vector<std::string>& dirs() const { return dirs_; }

 private:
  friend class CgroupManager;
  CgroupVersion version_ = CgroupVersion::kNone;
  std::vector<std::string> dirs_;  // v1: memory, cpu, pids, freezer; v2: one
  std::vector<UniqueFd> procs_;
  std::vector<int> procs_raw_;
  UniqueFd freeze_;  // freezer.state / cgroup.freeze, opened on first use
};

}  // namespace lambdad::sandbox
