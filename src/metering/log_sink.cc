#include "metering/log_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>
#include <map>

#include "common/unique_fd.h"

namespace lambdad::metering {

namespace {
constexpr size_t kMaxIov = 256;  // records per writev (IOV_MAX is 1024)
}  // namespace

LogSink::LogSink(std::string dir, int64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {
  ::mkdir(dir_.c_str(), 0755);
  thread_ = std::thread([this] { run(); });
}

LogSink::~LogSink() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::string LogSink::path_for(const std::string& function) const {
  return dir_ + "/" + function + ".log";
}

void LogSink::append(const std::string& function, std::string text) {
  {
    std::lock_guard lock(mu_);
    if (queued_bytes_ + text.size() > kMaxQueuedBytes) {
      dropped_bytes_ += text.size();
      return;
    }
    queued_bytes_ += text.size();
    queue_.emplace_back(function, std::move(text));
    if (queue_.size() < kWakeBatch) return;  // the writer's tick picks it up
  }
  cv_.notify_one();
}

uint64_t LogSink::dropped_bytes() {
  std::lock_guard lock(mu_);
  return dropped_bytes_;
}

void LogSink::flush() {
  std::unique_lock lock(mu_);
  flush_requested_ = true;
  cv_.notify_one();
  drained_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void LogSink::run() {
  struct Open {
    UniqueFd fd;
    int64_t size = 0;
  };
  std::map<std::string, Open> files;
  std::unique_lock lock(mu_);
  for (;;) {
    // Wake on a tick, not per record: one futex wake and one write (or one SQLite
    // transaction) per batch instead of per invocation.
    cv_.wait_for(lock, kTick,
                 [this] { return stop_ || flush_requested_ || queue_.size() >= kWakeBatch; });
    flush_requested_ = false;
    if (queue_.empty() && !stop_) {
      drained_.notify_all();
      continue;
    }
    if (queue_.empty() && stop_) break;
    auto batch = std::move(queue_);
    queue_.clear();
    queued_bytes_ = 0;
    busy_ = true;
    lock.unlock();
    // Consecutive records of one function go out in one writev (under load a batch is
    // mostly one function's invocations): one syscall per run instead of per record.
    for (size_t i = 0; i < batch.size();) {
      const std::string& fn = batch[i].first;
      auto& f = files[fn];
      if (!f.fd.valid() || f.size >= max_bytes_) {
        const std::string path = path_for(fn);
        if (f.fd.valid() && f.size >= max_bytes_) {
          f.fd.reset();
          std::rename(path.c_str(), (path + ".1").c_str());
        }
        f.fd.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
        struct stat st {};
        f.size = (f.fd.valid() && ::fstat(f.fd.get(), &st) == 0) ? st.st_size : 0;
      }
      // The run ends where the per-record rotation check would rotate.
      size_t end = i + 1;
      int64_t run_bytes = static_cast<int64_t>(batch[i].second.size());
      while (end < batch.size() && end - i < kMaxIov && batch[end].first == fn &&
             f.size + run_bytes < max_bytes_) {
        run_bytes += static_cast<int64_t>(batch[end].second.size());
        ++end;
      }
      if (f.fd.valid()) {
        iovec iov[kMaxIov];
        int n_iov = 0;
        for (size_t k = i; k < end; ++k)
          if (!batch[k].second.empty())
            iov[n_iov++] = {batch[k].second.data(), batch[k].second.size()};
        const ssize_t n = n_iov > 0 ? ::writev(f.fd.get(), iov, n_iov) : 0;
        if (n > 0) f.size += n;
      }
      i = end;
    }
    // A deleted function's file may be recreated later: keep fds only for recent writers.
    if (files.size() > 256) files.clear();
    lock.lock();
    busy_ = false;
    if (queue_.empty()) drained_.notify_all();
  }
  busy_ = false;
  drained_.notify_all();
}

}  // namespace lambdad::metering
