// probe: a bootstrap for end-to-end tests, built on the SDK. The event's "action" picks what it
// does (a missing action echoes):
//   echo                  return the event unchanged
//   env                   return {"NAME":"value",...} of the whole environment
//   context               return {"invoked_function_arn":...,"version":AWS_LAMBDA_FUNCTION_VERSION}
//   sleep  ms             sleep ms milliseconds, return {"slept_ms":ms}
//   crash  code           exit(code), default 1, without answering
//   signal                raise SIGSEGV
//   error  [message]      post /error with errorType "ProbeError"
//   print  text           write text (plus a newline if missing) to stdout and stderr, return
//                         {"printed":<bytes of text>}
//   counter               return the number of invocations this process has served, from 1
//   spew   mb             write mb MiB of log lines to stdout as fast as it can, return
//                         {"spewed_mb":mb}
//   big    bytes          return a JSON string of exactly `bytes` bytes ("aaa...")
//   alloc  mb             touch mb MiB of fresh memory, return {"allocated_mb":mb}
//   write  path [mb]      write mb MiB (0: one byte) to path, then remove it; return
//                         {"written_mb":n,"errno":e} (e = 0 on success)
//   fork   count          fork up to count sleeping children, then kill them; return
//                         {"forked":n,"errno":e} (e = errno of the first failed fork)
//   cpu    ms             spin for ms of wall time; return {"cpu_ms":<CPU time used>}
//   append path id [ms]   append "<id> <request id>\n" to the file at path (one write), then
//                         sleep ms milliseconds
//   flaky  path fail      count this call in the file at path; fail (ProbeError) while the
//                         count is <= fail, then return {"attempt":count}
//   connect host port     TCP connect to host:port (IPv4, 2 s at most); return {"errno":e}
//                         (0 = connected)
//   http   host port path [method]
//                         one HTTP/1.0 request (3 s at most); return {"errno":e,"status":code,
//                         "request_id":<Lambda-Runtime-Aws-Request-Id or "">}
//   read   path           read the file at path; return {"errno":e,"bytes":n}
// Env PROBE_RECORD=<path>: append every event as one line to path and return {} (whatever the
// event says); used as an async destination.
// Env PROBE_INIT: "crash" exits 3 during init, "error" posts /init/error (errorType
// "ProbeInitError") and exits, "sleep:<ms>" sleeps during init.
// Event parsing is deliberately tiny: it finds the first "key": value pair anywhere in the event.
#include <arpa/inet.h>
#include <fcntl.h>
#include <lambdad/runtime.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace {

using lambdad::InvocationResponse;

// Position just after `"key"` and the following colon, or npos.
std::size_t find_value(std::string_view json, std::string_view key) {
  std::string quoted = "\"" + std::string(key) + "\"";
  for (std::size_t pos = json.find(quoted); pos != std::string_view::npos;
       pos = json.find(quoted, pos + 1)) {
    std::size_t i = pos + quoted.size();
    while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n')) ++i;
    if (i < json.size() && json[i] == ':') {
      ++i;
      while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n')) ++i;
      return i;
    }
  }
  return std::string_view::npos;
}

std::string get_string(std::string_view json, std::string_view key, std::string fallback) {
  std::size_t i = find_value(json, key);
  if (i == std::string_view::npos || i >= json.size() || json[i] != '"') return fallback;
  std::string out;
  for (++i; i < json.size() && json[i] != '"'; ++i) {
    char c = json[i];
    if (c != '\\' || i + 1 >= json.size()) {
      out += c;
      continue;
    }
    char e = json[++i];
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u':
        if (i + 4 < json.size()) {
          unsigned cp = static_cast<unsigned>(
              std::strtoul(std::string(json.substr(i + 1, 4)).c_str(), nullptr, 16));
          i += 4;
          if (cp < 0x80) {
            out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          }
        }
        break;
      default:
        out += e;  // " \ /
    }
  }
  return out;
}

long long get_number(std::string_view json, std::string_view key, long long fallback) {
  std::size_t i = find_value(json, key);
  if (i == std::string_view::npos || i >= json.size()) return fallback;
  if (json[i] == '"') ++i;  // tolerate numbers sent as strings
  char* end = nullptr;
  std::string rest(json.substr(i, 24));
  long long v = std::strtoll(rest.c_str(), &end, 10);
  return end == rest.c_str() ? fallback : v;
}

void sleep_ms(long long ms) {
  if (ms <= 0) return;
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n <= 0) return;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string env_json() {
  std::string out = "{";
  bool first = true;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    if (!first) out += ',';
    first = false;
    out += '"';
    out += lambdad::json_escape(kv.substr(0, eq));
    out += "\":\"";
    out += lambdad::json_escape(kv.substr(eq + 1));
    out += '"';
  }
  out += '}';
  return out;
}

std::string write_file(const std::string& ev) {
  const std::string path = get_string(ev, "path", "/tmp/probe-write");
  const long long mb = get_number(ev, "mb", 0);
  int err = 0;
  long long written = 0;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    err = errno;
  } else {
    std::string chunk(mb > 0 ? 1 << 20 : 1, 'x');
    for (long long i = 0; i < (mb > 0 ? mb : 1); ++i) {
      if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
        err = errno;
        break;
      }
      ++written;
    }
    ::close(fd);
    ::unlink(path.c_str());
  }
  return "{\"written_mb\":" + std::to_string(mb > 0 ? written : 0) +
         ",\"errno\":" + std::to_string(err) + "}";
}

std::string fork_many(long long count) {
  std::vector<pid_t> kids;
  int err = 0;
  for (long long i = 0; i < count; ++i) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      err = errno;
      break;
    }
    if (pid == 0) {
      ::pause();
      std::_Exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) ::kill(pid, SIGKILL);
  for (pid_t pid : kids) ::waitpid(pid, nullptr, 0);
  return "{\"forked\":" + std::to_string(kids.size()) + ",\"errno\":" + std::to_string(err) + "}";
}

double now_ms(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::string spin(long long ms) {
  const double cpu0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
  const double end = now_ms(CLOCK_MONOTONIC) + static_cast<double>(ms);
  volatile unsigned long sink = 0;
  while (now_ms(CLOCK_MONOTONIC) < end)
    for (int i = 0; i < 10000; ++i) sink = sink + 1;
  const auto used = static_cast<long long>(now_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu0);
  return "{\"cpu_ms\":" + std::to_string(used) + "}";
}

bool touch_memory(long long mb) {
  if (mb <= 0) return true;
  std::size_t size = static_cast<std::size_t>(mb) << 20;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  auto* bytes = static_cast<volatile unsigned char*>(p);
  for (std::size_t off = 0; off < size; off += 4096) bytes[off] = 1;
  munmap(p, size);
  return true;
}

// A connected TCP socket to host:port, or -1 with errno set.
int connect_to(const std::string& host, long long port, int timeout_ms) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    errno = EINVAL;
    return -1;
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      const int e = errno;
      ::close(fd);
      errno = e;
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, timeout_ms) != 1) {
      err = ETIMEDOUT;
    } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      err = errno;
    }
    if (err != 0) {
      ::close(fd);
      errno = err;
      return -1;
    }
  }
  return fd;
}

std::string try_connect(const std::string& host, long long port) {
  const int fd = connect_to(host, port, 2000);
  const int err = fd < 0 ? errno : 0;
  if (fd >= 0) ::close(fd);
  return "{\"errno\":" + std::to_string(err) + "}";
}

std::string http_request(const std::string& ev) {
  const int fd = connect_to(get_string(ev, "host", "127.0.0.1"), get_number(ev, "port", 0), 2000);
  if (fd < 0) return "{\"errno\":" + std::to_string(errno) + ",\"status\":0,\"request_id\":\"\"}";
  const std::string req = get_string(ev, "method", "GET") + " " + get_string(ev, "path", "/") +
                          " HTTP/1.0\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  write_all(fd, req);
  std::string reply;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 3000) != 1) break;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
    if (reply.find("\r\n\r\n") != std::string::npos) break;
  }
  ::close(fd);
  int status = 0;
  if (reply.size() > 12) status = std::atoi(reply.c_str() + 9);
  std::string id;
  const auto at = reply.find("Lambda-Runtime-Aws-Request-Id: ");
  if (at != std::string::npos) {
    const auto start = at + 31;
    id = reply.substr(start, reply.find("\r\n", start) - start);
  }
  return "{\"errno\":0,\"status\":" + std::to_string(status) + ",\"request_id\":\"" +
         lambdad::json_escape(id) + "\"}";
}

std::string read_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "{\"errno\":" + std::to_string(errno) + ",\"bytes\":0}";
  long long total = 0;
  int err = 0;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) err = errno;
    if (n <= 0) break;
    total += n;
  }
  ::close(fd);
  return "{\"errno\":" + std::to_string(err) + ",\"bytes\":" + std::to_string(total) + "}";
}

unsigned long long g_served = 0;

bool append_line(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  return ok;
}

InvocationResponse flaky(const std::string& path, long long fail) {
  long long count = 0;
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    if (std::fscanf(f, "%lld", &count) != 1) count = 0;
    std::fclose(f);
  }
  ++count;
  if (FILE* f = std::fopen(path.c_str(), "w")) {
    std::fprintf(f, "%lld\n", count);
    std::fclose(f);
  }
  if (count <= fail)
    return InvocationResponse::failure("flaky attempt " + std::to_string(count), "ProbeError");
  return InvocationResponse::success("{\"attempt\":" + std::to_string(count) + "}");
}

InvocationResponse handle(const lambdad::InvocationRequest& req) {
  ++g_served;
  const std::string& ev = req.payload;
  if (const char* record = std::getenv("PROBE_RECORD")) {
    if (!append_line(record, ev + "\n"))
      return InvocationResponse::failure("cannot append to " + std::string(record), "ProbeError");
    return InvocationResponse::success("{}");
  }
  std::string action = get_string(ev, "action", "echo");
  if (action == "echo") return InvocationResponse::success(ev);
  if (action == "env") return InvocationResponse::success(env_json());
  if (action == "context") {
    const char* v = std::getenv("AWS_LAMBDA_FUNCTION_VERSION");
    return InvocationResponse::success("{\"invoked_function_arn\":\"" + req.invoked_function_arn +
                                       "\",\"version\":\"" + std::string(v ? v : "") + "\"}");
  }
  if (action == "sleep") {
    long long ms = get_number(ev, "ms", 0);
    sleep_ms(ms);
    return InvocationResponse::success("{\"slept_ms\":" + std::to_string(ms) + "}");
  }
  if (action == "crash") {
    std::fflush(nullptr);
    std::_Exit(static_cast<int>(get_number(ev, "code", 1)));
  }
  if (action == "signal") {
    std::signal(SIGSEGV, SIG_DFL);
    std::raise(SIGSEGV);
    std::_Exit(139);  // not reached
  }
  if (action == "error") {
    return InvocationResponse::failure(get_string(ev, "message", "probe error"), "ProbeError");
  }
  if (action == "print") {
    std::string text = get_string(ev, "text", "");
    std::string line = text;
    if (line.empty() || line.back() != '\n') line += '\n';
    write_all(STDOUT_FILENO, line);
    write_all(STDERR_FILENO, line);
    return InvocationResponse::success("{\"printed\":" + std::to_string(text.size()) + "}");
  }
  if (action == "spew") {  // `mb` MiB of log lines to stdout, as fast as the pipe takes them
    const long long mb = get_number(ev, "mb", 1);
    std::string chunk;
    while (chunk.size() < 64 * 1024) chunk += "spew spew spew spew spew spew spew spew spew spew\n";
    long long left = mb * 1024 * 1024;
    while (left > 0) {
      const size_t n = static_cast<size_t>(std::min<long long>(left, (long long)chunk.size()));
      write_all(STDOUT_FILENO, std::string_view(chunk).substr(0, n));
      left -= static_cast<long long>(n);
    }
    return InvocationResponse::success("{\"spewed_mb\":" + std::to_string(mb) + "}");
  }
  if (action == "append") {
    const std::string path = get_string(ev, "path", "");
    if (!append_line(path, get_string(ev, "id", "") + " " + req.request_id + "\n"))
      return InvocationResponse::failure("cannot append to " + path, "ProbeError");
    sleep_ms(get_number(ev, "ms", 0));
    return InvocationResponse::success("{\"appended\":true}");
  }
  if (action == "flaky") return flaky(get_string(ev, "path", ""), get_number(ev, "fail", 0));
  if (action == "counter") return InvocationResponse::success(std::to_string(g_served));
  if (action == "big") {
    long long n = get_number(ev, "bytes", 0);
    std::size_t len = n < 2 ? 2 : static_cast<std::size_t>(n);
    std::string out(len, 'a');
    out.front() = '"';
    out.back() = '"';
    return InvocationResponse::success(std::move(out));
  }
  if (action == "alloc") {
    long long mb = get_number(ev, "mb", 0);
    if (!touch_memory(mb)) {
      return InvocationResponse::failure("mmap of " + std::to_string(mb) + " MiB failed",
                                         "ProbeError");
    }
    return InvocationResponse::success("{\"allocated_mb\":" + std::to_string(mb) + "}");
  }
  if (action == "write") return InvocationResponse::success(write_file(ev));
  if (action == "fork") return InvocationResponse::success(fork_many(get_number(ev, "count", 1)));
  if (action == "cpu") return InvocationResponse::success(spin(get_number(ev, "ms", 0)));
  if (action == "connect")
    return InvocationResponse::success(
        try_connect(get_string(ev, "host", "127.0.0.1"), get_number(ev, "port", 0)));
  if (action == "http") return InvocationResponse::success(http_request(ev));
  if (action == "read") return InvocationResponse::success(read_path(get_string(ev, "path", "")));
  return InvocationResponse::failure("unknown action: " + action, "ProbeError");
}

}  // namespace

int main() {
  if (const char* init = std::getenv("PROBE_INIT")) {
    std::string_view mode(init);
    if (mode == "crash") std::_Exit(3);
    if (mode == "error") {
      return lambdad::report_init_error("probe init failed as asked", "ProbeInitError");
    }
    if (mode.substr(0, 6) == "sleep:") sleep_ms(std::atoll(init + 6));
  }
  return lambdad::run(handle);
}
