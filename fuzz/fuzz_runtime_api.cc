// Raw bytes -> Beast request parser (the endpoint's limits) -> the Runtime API's routing and
// dispatch (runtime_api/endpoint_internal.h) against a handler that checks request ids the way
// an execution environment does: trailers, base64 error bodies, ids of any shape.
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <memory>
#include <string>

#include "runtime_api/endpoint_internal.h"

using namespace lambdad::runtime_api;
namespace http = boost::beast::http;

namespace {
struct Env : Handler {
  std::string current = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
  bool answered = false;
  void next(Deliver deliver) override { deliver(nullptr); }
  PostResult response(std::string_view id, std::string body) override {
    if (id != current) return {400, "InvalidRequestID", "Invalid request ID"};
    if (answered) return {403, "InvalidStateTransition", "State transition not allowed"};
    answered = body.size() % 2 == 0;
    return PostResult::accepted();
  }
  PostResult error(std::string_view id, std::string body, std::string type) override {
    if (id != current) return {400, "InvalidRequestID", std::string(id)};
    return {body.empty() ? 202 : 403, std::move(type), std::move(body)};
  }
  void response_too_large(std::string_view, uint64_t) override {}
  PostResult init_error(std::string body, std::string type) override {
    return {202, std::move(type), std::move(body)};
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(kMaxResponseBytes);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  auto& req = parser.get();
  const RouteMatch match = route_request(req.method(), req.target());
  Env env;
  Response res;
  if (match.route == Route::kNext) {
    NextEvent ev;
    ev.request_id = env.current;
    ev.payload = std::make_shared<const std::string>(req.body());
    ev.client_context = std::string(req.target());
    res = next_reply(req.version(), &ev);
  } else {
    res = dispatch(env, match, req);
  }
  // The reply must serialise: its fields and body are what the runtime reads next.
  http::response_serializer<http::string_body> sr{res};
  std::string out;
  for (;;) {
    sr.next(ec, [&](boost::beast::error_code&, const auto& buffers) {
      for (auto b : boost::beast::buffers_range_ref(buffers))
        out.append(static_cast<const char*>(b.data()), b.size());
      sr.consume(boost::beast::buffer_bytes(buffers));
    });
    if (ec || sr.is_done()) break;
  }
  if (ec) std::abort();
  return 0;
}
