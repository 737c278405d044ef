// FakeRuntimeApi: a scripted Lambda Runtime API on 127.0.0.1:0 for SDK and probe tests.
// One server thread serves connections one after another. Thread rules: the add_/set_ calls
// are meant before the client starts; posts() and connections() may be read any time.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lambdad::sdk_test {

struct Recorded {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// A scripted Runtime API. GET /next pops a canned raw HTTP response (so tests control framing
// byte for byte) and answers 500 when none is left; POSTs are recorded and answered with
// post_status (202 by default).
class FakeRuntimeApi {
 public:
  FakeRuntimeApi() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listen_fd_, 8), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeRuntimeApi() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    thread_.join();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Queues a /next answer with the given headers and a Content-Length body.
  void add_next(
      const std::string& request_id, const std::string& body,
      const std::string& extra_headers = "Lambda-Runtime-Deadline-Ms: 1700000000000\r\n") {
    add_next_raw(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        "Lambda-Runtime-Aws-Request-Id: " +
        request_id + "\r\n" + extra_headers + "Content-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body);
  }
  void add_next_raw(std::string raw) {
    std::lock_guard lock(mu_);
    nexts_.push_back(std::move(raw));
  }
  void set_post_status(int status) { post_status_ = status; }
  // Close each connection after answering, as a server dropping idle keep-alives would.
  void set_close_after_each(bool v) { close_after_each_ = v; }

  std::vector<Recorded> posts() {
    std::lock_guard lock(mu_);
    return posts_;
  }
  int connections() {
    std::lock_guard lock(mu_);
    return connections_;
  }

 private:
  void serve() {
    for (;;) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      {
        std::lock_guard lock(mu_);
        ++connections_;
      }
      serve_connection(fd);
      ::close(fd);
    }
  }

  static bool read_request(int fd, std::string& buf, Recorded& req) {
    std::size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      char tmp[65536];
      ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
    std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    auto sp1 = request_line.find(' ');
    auto sp2 = request_line.find(' ', sp1 + 1);
    req.method = request_line.substr(0, sp1);
    req.path = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      req.headers[name] = value;
      pos = e + 2;
    }
    std::size_t len = 0;
    if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
      len = std::stoul(it->second);
    }
    while (buf.size() < len) {
      char tmp[65536];
      ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
    req.body = buf.substr(0, len);
    buf.erase(0, len);
    return true;
  }

  static void send_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }

  void serve_connection(int fd) {
    std::string buf;
    for (;;) {
      Recorded req;
      if (!read_request(fd, buf, req)) return;
      std::string answer;
      if (req.method == "GET") {
        std::lock_guard lock(mu_);
        if (nexts_.empty()) {
          const std::string body = R"({"errorMessage":"no more","errorType":"Test"})";
          answer = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body;
        } else {
          answer = std::move(nexts_.front());
          nexts_.pop_front();
        }
      } else {
        int status = post_status_;
        {
          std::lock_guard lock(mu_);
          posts_.push_back(req);
        }
        const std::string body = status == 202 ? R"({"status":"OK"})" : R"({"errorType":"X"})";
        answer = "HTTP/1.1 " + std::to_string(status) +
                 " Whatever\r\nContent-Type: application/json\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body;
      }
      send_all(fd, answer);
      if (close_after_each_) return;
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::deque<std::string> nexts_;  // guarded by mu_
  std::vector<Recorded> posts_;    // guarded by mu_
  int connections_ = 0;            // guarded by mu_
  std::atomic<int> post_status_{202};
  std::atomic<bool> close_after_each_{false};
};

}  // namespace lambdad::sdk_test
