// Cgroup v1/v2 setup for execution environments. See cgroup.h.
#include "sandbox/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace lambdad::sandbox {
namespace {

constexpr int64_t kMbPerVcpu = 1769;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<void> write_text(const std::string& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::from_errno(errno, "open " + path);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return Error::from_errno(errno, "write '" + text + "' to " + path);
  return ok();
}

Result<void> make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    return Error::from_errno(errno, "create cgroup " + path);
  return ok();
}

// Removes the empty cgroups under `dir`, then `dir` itself (best effort).
void remove_tree(const std::string& dir) {
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_type == DT_DIR && e->d_name[0] != '.') remove_tree(dir + "/" + e->d_name);
    }
    ::closedir(d);
  }
  ::rmdir(dir.c_str());
}

// Each server gets `<root>/<pid>`; directories left by servers that died are removed.
Result<std::string> server_base(const std::string& root) {
  if (auto r = make_dir(root); !r) return r.error();
  if (DIR* d = ::opendir(root.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const long pid = std::strtol(e->d_name, nullptr, 10);
      if (e->d_type == DT_DIR && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 &&
          errno == ESRCH)
        remove_tree(root + "/" + e->d_name);
    }
    ::closedir(d);
  }
  const std::string base = root + "/" + std::to_string(::getpid());
  if (auto r = make_dir(base); !r) return r.error();
  return base;
}

}  // namespace

CgroupManager::~CgroupManager() {
  for (const auto& b : bases_) remove_tree(b);
}

CgroupLimits limits_for(int memory_mb, int host_cores, int pids_max) {
  CgroupLimits l;
  l.memory_bytes = int64_t{memory_mb} << 20;
  const int64_t cap = int64_t{std::max(host_cores, 1)} * l.cpu_period_us;
  l.cpu_quota_us =
      std::clamp(int64_t{memory_mb} * l.cpu_period_us / kMbPerVcpu, int64_t{1000}, cap);
  l.pids_max = pids_max;
  return l;
}

std::string cpu_max_line(const CgroupLimits& l) {
  return std::to_string(l.cpu_quota_us) + " " + std::to_string(l.cpu_period_us);
}

std::optional<std::string> own_cgroup_path(const std::string& text, const std::string& controller) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto a = line.find(':');
    const auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string list = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    if (controller.empty()) {
      if (line.compare(0, a, "0") == 0 && list.empty()) return path;
      continue;
    }
    std::istringstream names(list);
    std::string name;
    while (std::getline(names, name, ','))
      if (name == controller) return path;
  }
  return std::nullopt;
}

std::optional<int64_t> keyed_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  int64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return std::nullopt;
}

Result<std::unique_ptr<CgroupManager>> CgroupManager::open(
    const std::string& root, const std::optional<std::string>& proc_self_cgroup) {
  auto m = std::make_unique<CgroupManager>();
  m->host_cores_ = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::string self = proc_self_cgroup ? *proc_self_cgroup : read_text("/proc/self/cgroup");
  struct stat st {};
  if (::stat((root + "/cgroup.controllers").c_str(), &st) == 0) {
    m->version_ = CgroupVersion::kV2;
    const auto own = own_cgroup_path(self, "");
    if (!own) return Error::make(Code::kUnavailable, "no cgroup v2 entry in /proc/self/cgroup");
    const std::string dir = root + (*own == "/" ? "" : *own);
    const std::string want = "+memory +cpu +pids";
    if (!write_text(dir + "/cgroup.subtree_control", want)) {
      // "No internal processes": move ourselves into a leaf, then delegate.
      if (auto r = make_dir(dir + "/lambdad-server"); !r) return r.error();
      if (auto r = write_text(dir + "/lambdad-server/cgroup.procs", "0"); !r) return r.error();
      if (auto r = write_text(dir + "/cgroup.subtree_control", want); !r) return r.error();
    }
    if (auto r = make_dir(dir + "/lambdad"); !r) return r.error();
    if (auto r = write_text(dir + "/lambdad/cgroup.subtree_control", want); !r) return r.error();
    auto base = server_base(dir + "/lambdad");
    if (!base) return base.error();
    m->bases_.push_back(*base);
    if (auto r = write_text(*base + "/cgroup.subtree_control", want); !r) return r.error();
    return m;
  }
  m->version_ = CgroupVersion::kV1;
  // Every controller must be there before anything is created.
  std::vector<std::string> dirs;
  for (const char* c : {"memory", "cpu", "pids", "freezer"}) {
    const auto own = own_cgroup_path(self, c);
    if (!own) return Error::make(Code::kUnavailable, std::string("no v1 cgroup for ") + c);
    // The hierarchy may be mounted under a joint name such as cpu,cpuacct.
    std::string mount = root + "/" + c;
    if (::stat(mount.c_str(), &st) != 0) mount = root + "/cpu,cpuacct";
    dirs.push_back(mount + (*own == "/" ? "" : *own) + "/lambdad");
  }
  for (const auto& dir : dirs) {
    auto base = server_base(dir);
    if (!base) return base.error();
    m->bases_.push_back(*base);
  }
  return m;
}

std::string CgroupManager::describe() const {
  return version_ == CgroupVersion::kV2 ? "cgroup v2 at " + bases_[0]
                                        : "cgroup v1 at " + bases_[0] + " (+cpu, pids, freezer)";
}

Result<std::unique_ptr<Cgroup>> CgroupManager::create(const std::string& name, int memory_mb) {
  auto cg = std::unique_ptr<Cgroup>(new Cgroup());
  cg->version_ = version_;
  const CgroupLimits l = limits_for(memory_mb, host_cores_, 1024);
  for (const auto& base : bases_) {
    const std::string dir = base + "/" + name;
    if (auto r = make_dir(dir); !r) return r.error();
    cg->dirs_.push_back(dir);
  }
  Result<void> r;
  auto w = [&r](const std::string& path, const std::string& text) {
    if (r) r = write_text(path, text);
  };
  if (version_ == CgroupVersion::kV2) {
    const std::string& d = cg->dirs_[0];
    w(d + "/memory.max", std::to_string(l.memory_bytes));
    w(d + "/memory.swap.max", "0");
    if (!r) r = ok();  // no swap controller: fine
    w(d + "/cpu.max", cpu_max_line(l));
    w(d + "/pids.max", std::to_string(l.pids_max));
  } else {
    w(cg->dirs_[0] + "/memory.limit_in_bytes", std::to_string(l.memory_bytes));
    w(cg->dirs_[0] + "/memory.memsw.limit_in_bytes", std::to_string(l.memory_bytes));
    if (!r) r = ok();  // swap accounting off: fine
    w(cg->dirs_[1] + "/cpu.cfs_period_us", std::to_string(l.cpu_period_us));
    w(cg->dirs_[1] + "/cpu.cfs_quota_us", std::to_string(l.cpu_quota_us));
    w(cg->dirs_[2] + "/pids.max", std::to_string(l.pids_max));
  }
  if (!r) return r.error();
  for (const auto& d : cg->dirs_) {
    UniqueFd fd(::open((d + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return Error::from_errno(errno, "open " + d + "/cgroup.procs");
    cg->procs_raw_.push_back(fd.get());
    cg->procs_.push_back(std::move(fd));
  }
  return cg;
}

Cgroup::~Cgroup() {
  close_procs_fds();
  freeze_.reset();
  for (const auto& d : dirs_) {
    // The init has been reaped, so its namespace is empty; a dying task may linger briefly.
    for (int i = 0; i < 50 && ::rmdir(d.c_str()) != 0 && errno == EBUSY; ++i) ::usleep(1000);
  }
}

void Cgroup::close_procs_fds() {
  procs_.clear();
  procs_raw_.clear();
}

std::optional<int> Cgroup::peak_memory_mb() const {
  if (dirs_.empty()) return std::nullopt;
  const std::string file =
      version_ == CgroupVersion::kV2 ? "/memory.peak" : "/memory.max_usage_in_bytes";
  const std::string text = read_text(dirs_[0] + file);
  if (text.empty()) return std::nullopt;
  const int64_t bytes = std::strtoll(text.c_str(), nullptr, 10);
  return static_cast<int>((bytes + (1 << 20) - 1) >> 20);
}

int64_t Cgroup::oom_kills() const {
  if (dirs_.empty()) return 0;
  const std::string file =
      version_ == CgroupVersion::kV2 ? "/memory.events" : "/memory.oom_control";
  return keyed_value(read_text(dirs_[0] + file), "oom_kill").value_or(0);
}

bool Cgroup::set_frozen(bool frozen) {
  if (dirs_.empty()) return false;
  const bool v2 = version_ == CgroupVersion::kV2;
  if (!freeze_.valid()) {
    const std::string path = v2 ? dirs_[0] + "/cgroup.freeze" : dirs_[3] + "/freezer.state";
    freeze_.reset(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!freeze_.valid()) return false;
  }
  const std::string_view text = v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");
  // At offset 0: cgroupfs ignores the offset, a plain file (tests) is overwritten.
  return ::pwrite(freeze_.get(), text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
}

}  // namespace lambdad::sandbox
