// Lingering close for replies sent before the request body was read (413s): half-close,
// then read and discard what the client is still sending, so it sees our reply instead
// of a connection reset. Bounded by bytes and time.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <memory>
#include <vector>

namespace lambdad::runtime_api {

inline boost::asio::awaitable<void> linger_close(boost::asio::ip::tcp::socket& sock) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  sock.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  auto finished = std::make_shared<bool>(false);
  asio::steady_timer timer(sock.get_executor());
  timer.expires_after(std::chrono::seconds(5));
  timer.async_wait([&sock, finished](boost::system::error_code e) {
    if (!e && !*finished) {
      boost::system::error_code ignored;
      sock.cancel(ignored);
    }
  });
  std::vector<char> scratch(64 * 1024);
  uint64_t total = 0;
  constexpr uint64_t kMaxDiscard = 256ull * 1024 * 1024;
  while (total < kMaxDiscard) {
    auto [e, n] =
        co_await sock.async_read_some(asio::buffer(scratch), asio::as_tuple(asio::use_awaitable));
    if (e) break;
    total += n;
  }
  *finished = true;
  timer.cancel();
}

}  // namespace lambdad::runtime_api
