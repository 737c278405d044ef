// One Beast HTTP/1.1 listener per execution environment. Sessions are coroutines; the
// shared State outlives every session so stop() can close them all.
#include "runtime_api/endpoint.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <limits>
#include <optional>
#include <set>

#include "common/encoding.h"
#include "runtime_api/linger.h"
#include "runtime_api/peer.h"
#include "runtime_api/write_now.h"

namespace lambdad::runtime_api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct Endpoint::State {
  explicit State(asio::io_context& io) : io(io), acceptor(io) {}
  asio::io_context& io;
  Handler* handler = nullptr;  // nullptr once stopped
  tcp::acceptor acceptor;
  std::set<tcp::socket*> sockets;
  std::optional<uid_t> peer_uid;  // when set, other peers are dropped at accept
};

namespace {

using Response = http::response<http::string_body>;
using NextPtr = std::shared_ptr<const NextEvent>;

// Suspends the session until the environment hands it an event (or nullptr).
template <class Token>
auto async_next(Handler* handler, Token&& token) {
  return asio::async_initiate<Token, void(NextPtr)>(
      [](auto completion, Handler* h) {
        auto shared = std::make_shared<decltype(completion)>(std::move(completion));
        h->next([shared](NextPtr ev) { (*shared)(std::move(ev)); });
      },
      token, handler);
}

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

Response next_reply(unsigned version, const NextEvent& ev) {
  Response res{http::status::ok, version};
  res.set(http::field::content_type, "application/json");
  res.set("Lambda-Runtime-Aws-Request-Id", ev.request_id);
  res.set("Lambda-Runtime-Deadline-Ms", std::to_string(ev.deadline_ms));
  res.set("Lambda-Runtime-Invoked-Function-Arn", ev.invoked_function_arn);
  res.set("Lambda-Runtime-Trace-Id", ev.trace_id);
  if (!ev.client_context.empty()) res.set("Lambda-Runtime-Client-Context", ev.client_context);
  res.body() = !ev.payload || ev.payload->empty() ? std::string("{}") : *ev.payload;
  res.prepare_payload();
  return res;
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

asio::awaitable<void> session(std::shared_ptr<Endpoint::State> st, tcp::socket sock) {
  st->sockets.insert(&sock);
  beast::flat_buffer buf;
  for (;;) {
    http::request_parser<http::string_body> parser;
    // Beast checks Content-Length against body_limit while reading the header; lift it
    // there so an oversize body gets Lambda's 413 instead of a dropped connection.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    auto [ec, n] = co_await http::async_read_header(sock, buf, parser, kTuple);
    if (ec || st->handler == nullptr) break;
    const auto& head = parser.get();
    const std::string target(head.target());
    const unsigned version = head.version();
    std::string_view rest(target);
    const bool is_get = head.method() == http::verb::get;
    const bool is_post = head.method() == http::verb::post;
    Response res;
    bool close = false;
    parser.body_limit(kMaxResponseBytes);

    std::string_view id, verb;
    const bool known = rest.substr(0, kPrefix.size()) == kPrefix;
    if (known) rest.remove_prefix(kPrefix.size());
    const bool is_result = known && is_post && split_invocation(rest, id, verb) &&
                           (verb == "response" || verb == "error");
    const std::string request_id(id);

    if (is_result && verb == "response" && parser.content_length() &&
        *parser.content_length() > kMaxResponseBytes) {
      // Do not read a body we will refuse; the connection closes after the reply.
      st->handler->response_too_large(request_id, *parser.content_length());
      res = error_reply(version, 413, "RequestEntityTooLarge",
                        "Exceeded maximum allowed payload size (6291556 bytes).");
      close = true;
    } else {
      if (!parser.is_done()) {
        auto [ec2, n2] = co_await http::async_read(sock, buf, parser, kTuple);
        if (ec2 == http::error::body_limit && is_result && verb == "response") {
          if (st->handler) st->handler->response_too_large(request_id, 0);
          res = error_reply(version, 413, "RequestEntityTooLarge",
                            "Exceeded maximum allowed payload size (6291556 bytes).");
          close = true;
        } else if (ec2) {
          break;
        }
      }
      if (st->handler == nullptr) break;
      if (!close) {
        auto& req = parser.get();
        if (known && is_get && rest == "invocation/next") {
          NextPtr ev = co_await async_next(st->handler, asio::use_awaitable);
          if (!ev) {
            res = error_reply(version, 500, "InternalServerError", "Internal Server Error");
            close = true;
          } else {
            res = next_reply(version, *ev);
          }
        } else if (is_result) {
          // Streamed errors arrive as trailers; Beast merges trailers into the fields.
          auto trailer_type = req.find("Lambda-Runtime-Function-Error-Type");
          auto trailer_body = req.find("Lambda-Runtime-Function-Error-Body");
          if (verb == "error") {
            std::string type = trailer_type != req.end() ? std::string(trailer_type->value()) : "";
            res = post_reply(
                version, st->handler->error(request_id, std::move(req.body()), std::move(type)));
          } else if (trailer_body != req.end() && trailer_type != req.end()) {
            auto decoded = base64_decode(trailer_body->value());
            res = post_reply(version,
                             st->handler->error(request_id, decoded ? *decoded : std::string(),
                                                std::string(trailer_type->value())));
          } else {
            res = post_reply(version, st->handler->response(request_id, std::move(req.body())));
          }
        } else if (known && is_post && rest == "init/error") {
          auto type = req.find("Lambda-Runtime-Function-Error-Type");
          res = post_reply(version,
                           st->handler->init_error(
                               std::move(req.body()),
                               type != req.end() ? std::string(type->value()) : std::string()));
        } else if (target == "/2018-06-01/ping" || target == "/ping") {
          res = json_reply(version, 200, "{}");
        } else {
          res = error_reply(version, 404, "InvalidRequest", "Not found: " + target);
        }
      }
    }
    res.keep_alive(!close && head.keep_alive());
    const boost::system::error_code ec3 = co_await write_now(sock, res);
    if (ec3) break;
    if (close && !parser.is_done()) {
      co_await linger_close(sock);
      break;
    }
    if (close || !res.keep_alive()) break;
  }
  st->sockets.erase(&sock);
  beast::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_both, ignored);
  sock.close(ignored);
}

asio::awaitable<void> accept_loop(std::shared_ptr<Endpoint::State> st) {
  for (;;) {
    auto [ec, sock] = co_await st->acceptor.async_accept(kTuple);
    if (ec || st->handler == nullptr) co_return;
    if (st->peer_uid) {
      beast::error_code e1, e2;
      const auto local = sock.local_endpoint(e1);
      const auto remote = sock.remote_endpoint(e2);
      const auto owner = e1 || e2 ? std::nullopt : loopback_peer_uid(local.port(), remote.port());
      if (owner != st->peer_uid) {
        sock.close(e1);  // another environment (or anyone else): not this one's Runtime API
        continue;
      }
    }
    sock.set_option(tcp::no_delay(true));
    beast::error_code nb;
    sock.non_blocking(true, nb);  // for write_now(): a reply write never blocks the io thread
    asio::co_spawn(st->io, session(st, std::move(sock)), asio::detached);
  }
}

}  // namespace

Result<std::unique_ptr<Endpoint>> Endpoint::start(asio::io_context& io, Handler& handler) {
  auto st = std::make_shared<State>(io);
  st->handler = &handler;
  beast::error_code ec;
  const tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), 0);
  st->acceptor.open(ep.protocol(), ec);
  if (!ec) st->acceptor.bind(ep, ec);
  if (!ec) st->acceptor.listen(64, ec);
  if (ec) return Error::make(Code::kInternal, "runtime API listener: " + ec.message());
  std::unique_ptr<Endpoint> e(new Endpoint());
  e->address_ = "127.0.0.1:" + std::to_string(st->acceptor.local_endpoint().port());
  e->state_ = st;
  asio::co_spawn(io, accept_loop(st), asio::detached);
  return e;
}

Result<std::unique_ptr<Endpoint>> Endpoint::adopt(asio::io_context& io, Handler& handler,
                                                  UniqueFd listener, std::string address) {
  auto st = std::make_shared<State>(io);
  st->handler = &handler;
  beast::error_code ec;
  st->acceptor.assign(tcp::v4(), listener.get(), ec);
  if (ec) return Error::make(Code::kInternal, "runtime API listener: " + ec.message());
  listener.release();
  std::unique_ptr<Endpoint> e(new Endpoint());
  e->address_ = std::move(address);
  e->state_ = st;
  asio::co_spawn(io, accept_loop(st), asio::detached);
  return e;
}

Endpoint::~Endpoint() { stop(); }

void Endpoint::restrict_peer_uid(uid_t uid) {
  if (state_) state_->peer_uid = uid;
}

void Endpoint::stop() {
  if (!state_ || state_->handler == nullptr) return;
  state_->handler = nullptr;
  beast::error_code ignored;
  state_->acceptor.close(ignored);
  for (tcp::socket* s : state_->sockets) s->close(ignored);
}

}  // namespace lambdad::runtime_api
