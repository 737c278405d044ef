// Writes an HTTP reply at once when the socket takes all of it (the usual case for a small
// reply on loopback) and only otherwise finishes asynchronously. An async_write whose first
// send already succeeds still posts its completion, which costs a handler and a reactor pass
// (an extra epoll_wait) per reply; this saves them. The socket must be in non-blocking mode
// (`sock.non_blocking(true)`), so a peer that does not read can never block the io thread.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

namespace lambdad::runtime_api {

template <bool isRequest, class Body, class Fields>
boost::asio::awaitable<boost::system::error_code> write_now(
    boost::asio::ip::tcp::socket& sock, boost::beast::http::message<isRequest, Body, Fields>& msg) {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  http::serializer<isRequest, Body, Fields> sr{msg};
  boost::system::error_code ec;
  while (!sr.is_done()) {
    http::write_some(sock, sr, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) co_return ec;
  }
  if (sr.is_done()) co_return boost::system::error_code{};
  auto [ec2, n] = co_await http::async_write(sock, sr, asio::as_tuple(asio::use_awaitable));
  co_return ec2;
}

}  // namespace lambdad::runtime_api
