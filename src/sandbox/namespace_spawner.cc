// Namespace spawner: clone3 into new mount, pid, ipc and uts namespaces, joined to a
// per-environment cgroup; the child side lives in child/child.cc.
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "sandbox/cgroup.h"
#include "sandbox/child/child.h"
#include "sandbox/seccomp.h"
#include "sandbox/spawner.h"

namespace lambdad::sandbox {
namespace {

constexpr const char* kTaskRoot = "/var/task";
// Each environment runs as its own uid, kSandboxUidBase + (spawn count mod kSandboxUids), so
// the Runtime API can tell its own runtime's connections from anyone else's (peer.h).
constexpr uid_t kSandboxUidBase = 100000;
constexpr uid_t kSandboxUids = 65536;
constexpr gid_t kSandboxGid = 990;

// Moves fd above the 0-4 range the child rearranges, keeping CLOEXEC.
UniqueFd high_fd(int fd) {
  UniqueFd low(fd);
  return UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 10));
}

constexpr const char* kInitName = "lambdad-sandbox-init";
constexpr size_t kStackSize = 256 * 1024;

// Not instrumented (see CMakeLists.txt): runs on the clone's own stack in the server's memory.
__attribute__((no_sanitize("address", "undefined", "thread"))) int child_entry(void* plan) {
  child::run(*static_cast<const child::ChildPlan*>(plan));
}

// lambdad-sandbox-init: $LAMBDAD_SANDBOX_INIT, else next to this executable (the build dir and
// an install's bin/), else one directory up (build/bench/...). An O_PATH fd >= 10.
Result<UniqueFd> open_init() {
  std::vector<std::string> candidates;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read once at startup; lambdad never calls setenv
  if (const char* env = std::getenv("LAMBDAD_SANDBOX_INIT")) candidates.emplace_back(env);
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir.resize(dir.rfind('/'));
    candidates.push_back(dir + "/" + kInitName);
    candidates.push_back(dir.substr(0, dir.rfind('/')) + "/" + kInitName);
  }
  for (const auto& path : candidates) {
    UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (fd.valid() && ::faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) == 0)
      return UniqueFd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 10));
  }
  return Error::make(Code::kUnavailable, std::string(kInitName) +
                                             " not found next to this executable (build it, or "
                                             "set LAMBDAD_SANDBOX_INIT)");
}

// The one fd the child sent with SCM_RIGHTS on `sock`; kInternal when none arrived.
Result<UniqueFd> receive_fd(int sock) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  char byte = 0;
  iovec iov{&byte, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return Error::from_errno(errno, "receive the Runtime API listener from the sandbox");
  const cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (n != 1 || c == nullptr || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
    return Error::make(Code::kInternal, "sandbox sent no Runtime API listener");
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return UniqueFd(fd);
}

class NamespaceSandbox final : public Sandbox {
 public:
  NamespaceSandbox(std::unique_ptr<Cgroup> cg, UniqueFd status, bool freeze_idle)
      : cgroup_(std::move(cg)), status_(std::move(status)), freeze_idle_(freeze_idle) {}

  int exit_status(int wait_status) override {
    int inner = 0;
    if (!have_ && ::read(status_.get(), &inner, sizeof inner) == sizeof inner) {
      have_ = true;
      inner_ = inner;
    }
    return have_ ? inner_ : wait_status;
  }
  std::optional<int> peak_memory_mb() override {
    return cgroup_ ? cgroup_->peak_memory_mb() : std::nullopt;
  }
  bool oom_killed() override { return cgroup_ && cgroup_->oom_kills() > 0; }
  void freeze() override {
    if (cgroup_ && freeze_idle_ && !frozen_) frozen_ = cgroup_->set_frozen(true);
  }
  void thaw() override {
    if (cgroup_ && frozen_) frozen_ = !cgroup_->set_frozen(false);
  }

 private:
  std::unique_ptr<Cgroup> cgroup_;
  UniqueFd status_;  // read end of the init's status pipe (non-blocking)
  bool have_ = false;
  bool frozen_ = false;
  bool freeze_idle_ = false;
  int inner_ = 0;
};

class NamespaceSpawner final : public Spawner {
 public:
  NamespaceSpawner(std::unique_ptr<CgroupManager> cg, std::vector<sock_filter> filter,
                   IsolationOptions options, UniqueFd init, void* stack)
      : cgroups_(std::move(cg)),
        filter_(std::move(filter)),
        options_(options),
        init_(std::move(init)),
        stack_(stack) {
    prog_.len = static_cast<unsigned short>(filter_.size());
    prog_.filter = filter_.data();
  }
  ~NamespaceSpawner() override { ::munmap(stack_, kStackSize); }
  NamespaceSpawner(const NamespaceSpawner&) = delete;
  NamespaceSpawner& operator=(const NamespaceSpawner&) = delete;

  Result<Child> spawn(const SpawnSpec& spec) override {
    struct stat st {};
    if (::stat(spec.executable.c_str(), &st) != 0)
      return Error{Code::kNotFound, errno, "stat " + spec.executable};
    if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0)
      return Error::make(Code::kInvalidArgument, spec.executable + " is not an executable file");
    // The bootstrap's path inside the sandbox: the same file under /var/task.
    std::string exe = spec.executable;
    if (exe.rfind(spec.working_dir + "/", 0) == 0)
      exe = std::string(kTaskRoot) + exe.substr(spec.working_dir.size());

    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return Error::from_errno(errno, "pipe for stdout");
    UniqueFd out_r(p[0]), out_w = high_fd(p[1]);
    if (::pipe2(p, O_CLOEXEC) != 0) return Error::from_errno(errno, "pipe for stderr");
    UniqueFd err_r(p[0]), err_w = high_fd(p[1]);
    if (::pipe2(p, O_CLOEXEC) != 0) return Error::from_errno(errno, "pipe for spawn errors");
    UniqueFd rep_r(p[0]), rep_w = high_fd(p[1]);
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return Error::from_errno(errno, "status pipe");
    UniqueFd stat_r(p[0]), stat_w = high_fd(p[1]);
    const bool isolated = spec.network == Network::kIsolated;
    if (isolated && !net_error_.empty())
      return Error::make(Code::kUnavailable, "network mode 'isolated' unavailable: " + net_error_);
    UniqueFd chan_r, chan_w;
    if (isolated) {
      if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) != 0)
        return Error::from_errno(errno, "socketpair for the Runtime API listener");
      chan_r.reset(p[0]);
      chan_w = high_fd(p[1]);
    }

    const uint64_t env_no = ++counter_;
    std::unique_ptr<Cgroup> cg;
    if (cgroups_) {
      auto c = cgroups_->create("env-" + std::to_string(env_no), spec.memory_mb);
      if (!c) return c.error();
      cg = std::move(*c);
    }

    char tmp_options[64];
    std::snprintf(tmp_options, sizeof tmp_options, "size=%dm,mode=1777", spec.ephemeral_mb);
    std::vector<char*> argv{const_cast<char*>(kInitName), exe.data(), nullptr};
    std::vector<char*> envp;
    envp.reserve(spec.env.size() + 1);
    for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    child::ChildPlan plan;
    if (cg) {
      plan.cgroup_procs_fds = cg->procs_fds().data();
      plan.cgroup_procs_count = static_cast<int>(cg->procs_fds().size());
    }
    plan.stdout_fd = out_w.get();
    plan.stderr_fd = err_w.get();
    plan.error_fd = rep_w.get();
    plan.status_fd = stat_w.get();
    plan.task_source = spec.working_dir.c_str();
    plan.task_target = kTaskRoot;
    plan.tmp_options = tmp_options;
    plan.executable = exe.c_str();
    plan.init_fd = init_.get();
    plan.argv = argv.data();
    plan.envp = envp.data();
    const uid_t uid = kSandboxUidBase + static_cast<uid_t>(env_no % kSandboxUids);
    plan.uid = uid;
    plan.gid = kSandboxGid;
    plan.seccomp = &prog_;
    plan.listener_channel = isolated ? chan_w.get() : -1;
    plan.runtime_port = kIsolatedRuntimePort;

    int pidfd = -1;
    const int flags = CLONE_VM | CLONE_VFORK | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
                      CLONE_NEWUTS | CLONE_PIDFD | (isolated ? CLONE_NEWNET : 0) | SIGCHLD;
    // SAFETY: like posix_spawn, the child shares our memory (CLONE_VM) on its own stack and we
    // are suspended until it execs the init or exits (CLONE_VFORK), so the server's address
    // space is never copied. It runs child::run only: raw syscalls on its stack, no allocation.
    // Signals stay blocked across the clone so no handler of ours runs in the child.
    sigset_t all, old_mask;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old_mask);
    const int pid = ::clone(&child_entry, stack_top(), flags, &plan, &pidfd);
    const int clone_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    if (pid < 0) return Error::from_errno(clone_errno, "clone for the sandbox");

    UniqueFd pidfd_owned(pidfd);
    out_w.reset();
    err_w.reset();
    rep_w.reset();
    stat_w.reset();
    chan_w.reset();
    if (cg) cg->close_procs_fds();
    // Blocks until the bootstrap has exec'd (EOF) or a step failed (a Report).
    child::Report rep;
    ssize_t n;
    do n = ::read(rep_r.get(), &rep, sizeof rep);
    while (n < 0 && errno == EINTR);
    if (n == sizeof rep) {
      ::kill(static_cast<pid_t>(pid), SIGKILL);
      ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
      Error e = Error::from_errno(rep.err, std::string("sandbox: ") + child::step_name(rep.step));
      if (rep.step == child::kExec && (rep.err == EACCES || rep.err == ENOEXEC))
        e.code = Code::kInvalidArgument;
      if (rep.step == child::kExec && rep.err == ENOENT) e.code = Code::kNotFound;
      return e;
    }

    Child c;
    if (isolated) {
      // Sent before exec, so it is queued by now.
      auto listener = receive_fd(chan_r.get());
      if (!listener) {
        ::kill(static_cast<pid_t>(pid), SIGKILL);
        ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
        return listener.error();
      }
      c.runtime_listener = std::move(*listener);
    }
    c.pid = static_cast<pid_t>(pid);
    c.uid = uid;
    c.pidfd = std::move(pidfd_owned);
    ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
    ::fcntl(err_r.get(), F_SETFL, O_NONBLOCK);
    c.stdout_fd = std::move(out_r);
    c.stderr_fd = std::move(err_r);
    c.sandbox =
        std::make_unique<NamespaceSandbox>(std::move(cg), std::move(stat_r), options_.freeze_idle);
    return c;
  }

  std::string describe() const override {
    return "namespaces (mnt, pid, ipc, uts; net per function), read-only root, /var/task, tmpfs "
           "/tmp, a uid per environment (" +
           std::to_string(kSandboxUidBase) + "+), seccomp, " +
           (cgroups_ ? cgroups_->describe() : std::string("no cgroups")) +
           (options_.freeze_idle ? ", idle environments frozen" : "") +
           (net_error_.empty() ? "" : ", no network namespaces (" + net_error_ + ")");
  }

  std::string task_root_in_sandbox(const std::string&) const override { return kTaskRoot; }
  bool supports_isolated_network() const override { return net_error_.empty(); }
  bool runs_as_other_user() const override { return true; }
  void disable_isolated_network(const Error& why) { net_error_ = why.message(); }

 private:
  std::unique_ptr<CgroupManager> cgroups_;
  std::vector<sock_filter> filter_;
  sock_fprog prog_{};
  uint64_t counter_ = 0;
  IsolationOptions options_;
  std::string net_error_;  // why network namespaces are unavailable; "" = they work
  UniqueFd init_;          // O_PATH fd of lambdad-sandbox-init (>= 10)
  void* stack_;            // the clone child's stack (kStackSize, lowest page a guard)

  void* stack_top() const { return static_cast<char*>(stack_) + kStackSize; }
};

}  // namespace

Result<std::unique_ptr<Spawner>> make_namespace_spawner(IsolationOptions options) {
  if (::geteuid() != 0) return Error::make(Code::kUnavailable, "not running as root");
  if (::mkdir(kTaskRoot, 0755) != 0 && errno != EEXIST)
    return Error::from_errno(errno, std::string("create mount point ") + kTaskRoot);
  auto filter = build_seccomp_filter();
  if (!filter) return filter.error();
  auto cg = CgroupManager::open();
  if (!cg) return cg.error();
  auto init = open_init();
  if (!init) return init.error();
  void* stack = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return Error::from_errno(errno, "mmap the sandbox clone stack");
  ::mprotect(stack, 4096, PROT_NONE);  // guard page
  auto spawner = std::make_unique<NamespaceSpawner>(std::move(*cg), std::move(*filter), options,
                                                    std::move(*init), stack);
  // Probe once: a kernel without these namespaces or mount_setattr fails here, not per invoke.
  char dir[] = "/tmp/lambdad-probe-XXXXXX";
  if (!::mkdtemp(dir)) return Error::from_errno(errno, "probe dir");
  ::chmod(dir, 0755);
  const std::string exe = std::string(dir) + "/true";
  auto probe = [&](Network network) -> Result<void> {
    SpawnSpec spec;
    spec.executable = exe;
    spec.working_dir = dir;
    spec.memory_mb = 128;
    spec.network = network;
    auto child = spawner->spawn(spec);
    if (!child) return child.error();
    ::waitpid(child->pid, nullptr, 0);
    return ok();
  };
  Result<std::unique_ptr<Spawner>> out = Error::make(Code::kInternal, "probe spawn");
  if (::symlink("/bin/true", exe.c_str()) == 0) {
    if (auto r = probe(Network::kHost); !r) {
      out = r.error();
    } else {
      // Network namespaces are optional: without them only `host` mode is offered.
      if (auto n = probe(Network::kIsolated); !n) spawner->disable_isolated_network(n.error());
      out = std::unique_ptr<Spawner>(std::move(spawner));
    }
    ::unlink(exe.c_str());
  }
  ::rmdir(dir);
  return out;
}

std::unique_ptr<Spawner> make_best_spawner(std::string* note, IsolationOptions options) {
  auto ns = make_namespace_spawner(options);
  if (ns) {
    if (note) *note = "isolation: " + (*ns)->describe();
    return std::move(*ns);
  }
  if (note)
    *note = "isolation unavailable (" + ns.error().message() +
            "): running functions as plain processes with rlimits";
  return make_process_spawner();
}

}  // namespace lambdad::sandbox
