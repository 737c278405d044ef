// The Runtime API (/2018-06-01/runtime/...) served to ONE execution environment.
// Each environment gets its own listener on 127.0.0.1:<ephemeral port>, so no
// environment can see, take or answer another's invocation: the port is the identity. An
// environment with an isolated network has its listener inside its own network namespace
// (127.0.0.1:9001 there), unreachable from the host and from other environments.
// Thread rules: everything runs on the io thread that owns the io_context; the Handler is
// called on that thread and must not block.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace lambdad::runtime_api {

// Largest buffered /response the platform accepts: 6 MiB + 100 bytes, as Lambda's RIE.
inline constexpr uint64_t kMaxResponseBytes = 6 * 1024 * 1024 + 100;

struct NextEvent {
  std::string request_id;
  std::shared_ptr<const std::string> payload;  // shared with the invocation: no copy per event
  int64_t deadline_ms = 0;                     // epoch ms
  std::string invoked_function_arn;
  std::string trace_id;
  std::string client_context;  // decoded JSON, "" when none
};

struct PostResult {
  int status = 202;  // 202 accepted; 400 InvalidRequestID; 403 InvalidStateTransition
  std::string error_type;
  std::string error_message;
  static PostResult accepted() { return {}; }
};

// Implemented by the invoker's execution environment.
class Handler {
 public:
  virtual ~Handler() = default;
  // GET /next. Call deliver exactly once, now or later; nullptr = the environment is
  // going away (the runtime gets 500 and should exit).
  using Deliver = std::function<void(std::shared_ptr<const NextEvent>)>;
  virtual void next(Deliver deliver) = 0;
  // POST /invocation/{id}/response with the full body (already size-checked).
  virtual PostResult response(std::string_view request_id, std::string body) = 0;
  // POST /invocation/{id}/error; also a /response that ended with error trailers.
  virtual PostResult error(std::string_view request_id, std::string body,
                           std::string error_type) = 0;
  // A /response larger than kMaxResponseBytes (size 0 = unknown, chunked).
  virtual void response_too_large(std::string_view request_id, uint64_t size) = 0;
  virtual PostResult init_error(std::string body, std::string error_type) = 0;
};

class Endpoint {
 public:
  // Listens on 127.0.0.1:0. The handler must outlive the endpoint or call stop() first.
  static Result<std::unique_ptr<Endpoint>> start(boost::asio::io_context& io, Handler& handler);
  // Serves on `listener`, a TCP socket already bound and listening (an isolated environment's
  // socket, created inside its network namespace); takes ownership. `address` is what the
  // environment sees ("127.0.0.1:9001").
  static Result<std::unique_ptr<Endpoint>> adopt(boost::asio::io_context& io, Handler& handler,
                                                 UniqueFd listener, std::string address);
  ~Endpoint();  // stops
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // "127.0.0.1:<port>", the value of AWS_LAMBDA_RUNTIME_API.
  const std::string& address() const { return address_; }
  // Closes the listener and every connection; the handler is not called again.
  void stop();
  // From now on, accept only connections whose peer socket is owned by `uid` (peer.h); others
  // are closed unread. For host-network environments, whose port any local process can reach.
  void restrict_peer_uid(uid_t uid);

  struct State;

 private:
  Endpoint() = default;
  std::shared_ptr<State> state_;
  std::string address_;
};

}  // namespace lambdad::runtime_api
