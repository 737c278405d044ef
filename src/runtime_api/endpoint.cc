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

#include "runtime_api/endpoint_internal.h"
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
    const unsigned version = head.version();
    const RouteMatch match = route_request(head.method(), head.target());
    Response res;
    bool close = false;
    parser.body_limit(kMaxResponseBytes);

    if (match.route == Route::kResponse && parser.content_length() &&
        *parser.content_length() > kMaxResponseBytes) {
      // Do not read a body we will refuse; the connection closes after the reply.
      st->handler->response_too_large(match.request_id, *parser.content_length());
      res = too_large_reply(version);
      close = true;
    } else {
      if (!parser.is_done()) {
        auto [ec2, n2] = co_await http::async_read(sock, buf, parser, kTuple);
        if (ec2 == http::error::body_limit && match.route == Route::kResponse) {
          if (st->handler) st->handler->response_too_large(match.request_id, 0);
          res = too_large_reply(version);
          close = true;
        } else if (ec2) {
          break;
        }
      }
      if (st->handler == nullptr) break;
      if (!close && match.route == Route::kNext) {
        NextPtr ev = co_await async_next(st->handler, asio::use_awaitable);
        res = next_reply(version, ev.get());
        close = ev == nullptr;
      } else if (!close) {
        res = dispatch(*st->handler, match, parser.get());
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
