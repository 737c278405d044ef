// The Runtime API's request -> action logic (endpoint_internal.h), kept apart from the
// coroutine session code in endpoint.cc so the fuzz target links it alone (clang 14 cannot
// build the coroutines with the fuzzer's sanitizers).
#include <boost/beast/http.hpp>

#include "common/encoding.h"
#include "runtime_api/endpoint_internal.h"

namespace lambdad::runtime_api {

namespace http = boost::beast::http;

namespace {

Response json_reply(unsigned version, int status, std::string body) {
  Response res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

Response error_reply(unsigned version, int status, std::string_view type, std::string_view msg) {
  return json_reply(
      version, status,
      "{\"errorMessage\":\"" + escape(msg) + "\",\"errorType\":\"" + escape(type) + "\"}");
}

Response post_reply(unsigned version, const PostResult& r) {
  if (r.status == 202) return json_reply(version, 202, "{\"status\":\"OK\"}");
  return error_reply(version, r.status, r.error_type, r.error_message);
}

constexpr std::string_view kPrefix = "/2018-06-01/runtime/";

// Parses "invocation/<id>/response" etc. Returns the id and the verb.
bool split_invocation(std::string_view rest, std::string_view& id, std::string_view& verb) {
  constexpr std::string_view kInv = "invocation/";
  if (rest.substr(0, kInv.size()) != kInv) return false;
  rest.remove_prefix(kInv.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return false;
  id = rest.substr(0, slash);
  verb = rest.substr(slash + 1);
  return true;
}

}  // namespace

RouteMatch route_request(http::verb method, std::string_view target) {
  RouteMatch m;
  if (target == "/2018-06-01/ping" || target == "/ping") {
    m.route = Route::kPing;
    return m;
  }
  if (target.substr(0, kPrefix.size()) != kPrefix) return m;
  std::string_view rest = target.substr(kPrefix.size());
  std::string_view id, verb;
  if (method == http::verb::get && rest == "invocation/next") {
    m.route = Route::kNext;
  } else if (method == http::verb::post && rest == "init/error") {
    m.route = Route::kInitError;
  } else if (method == http::verb::post && split_invocation(rest, id, verb) &&
             (verb == "response" || verb == "error")) {
    m.route = verb == "response" ? Route::kResponse : Route::kError;
    m.request_id = std::string(id);
  }
  return m;
}

Response too_large_reply(unsigned version) {
  return error_reply(version, 413, "RequestEntityTooLarge",
                     "Exceeded maximum allowed payload size (6291556 bytes).");
}

Response next_reply(unsigned version, const NextEvent* ev) {
  if (ev == nullptr)
    return error_reply(version, 500, "InternalServerError", "Internal Server Error");
  Response res{http::status::ok, version};
  res.set(http::field::content_type, "application/json");
  res.set("Lambda-Runtime-Aws-Request-Id", ev->request_id);
  res.set("Lambda-Runtime-Deadline-Ms", std::to_string(ev->deadline_ms));
  res.set("Lambda-Runtime-Invoked-Function-Arn", ev->invoked_function_arn);
  res.set("Lambda-Runtime-Trace-Id", ev->trace_id);
  if (!ev->client_context.empty()) res.set("Lambda-Runtime-Client-Context", ev->client_context);
  res.body() = !ev->payload || ev->payload->empty() ? std::string("{}") : *ev->payload;
  res.prepare_payload();
  return res;
}

Response dispatch(Handler& handler, const RouteMatch& match, Request& req) {
  const unsigned version = req.version();
  switch (match.route) {
    case Route::kResponse: {
      // Streamed errors arrive as trailers; Beast merges trailers into the fields.
      auto trailer_type = req.find("Lambda-Runtime-Function-Error-Type");
      auto trailer_body = req.find("Lambda-Runtime-Function-Error-Body");
      if (trailer_body != req.end() && trailer_type != req.end()) {
        auto decoded = base64_decode(trailer_body->value());
        return post_reply(
            version, handler.error(match.request_id, decoded ? std::move(*decoded) : std::string(),
                                   std::string(trailer_type->value())));
      }
      return post_reply(version, handler.response(match.request_id, std::move(req.body())));
    }
    case Route::kError: {
      auto type = req.find("Lambda-Runtime-Function-Error-Type");
      return post_reply(version,
                        handler.error(match.request_id, std::move(req.body()),
                                      type != req.end() ? std::string(type->value()) : ""));
    }
    case Route::kInitError: {
      auto type = req.find("Lambda-Runtime-Function-Error-Type");
      return post_reply(version,
                        handler.init_error(std::move(req.body()),
                                           type != req.end() ? std::string(type->value()) : ""));
    }
    case Route::kPing:
      return json_reply(version, 200, "{}");
    case Route::kNext:  // answered by the session once an event is there
    case Route::kNotFound:
      break;
  }
  return error_reply(version, 404, "InvalidRequest", "Not found: " + std::string(req.target()));
}

}  // namespace lambdad::runtime_api
