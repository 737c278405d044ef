// lambdad function SDK: write an AWS Lambda custom-runtime `bootstrap` in C++.
//
//   int main() {
//     return lambdad::run([](const lambdad::InvocationRequest& req) {
//       return lambdad::InvocationResponse::success(req.payload);
//     });
//   }
//
// The SDK speaks only the public Lambda Runtime API (2018-06-01) over plain HTTP/1.1 on a
// blocking POSIX socket, so the same binary runs on lambdad and on AWS Lambda
// (provided.al2023). It depends on nothing but the C++ standard library and libc: binary
// size and init time are features here.
//
// Thread rules: run() and report_init_error() are blocking and single-threaded; call them from
// one thread. The handler is called on the thread that called run(), one invocation at a time.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace lambdad {

// One invocation as delivered by GET /runtime/invocation/next.
struct InvocationRequest {
  std::string payload;                    // event bytes, exactly as the caller sent them
  std::string request_id;                 // Lambda-Runtime-Aws-Request-Id
  std::string invoked_function_arn;       // Lambda-Runtime-Invoked-Function-Arn
  std::string client_context;             // Lambda-Runtime-Client-Context (JSON), may be empty
  std::string cognito_identity;           // Lambda-Runtime-Cognito-Identity (JSON), may be empty
  std::string xray_trace_id;              // Lambda-Runtime-Trace-Id, may be empty
  std::chrono::milliseconds deadline{0};  // Lambda-Runtime-Deadline-Ms: Unix epoch milliseconds

  // Time left until the deadline by the system clock; negative once it has passed.
  std::chrono::milliseconds get_time_remaining() const;
};

// What a handler returns: a success payload or a function error.
class InvocationResponse {
 public:
  // Posted to /response with this Content-Type.
  static InvocationResponse success(std::string payload,
                                    std::string content_type = "application/json");
  // Posted to /error as {"errorMessage":..,"errorType":..,"stackTrace":[]} with the header
  // Lambda-Runtime-Function-Error-Type: error_type. The caller sees the body verbatim.
  static InvocationResponse failure(std::string error_message, std::string error_type);

  bool is_success() const { return success_; }
  // The bytes that will be posted: the success payload or the error JSON.
  const std::string& payload() const { return payload_; }
  const std::string& content_type() const { return content_type_; }
  // Empty for a success.
  const std::string& error_type() const { return error_type_; }

 private:
  InvocationResponse() = default;

  bool success_ = false;
  std::string payload_;
  std::string content_type_;
  std::string error_type_;
};

using Handler = std::function<InvocationResponse(const InvocationRequest&)>;

// Runs the invoke loop against AWS_LAMBDA_RUNTIME_API: GET /next, call handler, POST the result,
// forever. A std::exception thrown by the handler is posted to /error with its message and its
// demangled type as errorType; any other thrown value with its demangled type too. Before each call
// it sets _X_AMZN_TRACE_ID from the trace header, and after it flushes stdout. Returns the process
// exit status on a fatal failure (no or bad AWS_LAMBDA_RUNTIME_API, the Runtime API unreachable
// after retries, or answering 5xx): write `return lambdad::run(h);`.
int run(Handler handler);

// Reports a failed function init: POST /runtime/init/error with the error JSON and header as in
// InvocationResponse::failure. Returns the exit status to leave with (always nonzero); the
// platform delivers the error to the first invoke. Call it instead of run().
int report_init_error(std::string_view error_message, std::string_view error_type);

// Escapes s for use inside a JSON string literal (without the surrounding quotes): ", \ and
// control characters; other bytes, including UTF-8 sequences, pass through unchanged.
std::string json_escape(std::string_view s);

}  // namespace lambdad
