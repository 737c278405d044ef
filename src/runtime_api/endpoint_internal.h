// The Runtime API's request -> action logic, apart from sockets, so unit tests and the fuzz
// target (fuzz/fuzz_runtime_api.cc) drive it with parsed requests. Used by endpoint.cc.
// Thread rules: pure functions; dispatch() calls the handler on the caller's thread.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <string>
#include <string_view>

#include "runtime_api/endpoint.h"

namespace lambdad::runtime_api {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

enum class Route { kNext, kResponse, kError, kInitError, kPing, kNotFound };

struct RouteMatch {
  Route route = Route::kNotFound;
  std::string request_id;  // kResponse / kError: the {id} of invocation/{id}/...
};

// What a request asks for, from its method and target alone (the header is enough).
RouteMatch route_request(boost::beast::http::verb method, std::string_view target);

// Lambda's 413 for a /response over kMaxResponseBytes.
Response too_large_reply(unsigned version);

// Answers a fully read request whose route is not kNext (a /next waits for an event and is
// answered with next_reply()). Calls the handler for /response, /error and /init/error.
Response dispatch(Handler& handler, const RouteMatch& match, Request& req);

// The /next answer carrying ev; a null ev (environment going away) is a 500.
Response next_reply(unsigned version, const NextEvent* ev);

}  // namespace lambdad::runtime_api
