// DynamoDbClient against a scripted loopback server: UnprocessedItems are re-sent, errors mapped.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "lambdad/aws.h"

namespace lambdad::aws {
namespace {

// Serves one keep-alive connection: answers request i with replies[i] (status, body) and records
// each request's head and body.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<std::pair<int, std::string>> replies)
      : replies_(std::move(replies)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 1);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    thread_.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  std::vector<std::string> heads, bodies;

 private:
  void serve() {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    std::string buf;
    char chunk[65536];
    for (const auto& [status, body] : replies_) {
      std::size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) return;
        buf.append(chunk, static_cast<std::size_t>(n));
      }
      std::string head = buf.substr(0, end);
      auto cl = head.find("Content-Length: ");
      std::size_t len = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 16));
      while (buf.size() < end + 4 + len) {
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) return;
        buf.append(chunk, static_cast<std::size_t>(n));
      }
      heads.push_back(head);
      bodies.push_back(buf.substr(end + 4, len));
      buf.erase(0, end + 4 + len);
      std::string resp = "HTTP/1.1 " + std::to_string(status) +
                         " X\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body;
      (void)!::write(fd, resp.data(), resp.size());
    }
    ::close(fd);
  }

  std::vector<std::pair<int, std::string>> replies_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(AwsDynamoDbClient, RetriesUnprocessedItems) {
  ScriptedServer server({
      {200, R"({"UnprocessedItems":{"t":[{"PutRequest":{"Item":{"id":{"S":"b"}}}}]}})"},
      {200, R"({"UnprocessedItems":{}})"},
  });
  DynamoDbClient ddb(ServiceEndpoint{"127.0.0.1", std::to_string(server.port())},
                     Credentials{"AK", "SK", ""}, "us-east-1");
  std::vector<Item> items = {{{"id", AttributeValue::string("a")}},
                             {{"id", AttributeValue::string("b")}}};
  AwsError e = ddb.batch_write_item("t", items, BatchWriteOptions{8, 1, 10});
  EXPECT_TRUE(e.ok()) << e.code << ": " << e.message;
  EXPECT_EQ(ddb.batch_calls(), 2u);
  ASSERT_EQ(server.bodies.size(), 2u);
  EXPECT_EQ(server.bodies[0], R"({"RequestItems":{"t":[{"PutRequest":{"Item":{"id":{"S":"a"}}}},)"
                              R"({"PutRequest":{"Item":{"id":{"S":"b"}}}}]}})");
  EXPECT_EQ(server.bodies[1],
            R"({"RequestItems":{"t":[{"PutRequest":{"Item":{"id":{"S":"b"}}}}]}})");
  EXPECT_NE(server.heads[0].find("x-amz-target: DynamoDB_20120810.BatchWriteItem"),
            std::string::npos);
  EXPECT_NE(server.heads[0].find("Authorization: AWS4-HMAC-SHA256 Credential=AK/"),
            std::string::npos);
}

TEST(AwsDynamoDbClient, GivesUpAfterMaxAttemptsAndMapsErrors) {
  std::string stuck = R"({"UnprocessedItems":{"t":[{"PutRequest":{"Item":{"id":{"S":"a"}}}}]}})";
  {
    ScriptedServer server({{200, stuck}, {200, stuck}});
    DynamoDbClient ddb(ServiceEndpoint{"127.0.0.1", std::to_string(server.port())},
                       Credentials{"AK", "SK", ""}, "us-east-1");
    AwsError e = ddb.batch_write_item("t", {{{"id", AttributeValue::string("a")}}},
                                      BatchWriteOptions{2, 1, 1});
    EXPECT_EQ(e.code, "UnprocessedItems");
  }
  {
    ScriptedServer server({{400, R"({"__type":"com.amazonaws.dynamodb.v20120810#)"
                                 R"(ResourceNotFoundException","message":"no table"})"}});
    DynamoDbClient ddb(ServiceEndpoint{"127.0.0.1", std::to_string(server.port())},
                       Credentials{"AK", "SK", ""}, "us-east-1");
    AwsError e = ddb.put_item("t", {{"id", AttributeValue::string("a")}});
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.code, "ResourceNotFoundException");
    EXPECT_EQ(e.message, "no table");
  }
}

}  // namespace
}  // namespace lambdad::aws
