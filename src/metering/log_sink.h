// Function logs: one file per function under <data_dir>/logs/<name>.log, rotated at a
// size bound (one previous generation kept as .1). Writes are queued and done by one
// background thread so the invoke path never blocks on disk.
// Thread rules: append() is safe from any thread and never blocks on I/O.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace lambdad::metering {

class LogSink {
 public:
  LogSink(std::string dir, int64_t max_bytes_per_file);
  ~LogSink();  // flushes what is queued
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  // Drops the text (and counts it) when more than kMaxQueuedBytes wait for the disk, so a
  // function writing faster than the disk cannot grow the server's memory.
  void append(const std::string& function, std::string text);
  // Bytes dropped so far because the queue was full.
  uint64_t dropped_bytes();
  static constexpr size_t kMaxQueuedBytes = 64 * 1024 * 1024;
  // Blocks until everything queued so far is on disk (tests, shutdown).
  void flush();
  std::string path_for(const std::string& function) const;

 private:
  void run();
  std::string dir_;
  int64_t max_bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable drained_;
  std::deque<std::pair<std::string, std::string>> queue_;  // GUARDED_BY(mu_)
  size_t queued_bytes_ = 0;                                // GUARDED_BY(mu_)
  uint64_t dropped_bytes_ = 0;                             // GUARDED_BY(mu_)
  bool stop_ = false;
  bool flush_requested_ = false;  // GUARDED_BY(mu_)
  static constexpr size_t kWakeBatch = 4096;
  static constexpr std::chrono::milliseconds kTick{50};
  bool busy_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace lambdad::metering
