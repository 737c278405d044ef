// Minimal blocking HTTP/1.1 client for the Runtime API: one keep-alive connection to a
// numeric (or, when the libc provides getaddrinfo, named) host:port. Reads Content-Length,
// chunked and read-until-close bodies. Not a general-purpose client: no TLS, no redirects.
// Thread rules: one instance per thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lambdad::sdk_detail {

struct Endpoint {
  std::string host;  // as given, for the Host header
  std::string port;
};

// Splits "host:port" or "[v6]:port". Returns false if malformed.
bool parse_endpoint(std::string_view value, Endpoint& out);

struct HttpResponse {
  int status = 0;
  // Header names lower-cased; values trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Value of the first header named `lower_name` (lower case), or nullptr.
  const std::string* header(std::string_view lower_name) const;
  void clear();
};

using HeaderList = std::vector<std::pair<std::string_view, std::string_view>>;

class HttpClient {
 public:
  explicit HttpClient(Endpoint endpoint);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads the whole response into `out`. A request on a reused
  // connection that fails before any response byte arrives is retried once on a new
  // connection (the server may have closed an idle keep-alive). Returns false on a transport
  // failure with the reason in `error`; any HTTP status counts as success here.
  bool request(std::string_view method, std::string_view path, const HeaderList& headers,
               std::string_view body, HttpResponse& out, std::string& error);

  // HTTP/1.1 pipelining: sends the first request and a bodiless second one in one sendmsg,
  // then reads both answers in order. The first is retried as request() retries; the second
  // is sent again on a new connection if the first answer closed the connection or the
  // connection failed before its answer began. Returns kBoth, or which one failed (`error`).
  enum class Pipelined { kBoth, kFirstFailed, kSecondFailed };
  Pipelined request_then(std::string_view method, std::string_view path, const HeaderList& headers,
                         std::string_view body, HttpResponse& out, std::string_view second_method,
                         std::string_view second_path, HttpResponse& second_out,
                         std::string& error);

 private:
  bool connect_once(std::string& error);
  void close_connection();
  // 0 = ok, 1 = failed before any response byte (retryable), 2 = failed later.
  int attempt(std::string_view head, std::string_view body, HttpResponse& out, std::string& error);
  int read_response(HttpResponse& out, std::string& error);  // 0 / 1 / 2 as attempt()
  void build_head(std::string& head, std::string_view method, std::string_view path,
                  const HeaderList& headers, std::string_view body) const;
  bool send_all(const std::string_view* parts, int count, std::string& error);
  bool fill(std::string& error);  // reads more bytes into rbuf_; false on EOF or error
  bool read_line(std::string_view& line, std::string& error);
  bool read_exact(std::size_t n, std::string& dest, std::string& error);
  bool read_head(HttpResponse& out, bool& any_byte, std::string& error);
  bool read_chunked(std::string& body, std::string& error);

  Endpoint endpoint_;
  int fd_ = -1;           // owned
  std::string rbuf_;      // read buffer; its size is its capacity
  std::size_t rpos_ = 0;  // bytes of rbuf_ consumed
  std::size_t rlen_ = 0;  // bytes of rbuf_ filled
  std::string head_;      // reused request-head buffer
  std::string head2_;     // the pipelined second request's head
};

}  // namespace lambdad::sdk_detail
