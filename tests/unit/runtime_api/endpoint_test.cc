// The Runtime API endpoint against a real client socket: routing, chunked bodies with
// trailers, size limits and the request-id checks the handler makes.
#include "runtime_api/endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "runtime_api/endpoint_internal.h"
#include "runtime_api/peer.h"

namespace lambdad::runtime_api {
namespace {

struct FakeHandler : Handler {
  std::string current_id = "req-1";
  std::string last_response, last_error, last_error_type, init_error_body;
  uint64_t too_large = 0;
  bool answered = false;
  void next(Deliver deliver) override {
    auto ev = std::make_shared<NextEvent>();
    ev->request_id = current_id;
    ev->payload = std::make_shared<const std::string>("{\"k\":1}");
    ev->deadline_ms = 1700000000000;
    ev->invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
    ev->trace_id = "Root=1-abc";
    ev->client_context = "{\"custom\":{}}";
    answered = false;
    deliver(ev);
  }
  PostResult response(std::string_view id, std::string body) override {
    if (id != current_id) return {400, "InvalidRequestID", "Invalid request ID"};
    if (answered) return {403, "InvalidStateTransition", "State transition not allowed"};
    answered = true;
    last_response = std::move(body);
    return PostResult::accepted();
  }
  PostResult error(std::string_view id, std::string body, std::string type) override {
    if (id != current_id) return {400, "InvalidRequestID", "Invalid request ID"};
    last_error = std::move(body);
    last_error_type = std::move(type);
    return PostResult::accepted();
  }
  void response_too_large(std::string_view, uint64_t size) override { too_large = size ? size : 1; }
  PostResult init_error(std::string body, std::string) override {
    init_error_body = std::move(body);
    return PostResult::accepted();
  }
};

class EndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ep = Endpoint::start(io_, handler_);
    ASSERT_TRUE(ep.ok());
    endpoint_ = std::move(*ep);
    port_ = static_cast<uint16_t>(std::stoi(endpoint_->address().substr(10)));
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    boost::asio::post(io_, [this] { endpoint_.reset(); });
    work_.reset();
    io_.stop();
    thread_.join();
  }

  int connect_fd() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  }
  // Sends raw bytes, reads until the peer closes or a full response with Content-Length arrives.
  std::string exchange(int fd, const std::string& raw) {
    EXPECT_EQ(::write(fd, raw.data(), raw.size()), ssize_t(raw.size()));
    std::string out;
    char buf[8192];
    for (;;) {
      const size_t end = out.find("\r\n\r\n");
      if (end != std::string::npos) {
        const size_t cl = out.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) {
          const size_t len = std::stoul(out.substr(cl + 16));
          if (out.size() >= end + 4 + len) return out;
        }
      }
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) return out;
      out.append(buf, size_t(n));
    }
  }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  FakeHandler handler_;
  std::unique_ptr<Endpoint> endpoint_;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(EndpointTest, NextCarriesEveryHeaderAndDecodedClientContext) {
  int fd = connect_fd();
  const std::string r =
      exchange(fd, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  EXPECT_NE(r.find("Lambda-Runtime-Aws-Request-Id: req-1\r\n"), std::string::npos);
  EXPECT_NE(r.find("Lambda-Runtime-Deadline-Ms: 1700000000000\r\n"), std::string::npos);
  EXPECT_NE(r.find("Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:"),
            std::string::npos);
  EXPECT_NE(r.find("Lambda-Runtime-Trace-Id: Root=1-abc\r\n"), std::string::npos);
  EXPECT_NE(r.find("Lambda-Runtime-Client-Context: {\"custom\":{}}\r\n"), std::string::npos);
  EXPECT_NE(r.find("Content-Type: application/json"), std::string::npos);
  EXPECT_NE(r.find("\r\n\r\n{\"k\":1}"), std::string::npos);
  ::close(fd);
}

TEST_F(EndpointTest, ResponseAcceptedOnceThenInvalidStateTransition) {
  int fd = connect_fd();
  const std::string post =
      "POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\nHost: x\r\n"
      "Content-Length: 4\r\n\r\n\"ok\"";
  EXPECT_NE(exchange(fd, post).find("HTTP/1.1 202"), std::string::npos);
  const std::string again = exchange(fd, post);
  EXPECT_NE(again.find("HTTP/1.1 403"), std::string::npos) << again;
  EXPECT_NE(again.find("\"errorType\":\"InvalidStateTransition\""), std::string::npos);
  ::close(fd);
  EXPECT_EQ(handler_.last_response, "\"ok\"");
}

TEST_F(EndpointTest, WrongRequestIdIsRejected) {
  int fd = connect_fd();
  const std::string r = exchange(fd,
                                 "POST /2018-06-01/runtime/invocation/someone-else/response "
                                 "HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_NE(r.find("HTTP/1.1 400"), std::string::npos) << r;
  EXPECT_NE(r.find("InvalidRequestID"), std::string::npos);
  ::close(fd);
  EXPECT_TRUE(handler_.last_response.empty());
}

TEST_F(EndpointTest, ChunkedResponseWithErrorTrailersBecomesAnError) {
  int fd = connect_fd();
  // base64 of {"errorMessage":"boom","errorType":"Stream"}
  const std::string r =
      exchange(fd,
               "POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\nHost: x\r\n"
               "Transfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type, "
               "Lambda-Runtime-Function-Error-Body\r\n\r\n"
               "5\r\nhello\r\n0\r\nLambda-Runtime-Function-Error-Type: Stream.Failed\r\n"
               "Lambda-Runtime-Function-Error-Body: "
               "eyJlcnJvck1lc3NhZ2UiOiJib29tIiwiZXJyb3JUeXBlIjoiU3RyZWFtIn0=\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 202"), std::string::npos) << r;
  ::close(fd);
  EXPECT_EQ(handler_.last_error_type, "Stream.Failed");
  EXPECT_EQ(handler_.last_error, "{\"errorMessage\":\"boom\",\"errorType\":\"Stream\"}");
}

TEST_F(EndpointTest, ChunkedPlainResponseIsReassembled) {
  int fd = connect_fd();
  const std::string r = exchange(fd,
                                 "POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\n"
                                 "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 202"), std::string::npos) << r;
  ::close(fd);
  EXPECT_EQ(handler_.last_response, "{\"a\":1}");
}

TEST_F(EndpointTest, OversizeResponseGets413WithLambdaBody) {
  int fd = connect_fd();
  const std::string r =
      exchange(fd,
               "POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\nHost: x\r\n"
               "Content-Length: 7340060\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 413"), std::string::npos) << r;
  EXPECT_NE(r.find("Exceeded maximum allowed payload size (6291556 bytes)."), std::string::npos);
  ::close(fd);
  EXPECT_EQ(handler_.too_large, 7340060u);
}

TEST_F(EndpointTest, InitErrorAndUnknownPaths) {
  int fd = connect_fd();
  EXPECT_NE(exchange(fd,
                     "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 2\r\n\r\n{}")
                .find("HTTP/1.1 202"),
            std::string::npos);
  EXPECT_EQ(handler_.init_error_body, "{}");
  EXPECT_NE(exchange(fd, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").find("HTTP/1.1 404"),
            std::string::npos);
  ::close(fd);
}

// The request -> action table on its own (endpoint_internal.h), as the fuzz target drives it.
TEST(RuntimeApiRouteTest, MethodAndTargetDecideTheRoute) {
  namespace http = boost::beast::http;
  struct Case {
    http::verb method;
    std::string_view target;
    Route route;
    std::string_view id;
  };
  const Case cases[] = {
      {http::verb::get, "/2018-06-01/runtime/invocation/next", Route::kNext, ""},
      {http::verb::post, "/2018-06-01/runtime/invocation/next", Route::kNotFound, ""},
      {http::verb::post, "/2018-06-01/runtime/invocation/abc/response", Route::kResponse, "abc"},
      {http::verb::post, "/2018-06-01/runtime/invocation/abc/error", Route::kError, "abc"},
      {http::verb::post, "/2018-06-01/runtime/invocation//response", Route::kResponse, ""},
      {http::verb::post, "/2018-06-01/runtime/invocation/a/b/response", Route::kNotFound, ""},
      {http::verb::get, "/2018-06-01/runtime/invocation/abc/response", Route::kNotFound, ""},
      {http::verb::post, "/2018-06-01/runtime/invocation/", Route::kNotFound, ""},
      {http::verb::post, "/2018-06-01/runtime/init/error", Route::kInitError, ""},
      {http::verb::get, "/2018-06-01/ping", Route::kPing, ""},
      {http::verb::get, "/ping", Route::kPing, ""},
      {http::verb::get, "", Route::kNotFound, ""},
      {http::verb::get, "/2018-06-01/runtime/", Route::kNotFound, ""},
  };
  for (const auto& c : cases) {
    const RouteMatch m = route_request(c.method, c.target);
    EXPECT_EQ(m.route, c.route) << c.target;
    EXPECT_EQ(m.request_id, c.id) << c.target;
  }
}

TEST(RuntimeApiRouteTest, DispatchAnswersWithoutASocket) {
  FakeHandler h;
  Request req{boost::beast::http::verb::post, "/2018-06-01/runtime/invocation/req-1/response", 11};
  req.body() = "{\"ok\":true}";
  const Response res = dispatch(h, route_request(req.method(), req.target()), req);
  EXPECT_EQ(res.result_int(), 202);
  EXPECT_EQ(h.last_response, "{\"ok\":true}");
  Request bad{boost::beast::http::verb::get, "/x", 11};
  EXPECT_EQ(dispatch(h, route_request(bad.method(), bad.target()), bad).result_int(), 404);
  EXPECT_EQ(next_reply(11, nullptr).result_int(), 500);
}

}  // namespace
}  // namespace lambdad::runtime_api

namespace lambdad::runtime_api {
namespace {

TEST(LoopbackPeerTest, FindsTheOwnerUidOfTheConnectingSocket) {
  const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(l, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(l, 1), 0);
  ASSERT_EQ(::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  sockaddr_in mine{};
  len = sizeof mine;
  ASSERT_EQ(::getsockname(c, reinterpret_cast<sockaddr*>(&mine), &len), 0);
  EXPECT_EQ(loopback_peer_uid(ntohs(a.sin_port), ntohs(mine.sin_port)), ::geteuid());
  // No such connection: unknown, not some default uid.
  EXPECT_EQ(loopback_peer_uid(ntohs(a.sin_port), 1), std::nullopt);
  ::close(c);
  ::close(l);
}

}  // namespace
}  // namespace lambdad::runtime_api
