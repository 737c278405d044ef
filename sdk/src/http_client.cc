#include "http_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

// getaddrinfo is referenced weakly: a statically linked bootstrap then carries no NSS code
// (glibc's static getaddrinfo needs the shared NSS modules at run time anyway), and numeric
// addresses, which is what Lambda hands out, never need it. A dynamically linked one resolves
// names as usual.
#pragma weak getaddrinfo
#pragma weak freeaddrinfo

namespace lambdad::sdk_detail {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxLine = 64 * 1024;

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// Parses a decimal (base 10) or hex (base 16) unsigned number filling all of s.
bool parse_unsigned(std::string_view s, int base, std::size_t& out) {
  if (s.empty() || s.size() > 16) return false;
  std::size_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return false;
    }
    v = v * static_cast<std::size_t>(base) + static_cast<std::size_t>(d);
  }
  out = v;
  return true;
}

std::string errno_text(const char* what, int err) {
  std::string s = what;
  s += ": ";
  s += std::strerror(err);  // single-threaded SDK; strerror is fine here
  return s;
}

}  // namespace

bool parse_endpoint(std::string_view value, Endpoint& out) {
  std::string_view host, port;
  if (!value.empty() && value.front() == '[') {
    auto close = value.find(']');
    if (close == std::string_view::npos || close + 1 >= value.size() || value[close + 1] != ':') {
      return false;
    }
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
  } else {
    auto colon = value.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
  }
  std::size_t p = 0;
  if (host.empty() || !parse_unsigned(port, 10, p) || p == 0 || p > 65535) return false;
  out.host = std::string(host);
  out.port = std::string(port);
  return true;
}

const std::string* HttpResponse::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

void HttpResponse::clear() {
  status = 0;
  headers.clear();
  body.clear();
}

HttpClient::HttpClient(Endpoint endpoint) : endpoint_(std::move(endpoint)) {}

HttpClient::~HttpClient() { close_connection(); }

void HttpClient::close_connection() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  rpos_ = rlen_ = 0;
}

bool HttpClient::connect_once(std::string& error) {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::size_t port = 0;
  parse_unsigned(endpoint_.port, 10, port);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  std::string_view host = endpoint_.host;
  if (host == "localhost") host = "127.0.0.1";
  std::string host_z(host);
  if (inet_pton(AF_INET, host_z.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    addr_len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host_z.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    addr_len = sizeof(sockaddr_in6);
  } else if (&getaddrinfo != nullptr) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(host_z.c_str(), endpoint_.port.c_str(), &hints, &res);
    if (rc != 0 || res == nullptr) {
      error = "cannot resolve " + host_z;
      return false;
    }
    std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
    addr_len = res->ai_addrlen;
    freeaddrinfo(res);
  } else {
    error =
        "host " + host_z + " is not a numeric address and this static build cannot resolve names";
    return false;
  }

  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = errno_text("socket", errno);
    return false;
  }
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), addr_len);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    error = errno_text(("connect " + endpoint_.host + ":" + endpoint_.port).c_str(), errno);
    ::close(fd);
    return false;
  }
  // Each request goes out in one sendmsg; without NODELAY a small write after a read can sit
  // behind the peer's delayed ACK.
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fd_ = fd;
  rpos_ = rlen_ = 0;
  return true;
}

bool HttpClient::send_all(const std::string_view* parts, int count, std::string& error) {
  iovec iov[3];
  int iovcnt = 0;
  for (int i = 0; i < count && iovcnt < 3; ++i)
    if (!parts[i].empty()) iov[iovcnt++] = {const_cast<char*>(parts[i].data()), parts[i].size()};
  iovec* cur = iov;
  while (iovcnt > 0) {
    msghdr msg{};
    msg.msg_iov = cur;
    msg.msg_iovlen = static_cast<std::size_t>(iovcnt);
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = errno_text("send", errno);
      return false;
    }
    auto left = static_cast<std::size_t>(n);
    while (iovcnt > 0 && left >= cur->iov_len) {
      left -= cur->iov_len;
      ++cur;
      --iovcnt;
    }
    if (iovcnt > 0) {
      cur->iov_base = static_cast<char*>(cur->iov_base) + left;
      cur->iov_len -= left;
    }
  }
  return true;
}

bool HttpClient::fill(std::string& error) {
  if (rpos_ == rlen_) {
    rpos_ = rlen_ = 0;
  } else if (rpos_ > 0 && rlen_ == rbuf_.size()) {
    std::memmove(rbuf_.data(), rbuf_.data() + rpos_, rlen_ - rpos_);
    rlen_ -= rpos_;
    rpos_ = 0;
  }
  // Sized once and reused: a per-read resize would zero-fill the buffer on every response.
  if (rlen_ == rbuf_.size()) rbuf_.resize(std::max(kReadChunk, rbuf_.size() * 2));
  ssize_t n;
  do {
    n = ::recv(fd_, rbuf_.data() + rlen_, rbuf_.size() - rlen_, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    error = n == 0 ? "connection closed by peer" : errno_text("recv", errno);
    return false;
  }
  rlen_ += static_cast<std::size_t>(n);
  return true;
}

bool HttpClient::read_line(std::string_view& line, std::string& error) {
  for (;;) {
    const char* start = rbuf_.data() + rpos_;
    const auto* nl = static_cast<const char*>(std::memchr(start, '\n', rlen_ - rpos_));
    if (nl != nullptr) {
      line = std::string_view(start, static_cast<std::size_t>(nl - start));
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      rpos_ += static_cast<std::size_t>(nl - start) + 1;
      return true;
    }
    if (rlen_ - rpos_ > kMaxLine) {
      error = "HTTP line too long";
      return false;
    }
    if (!fill(error)) return false;
  }
}

bool HttpClient::read_exact(std::size_t n, std::string& dest, std::string& error) {
  std::size_t have = std::min(n, rlen_ - rpos_);
  dest.append(rbuf_.data() + rpos_, have);
  rpos_ += have;
  n -= have;
  if (n == 0) return true;
  // Large bodies go straight from the socket into dest.
  std::size_t old = dest.size();
  dest.resize(old + n);
  char* p = dest.data() + old;
  while (n > 0) {
    ssize_t r = ::recv(fd_, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      error = r == 0 ? "connection closed mid-body" : errno_text("recv", errno);
      return false;
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool HttpClient::read_head(HttpResponse& out, bool& any_byte, std::string& error) {
  for (;;) {  // skips 1xx interim responses
    if (rpos_ == rlen_) {
      if (!fill(error)) return false;
    }
    any_byte = true;
    std::string_view line;
    if (!read_line(line, error)) return false;
    // "HTTP/1.1 200 OK"
    auto sp = line.find(' ');
    std::size_t status = 0;
    if (line.substr(0, 5) != "HTTP/" || sp == std::string_view::npos ||
        !parse_unsigned(line.substr(sp + 1, 3), 10, status)) {
      error = "malformed HTTP status line";
      return false;
    }
    out.status = static_cast<int>(status);
    out.headers.clear();
    for (;;) {
      if (!read_line(line, error)) return false;
      if (line.empty()) break;
      auto colon = line.find(':');
      if (colon == std::string_view::npos) {
        error = "malformed HTTP header";
        return false;
      }
      std::string name(line.substr(0, colon));
      for (char& c : name) c = ascii_lower(c);
      out.headers.emplace_back(std::move(name), std::string(trim(line.substr(colon + 1))));
    }
    if (out.status >= 200) return true;
  }
}

bool HttpClient::read_chunked(std::string& body, std::string& error) {
  for (;;) {
    std::string_view line;
    if (!read_line(line, error)) return false;
    auto semi = line.find(';');  // chunk extensions are ignored
    std::size_t size = 0;
    if (!parse_unsigned(trim(line.substr(0, semi)), 16, size)) {
      error = "malformed chunk size";
      return false;
    }
    if (size == 0) break;
    if (!read_exact(size, body, error)) return false;
    if (!read_line(line, error)) return false;
    if (!line.empty()) {
      error = "malformed chunk terminator";
      return false;
    }
  }
  for (;;) {  // trailers, ignored, up to the blank line
    std::string_view line;
    if (!read_line(line, error)) return false;
    if (line.empty()) return true;
  }
}

int HttpClient::attempt(std::string_view head, std::string_view body, HttpResponse& out,
                        std::string& error) {
  const std::string_view parts[2] = {head, body};
  if (!send_all(parts, 2, error)) return 1;
  return read_response(out, error);
}

int HttpClient::read_response(HttpResponse& out, std::string& error) {
  bool any_byte = false;
  if (!read_head(out, any_byte, error)) return any_byte ? 2 : 1;

  bool close_after = false;
  if (const std::string* conn = out.header("connection")) close_after = iequals(*conn, "close");
  const std::string* te = out.header("transfer-encoding");
  const std::string* cl = out.header("content-length");
  if (out.status == 204 || out.status == 304) {
    // no body
  } else if (te != nullptr && !iequals(*te, "identity")) {
    if (!read_chunked(out.body, error)) return 2;
  } else if (cl != nullptr) {
    std::size_t len = 0;
    if (!parse_unsigned(*cl, 10, len)) {
      error = "malformed Content-Length";
      return 2;
    }
    out.body.reserve(len);
    if (!read_exact(len, out.body, error)) return 2;
  } else {
    // No framing: the body runs to the end of the connection.
    out.body.append(rbuf_.data() + rpos_, rlen_ - rpos_);
    rpos_ = rlen_;
    std::string ignored;
    while (fill(ignored)) {
      out.body.append(rbuf_.data() + rpos_, rlen_ - rpos_);
      rpos_ = rlen_;
    }
    close_after = true;
  }
  if (close_after) close_connection();
  return 0;
}

void HttpClient::build_head(std::string& head, std::string_view method, std::string_view path,
                            const HeaderList& headers, std::string_view body) const {
  head.clear();
  head.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ");
  head.append(endpoint_.host).append(":").append(endpoint_.port);
  head.append("\r\nUser-Agent: lambdad-sdk/0.1\r\n");
  for (const auto& [name, value] : headers) {
    head.append(name).append(": ").append(value).append("\r\n");
  }
  if (method != "GET" || !body.empty()) {
    char digits[24];
    char* end = digits + sizeof digits;
    char* p = end;
    std::size_t v = body.size();
    do {
      *--p = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    head.append("Content-Length: ").append(p, static_cast<std::size_t>(end - p)).append("\r\n");
  }
  head.append("\r\n");
}

bool HttpClient::request(std::string_view method, std::string_view path, const HeaderList& headers,
                         std::string_view body, HttpResponse& out, std::string& error) {
  build_head(head_, method, path, headers, body);
  for (int tries = 0; tries < 2; ++tries) {
    bool reused = fd_ >= 0;
    if (!reused && !connect_once(error)) return false;
    out.clear();
    int rc = attempt(head_, body, out, error);
    if (rc == 0) return true;
    close_connection();
    if (rc == 2 || !reused) return false;
  }
  return false;
}

HttpClient::Pipelined HttpClient::request_then(std::string_view method, std::string_view path,
                                               const HeaderList& headers, std::string_view body,
                                               HttpResponse& out, std::string_view second_method,
                                               std::string_view second_path,
                                               HttpResponse& second_out, std::string& error) {
  build_head(head_, method, path, headers, body);
  build_head(head2_, second_method, second_path, {}, {});
  for (int tries = 0;; ++tries) {
    const bool reused = fd_ >= 0;
    if (!reused && !connect_once(error)) return Pipelined::kFirstFailed;
    out.clear();
    const std::string_view parts[3] = {head_, body, head2_};
    const int rc = send_all(parts, 3, error) ? read_response(out, error) : 1;
    if (rc == 0) break;
    close_connection();
    if (rc == 2 || !reused || tries == 1) return Pipelined::kFirstFailed;
  }
  if (fd_ >= 0) {  // the second request went out on this connection: its answer follows
    second_out.clear();
    const int rc = read_response(second_out, error);
    if (rc == 0) return Pipelined::kBoth;
    close_connection();
    if (rc == 2) return Pipelined::kSecondFailed;
  }
  // Closed after the first answer: the second was never read; send it again.
  return request(second_method, second_path, {}, {}, second_out, error) ? Pipelined::kBoth
                                                                        : Pipelined::kSecondFailed;
}

}  // namespace lambdad::sdk_detail
