// invoke_load: a closed-loop HTTP/1.1 load driver for lambdad's Invoke API, with its own
// baselines measured by the same client in the same run:
//   loopback   -- a minimal HTTP server thread in this process answering a fixed reply
//   spawn      -- fork+exec+wait of a static binary (the cold-start floor)
// Prints a table of medians/p99/throughput and ratios to the baselines.
//
// usage: invoke_load --port P --function NAME [--payload JSON] [--seconds S]
//                    [--concurrency 1,4,16] [--spawn-binary PATH] [--cold N --cold-zip F]
//                    [--server-pid PID]
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Reads one HTTP response (Content-Length bodies only). Returns the status.
int read_response(int fd, std::string& buf, std::string* body = nullptr) {
  for (;;) {
    const size_t end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t len = 0;
      const char* cl = ::strcasestr(buf.c_str(), "\r\ncontent-length:");
      if (cl && cl < buf.c_str() + end) len = std::strtoul(cl + 17, nullptr, 10);
      if (buf.size() >= end + 4 + len) {
        const int status = std::atoi(buf.c_str() + 9);
        if (body) *body = buf.substr(end + 4, len);
        buf.erase(0, end + 4 + len);
        return status;
      }
    }
    char tmp[65536];
    const ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n <= 0) return -1;
    buf.append(tmp, size_t(n));
  }
}

struct RunResult {
  std::vector<double> latencies_us;
  double seconds = 0;
  int errors = 0;
};

RunResult closed_loop(uint16_t port, const std::string& request, int concurrency, double seconds) {
  std::vector<std::vector<double>> per(static_cast<size_t>(concurrency));
  std::atomic<int> errors{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int c = 0; c < concurrency; ++c) {
    threads.emplace_back([&, c] {
      int fd = connect_to(port);
      std::string buf;
      auto& lat = per[static_cast<size_t>(c)];
      while (!stop.load(std::memory_order_relaxed)) {
        const auto s = Clock::now();
        if (::write(fd, request.data(), request.size()) != ssize_t(request.size())) break;
        const int status = read_response(fd, buf);
        if (status != 200) {
          errors++;
          if (status < 0) break;
        }
        lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - s).count());
      }
      ::close(fd);
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  RunResult r;
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.errors = errors;
  for (auto& v : per) r.latencies_us.insert(r.latencies_us.end(), v.begin(), v.end());
  std::sort(r.latencies_us.begin(), r.latencies_us.end());
  return r;
}

double pct(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, size_t(p / 100.0 * double(sorted.size())))];
}

// A loopback HTTP server that answers every request with a fixed small JSON body.
uint16_t start_floor_server() {
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(lfd, 128);
  socklen_t len = sizeof a;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  std::thread([lfd] {
    for (;;) {
      int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::thread([fd] {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        static const std::string reply =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
            "{\"a\":\"b\"}\r\n";
        std::string buf;
        for (;;) {
          const size_t end = buf.find("\r\n\r\n");
          if (end != std::string::npos) {
            size_t blen = 0;
            const char* cl = ::strcasestr(buf.c_str(), "\r\ncontent-length:");
            if (cl && cl < buf.c_str() + end) blen = std::strtoul(cl + 17, nullptr, 10);
            if (buf.size() >= end + 4 + blen) {
              buf.erase(0, end + 4 + blen);
              if (::write(fd, reply.data(), reply.size()) < 0) break;
              continue;
            }
          }
          char tmp[65536];
          const ssize_t n = ::read(fd, tmp, sizeof tmp);
          if (n <= 0) break;
          buf.append(tmp, size_t(n));
        }
        ::close(fd);
      }).detach();
    }
  }).detach();
  return ntohs(a.sin_port);
}

std::vector<double> spawn_floor(const std::string& binary, int runs) {
  std::vector<double> out;
  for (int i = 0; i < runs; ++i) {
    const auto s = Clock::now();
    // vfork+exec (posix_spawn), as lambdad's own spawner does.
    pid_t pid = -1;
    char* args[] = {const_cast<char*>(binary.c_str()), nullptr};
    char* env[] = {nullptr};
    if (::posix_spawn(&pid, binary.c_str(), nullptr, nullptr, args, env) != 0) std::exit(1);
    int st = 0;
    ::waitpid(pid, &st, 0);
    out.push_back(std::chrono::duration<double, std::micro>(Clock::now() - s).count());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string invoke_request(const std::string& function, const std::string& payload) {
  return "POST /2015-03-31/functions/" + function +
         "/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
         std::to_string(payload.size()) + "\r\n\r\n" + payload;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string b64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += k[(n >> 18) & 63];
    out += k[(n >> 12) & 63];
    out += k[(n >> 6) & 63];
    out += k[n & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out += k[(n >> 18) & 63];
    out += k[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += k[(n >> 18) & 63];
    out += k[(n >> 12) & 63];
    out += k[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// CPU ticks (utime+stime) of a process.
long cpu_ticks(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t p = s.rfind(')');
  std::istringstream rest(s.substr(p + 2));
  std::string field;
  long ut = 0, st = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) ut = std::stol(field);
    if (i == 15) st = std::stol(field);
  }
  return ut + st;
}

// CPU ticks of every descendant of `pid` (the environments' bootstraps), by pid.
void descendant_ticks(int pid, std::map<int, long>& out) {
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(task_dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(task_dir + "/" + e->d_name + "/children");
    int child = 0;
    while (in >> child) {
      out[child] = cpu_ticks(child);
      descendant_ticks(child, out);
    }
  }
  ::closedir(d);
}

// Ticks the descendants spent between two snapshots (new ones count from zero).
long ticks_between(const std::map<int, long>& before, const std::map<int, long>& after) {
  long sum = 0;
  for (const auto& [pid, t] : after) {
    auto it = before.find(pid);
    sum += t - (it == before.end() ? 0 : it->second);
  }
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  uint16_t port = 0;
  std::string function = "echo", payload = "{\"hello\":\"world\"}", spawn_binary, cold_zip;
  double seconds = 3;
  std::vector<int> levels{1, 4, 16};
  int cold = 0, server_pid = 0, memory = 1769;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--port")
      port = static_cast<uint16_t>(std::stoi(next()));
    else if (a == "--function")
      function = next();
    else if (a == "--payload")
      payload = next();
    else if (a == "--seconds")
      seconds = std::stod(next());
    else if (a == "--spawn-binary")
      spawn_binary = next();
    else if (a == "--cold")
      cold = std::stoi(next());
    else if (a == "--cold-zip")
      cold_zip = next();
    else if (a == "--server-pid")
      server_pid = std::stoi(next());
    else if (a == "--concurrency") {
      levels.clear();
      std::stringstream ss(next());
      std::string item;
      while (std::getline(ss, item, ',')) levels.push_back(std::stoi(item));
    }
  }
  if (port == 0) {
    std::fprintf(stderr, "usage: invoke_load --port P [--function NAME] ...\n");
    return 2;
  }
  const std::string req = invoke_request(function, payload);
  const uint16_t floor_port = start_floor_server();
  // Same request bytes to the floor server, so parsing work is comparable on the client side.
  std::printf("%-34s %10s %10s %12s %8s\n", "measurement", "p50 us", "p99 us", "req/s", "ratio");
  closed_loop(port, req, 1, 0.5);  // warm up: start an environment
  for (int c : levels) {
    const RunResult f = closed_loop(floor_port, req, c, seconds);
    std::map<int, long> fn0, fn1;
    if (server_pid) descendant_ticks(server_pid, fn0);
    const long t0 = server_pid ? cpu_ticks(server_pid) : 0;
    const RunResult r = closed_loop(port, req, c, seconds);
    const long t1 = server_pid ? cpu_ticks(server_pid) : 0;
    if (server_pid) descendant_ticks(server_pid, fn1);
    const double fr = double(f.latencies_us.size()) / f.seconds;
    const double rr = double(r.latencies_us.size()) / r.seconds;
    std::printf("%-34s %10.0f %10.0f %12.0f %8s\n",
                ("loopback floor c=" + std::to_string(c)).c_str(), pct(f.latencies_us, 50),
                pct(f.latencies_us, 99), fr, "1.00");
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.2f", pct(r.latencies_us, 50) / pct(f.latencies_us, 50));
    std::printf("%-34s %10.0f %10.0f %12.0f %8s\n",
                ("lambdad warm invoke c=" + std::to_string(c)).c_str(), pct(r.latencies_us, 50),
                pct(r.latencies_us, 99), rr, ratio);
    if (server_pid) {
      const double us_per = double(t1 - t0) * 1e6 / double(sysconf(_SC_CLK_TCK)) /
                            double(std::max<size_t>(1, r.latencies_us.size()));
      std::printf("%-34s %10.1f\n", ("  server CPU us/invoke c=" + std::to_string(c)).c_str(),
                  us_per);
      // The bootstraps' own CPU (the SDK's loop plus its half of the loopback TCP work).
      const double fn_us = double(ticks_between(fn0, fn1)) * 1e6 / double(sysconf(_SC_CLK_TCK)) /
                           double(std::max<size_t>(1, r.latencies_us.size()));
      std::printf("%-34s %10.1f\n", ("  function CPU us/invoke c=" + std::to_string(c)).c_str(),
                  fn_us);
    }
    if (r.errors) std::printf("  (%d errors)\n", r.errors);
  }
  if (!spawn_binary.empty()) {
    const auto s = spawn_floor(spawn_binary, 200);
    std::printf("%-34s %10.0f %10.0f\n", "spawn+exec+wait floor (static)", pct(s, 50), pct(s, 99));
    if (cold > 0 && !cold_zip.empty()) {
      const std::string zip64 = b64(read_file(cold_zip));
      std::vector<double> colds;
      for (int i = 0; i < cold; ++i) {
        const std::string name = "cold-" + std::to_string(::getpid()) + "-" + std::to_string(i);
        const std::string body =
            "{\"FunctionName\":\"" + name +
            "\",\"Runtime\":\"provided.al2023\",\"Handler\":\"bootstrap\",\"MemorySize\":" +
            std::to_string(memory) +
            ",\"Role\":"
            "\"arn:aws:iam::000000000000:role/bench\",\"Code\":{\"ZipFile\":\"" +
            zip64 + "\"}}";
        const std::string create =
            "POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body;
        int fd = connect_to(port);
        std::string buf;
        if (::write(fd, create.data(), create.size()) < 0) return 1;
        if (read_response(fd, buf) != 201) {
          std::fprintf(stderr, "create failed\n");
          return 1;
        }
        const std::string inv = invoke_request(name, payload);
        const auto t = Clock::now();
        if (::write(fd, inv.data(), inv.size()) < 0) return 1;
        const int st = read_response(fd, buf);
        colds.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
        if (st != 200) std::fprintf(stderr, "cold invoke status %d\n", st);
        const std::string del = "DELETE /2015-03-31/functions/" + name +
                                " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
        if (::write(fd, del.data(), del.size()) < 0) return 1;
        read_response(fd, buf);
        ::close(fd);
      }
      std::sort(colds.begin(), colds.end());
      char ratio[32];
      std::snprintf(ratio, sizeof ratio, "%.2f", pct(colds, 50) / pct(s, 50));
      std::printf("%-34s %10.0f %10.0f %12s %8s\n", "lambdad cold start (new env)", pct(colds, 50),
                  pct(colds, 99), "", ratio);
    }
  }
  return 0;
}
