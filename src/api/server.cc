#include "api/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <limits>
#include <set>

#include "api/async_api.h"
#include "api/errors.h"
#include "api/routes.h"
#include "common/encoding.h"
#include "runtime_api/linger.h"

namespace lambdad::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr uint64_t kMaxSyncPayload = 6291456;   // 6 MiB
constexpr uint64_t kMaxAsyncPayload = 1048576;  // 1 MiB (since Oct 2025)
constexpr uint64_t kMaxControlBody = 69905067;  // base64 of 50 MiB + JSON

// A JSON validator that builds nothing (no allocation per value).
struct NullHandler {
  constexpr static std::size_t max_object_size = std::size_t(-1);
  constexpr static std::size_t max_array_size = std::size_t(-1);
  constexpr static std::size_t max_key_size = std::size_t(-1);
  constexpr static std::size_t max_string_size = std::size_t(-1);
  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }
  bool on_object_begin(boost::json::error_code&) { return true; }
  bool on_object_end(std::size_t, boost::json::error_code&) { return true; }
  bool on_array_begin(boost::json::error_code&) { return true; }
  bool on_array_end(std::size_t, boost::json::error_code&) { return true; }
  bool on_key_part(boost::json::string_view, std::size_t, boost::json::error_code&) { return true; }
  bool on_key(boost::json::string_view, std::size_t, boost::json::error_code&) { return true; }
  bool on_string_part(boost::json::string_view, std::size_t, boost::json::error_code&) {
    return true;
  }
  bool on_string(boost::json::string_view, std::size_t, boost::json::error_code&) { return true; }
  bool on_number_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_int64(std::int64_t, boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_double(double, boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_bool(bool, boost::json::error_code&) { return true; }
  bool on_null(boost::json::error_code&) { return true; }
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }
};

// "" when valid JSON, else the parser's complaint.
std::string json_problem(std::string_view text) {
  boost::json::basic_parser<NullHandler> p{boost::json::parse_options{}};
  boost::json::error_code ec;
  p.write_some(false, text.data(), text.size(), ec);
  if (ec) return ec.message();
  return "";
}

using Response = http::response<http::string_body>;

Response to_beast(HttpResponse&& r, unsigned version, const std::string& request_id) {
  Response res{static_cast<http::status>(r.status), version};
  bool has_type = false;
  for (auto& [k, v] : r.headers) {
    if (beast::iequals(k, "content-type")) has_type = true;
    res.set(k, v);
  }
  if (!has_type) res.set(http::field::content_type, "application/json");
  res.set("x-amzn-RequestId", request_id);
  res.body() = std::move(r.body);
  res.prepare_payload();
  return res;
}

std::string operation_name(const std::string& method, std::string_view path) {
  if (method == "POST" && (path == "/2015-03-31/functions" || path == "/2015-03-31/functions/"))
    return "CreateFunction";
  if (method == "PUT" && path.ends_with("/code")) return "UpdateFunctionCode";
  if (method == "PUT" && path.ends_with("/configuration")) return "UpdateFunctionConfiguration";
  return "this";
}

struct Target {
  std::string name;       // unqualified function name
  std::string qualifier;  // "" when none
  bool ok = false;
};

// FunctionName forms: name, name:qualifier, 123456789012:function:name[:q],
// arn:aws:lambda:region:account:function:name[:q].
Target parse_function_name(const std::string& raw) {
  Target t;
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t c = raw.find(':', start);
    parts.push_back(raw.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  size_t i = 0;
  if (parts.size() >= 7 && parts[0] == "arn") {
    if (parts[2] != "lambda" || parts[5] != "function") return t;
    i = 6;
  } else if (parts.size() >= 3 && parts[1] == "function") {
    i = 2;
  }
  if (i >= parts.size()) return t;
  t.name = parts[i];
  if (i + 1 < parts.size()) t.qualifier = parts[i + 1];
  if (i + 2 < parts.size()) return t;
  if (t.name.empty() || t.name.size() > 64) return t;
  for (char c : t.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return t;
  t.ok = true;
  return t;
}

}  // namespace

namespace {
std::optional<std::string> percent_decode_strict(std::string_view in) {
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i] == '%' &&
        (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
         !std::isxdigit(static_cast<unsigned char>(in[i + 2]))))
      return std::nullopt;
  return percent_decode(in);
}
}  // namespace

std::string query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    const size_t eq = kv.find('=');
    if (kv.substr(0, eq) == key) {
      auto v = percent_decode_strict(eq == std::string_view::npos ? "" : kv.substr(eq + 1));
      return v ? *v : std::string();
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io, invoke::Invoker& invoker, ControlApi& control, ServerOptions o)
      : io(io),
        invoker(invoker),
        control(control),
        options(std::move(o)),
        acceptor(io),
        pool(static_cast<size_t>(std::max(1, options.control_threads))) {}

  asio::io_context& io;
  invoke::Invoker& invoker;
  ControlApi& control;
  ServerOptions options;
  tcp::acceptor acceptor;
  asio::thread_pool pool;
  std::set<tcp::socket*> sockets;
  bool stopped = false;
};

namespace {

using ImplPtr = std::shared_ptr<Server::Impl>;

using HeaderList = std::vector<std::pair<std::string, std::string>>;

HeaderList lower_case_headers(const http::request<http::string_body>& req) {
  HeaderList headers;
  for (const auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers.emplace_back(std::move(name), std::string(f.value()));
  }
  return headers;
}

// SigV4 check (auth/verifier.h); nullopt lets the request through.
std::optional<HttpResponse> authorize(Server::Impl& self, std::string_view method,
                                      std::string_view path, std::string_view query,
                                      const HeaderList& headers, std::string_view body) {
  if (self.options.verifier == nullptr) return std::nullopt;
  if (self.options.url_signer != nullptr && method == "GET" &&
      path.starts_with(auth::UrlSigner::kPackagesPrefix) && self.options.verifier->enabled()) {
    using Check = auth::UrlSigner::Check;
    const Check c = self.options.url_signer->check(path, query, std::chrono::system_clock::now());
    if (c == Check::kValid) return std::nullopt;  // Code.Location: the token is the credential
    if (c == Check::kExpired)
      return lambda_error(403, "AccessDeniedException", "Request has expired");
    if (c == Check::kInvalid)
      return lambda_error(403, "AccessDeniedException",
                          "The request signature we calculated does not match the signature "
                          "you provided.");
  }
  auth::SignedRequest sr{method, path, query, &headers, body};
  auto denial = self.options.verifier->verify(sr, std::chrono::system_clock::now());
  if (!denial) return std::nullopt;
  return lambda_error(denial->status, denial->type, denial->message);
}

// Runs ControlApi::handle on the worker pool and resumes on the io thread.
template <class Token>
auto async_control(Server::Impl* self, HttpRequest* req, Token&& token) {
  return asio::async_initiate<Token, void(HttpResponse)>(
      [](auto completion, Server::Impl* self, HttpRequest* req) {
        auto h = std::make_shared<decltype(completion)>(std::move(completion));
        asio::post(self->pool, [self, req, h] {
          HttpResponse res;
          try {
            // Control bodies reach 70 MB: hash them here, off the io thread.
            auto denied =
                authorize(*self, req->method, req->path, req->query, req->headers, req->body);
            res = denied ? std::move(*denied) : self->control.handle(*req);
          } catch (const std::exception& e) {
            res = lambda_error(500, "ServiceException", e.what());
          }
          asio::post(self->io, [h, r = std::move(res)]() mutable { (*h)(std::move(r)); });
        });
      },
      token, self, req);
}

template <class Token>
auto async_invoke(invoke::Invoker* invoker, invoke::InvokeRequest* req, Token&& token) {
  return asio::async_initiate<Token, void(invoke::InvokeResult)>(
      [](auto completion, invoke::Invoker* invoker, invoke::InvokeRequest* req) {
        auto h = std::make_shared<decltype(completion)>(std::move(completion));
        invoker->invoke(std::move(*req), [h](invoke::InvokeResult r) { (*h)(std::move(r)); });
      },
      token, invoker, req);
}

// Stores an Event invocation durably (writer thread) and resumes on the io thread.
template <class Token>
auto async_enqueue(async::Queue* queue, invoke::InvokeRequest* req, Token&& token) {
  return asio::async_initiate<Token, void(Result<void>)>(
      [](auto completion, async::Queue* queue, invoke::InvokeRequest* req) {
        auto h = std::make_shared<decltype(completion)>(std::move(completion));
        async::Event ev;
        ev.request_id = req->request_id;
        ev.function = req->function;
        ev.qualifier = req->qualifier;
        ev.payload = std::move(req->payload);
        queue->enqueue(std::move(ev), [h](Result<void> r) { (*h)(std::move(r)); });
      },
      token, queue, req);
}

// Event invoke configs and /lambdad/async, answered on the io thread (api/async_api.h).
template <class Token>
auto async_api_call(Server::Impl* self, HttpRequest* req, Token&& token) {
  return asio::async_initiate<Token, void(HttpResponse)>(
      [](auto completion, Server::Impl* self, HttpRequest* req) {
        auto h = std::make_shared<decltype(completion)>(std::move(completion));
        handle_async_api(*self->options.async_queue, self->invoker, *req,
                         [h](HttpResponse r) { (*h)(std::move(r)); });
      },
      token, self, req);
}

HttpResponse invoke_result_response(invoke::InvokeResult& r) {
  if (r.status != 200) {
    HttpResponse e = lambda_error(r.status, r.error_type, r.error_message, r.reason);
    return e;
  }
  HttpResponse res;
  res.status = 200;
  res.headers.emplace_back("Content-Type", "application/json");
  res.headers.emplace_back("X-Amz-Executed-Version", r.executed_version);
  if (!r.function_error.empty()) res.headers.emplace_back("X-Amz-Function-Error", r.function_error);
  if (!r.log_tail.empty()) res.headers.emplace_back("X-Amz-Log-Result", base64_encode(r.log_tail));
  res.headers.emplace_back("x-amzn-Remapped-Content-Length", "0");
  res.body = std::move(r.body);
  return res;
}

// Validates an Invoke request. Returns an error response, or nullopt and fills `out`.
std::optional<HttpResponse> prepare_invoke(Server::Impl& self, const std::string& raw_name,
                                           const std::string& query,
                                           http::request<http::string_body>& req,
                                           invoke::InvokeRequest& out, std::string& type) {
  auto decoded = percent_decode_strict(raw_name);
  Target t = decoded ? parse_function_name(*decoded) : Target{};
  if (!t.ok)
    return lambda_error(400, "ValidationException",
                        "1 validation error detected: Value '" + (decoded ? *decoded : raw_name) +
                            "' at 'functionName' failed to satisfy constraint: Member must "
                            "satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?"
                            "([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?"
                            "([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?");
  const std::string q = query_param(query, "Qualifier");
  if (!q.empty() && !t.qualifier.empty() && q != t.qualifier)
    return lambda_error(400, "InvalidParameterValueException",
                        "The derived qualifier from the function name does not match the "
                        "specified qualifier.");
  const std::string qualifier = !q.empty() ? q : t.qualifier;
  const auto& opt = self.invoker.options();
  const std::string arn =
      "arn:aws:lambda:" + opt.region + ":" + opt.account + ":function:" + t.name;
  // Version numbers and aliases resolve through the invoker's cache (never SQLite here).
  const std::optional<std::string> version = self.invoker.resolve_qualifier(t.name, qualifier);
  if (!version)
    return lambda_error(404, "ResourceNotFoundException",
                        "Function not found: " + arn + (qualifier.empty() ? "" : ":" + qualifier));
  type = "RequestResponse";
  if (auto it = req.find("X-Amz-Invocation-Type"); it != req.end()) type = std::string(it->value());
  if (type != "RequestResponse" && type != "Event" && type != "DryRun")
    return lambda_error(400, "InvalidParameterValueException",
                        "1 validation error detected: Value '" + type +
                            "' at 'invocationType' failed to satisfy constraint: Member must "
                            "satisfy enum value set: [Event, RequestResponse, DryRun]");
  const std::string& body = req.body();
  if (type == "Event" && body.size() > kMaxAsyncPayload)
    return lambda_error(413, "RequestEntityTooLargeException",
                        std::to_string(body.size()) +
                            " byte payload is too large for the Event invocation type (limit "
                            "1048576 bytes)");
  if (!body.empty()) {
    if (std::string why = json_problem(body); !why.empty())
      return lambda_error(400, "InvalidRequestContentException",
                          "Could not parse request body into json: Could not parse payload into "
                          "json: " +
                              why);
  }
  if (auto it = req.find("X-Amz-Client-Context"); it != req.end() && !it->value().empty()) {
    if (it->value().size() > 3583)
      return lambda_error(400, "InvalidParameterValueException",
                          "Client context must be at most 3583 bytes.");
    auto cc = base64_decode(it->value());
    if (!cc || !json_problem(*cc).empty())
      return lambda_error(400, "InvalidRequestContentException",
                          "Client context must be a valid Base64-encoded JSON object.");
    out.client_context = std::move(*cc);
  }
  if (auto it = req.find("X-Amz-Log-Type"); it != req.end() && it->value() == "Tail")
    out.tail = type == "RequestResponse";
  out.function = t.name;
  out.qualifier = *version;
  out.invoked_arn = arn + (qualifier.empty() ? "" : ":" + qualifier);
  out.payload = std::move(req.body());  // `body` aliases it: last use above
  return std::nullopt;
}

constexpr std::string_view kInvokePrefix = "/2015-03-31/functions/";
constexpr std::string_view kInvokeSuffix = "/invocations";

// Slowloris guard: the header must be complete within options.header_timeout of its first
// byte (an idle keep-alive connection waits without limit, as before). When the timer fires
// while the header is still being read, the socket is closed and the read fails.
struct HeaderDeadline {
  enum Phase { kIdle, kReading, kGone };
  explicit HeaderDeadline(asio::io_context& io)
      : timer(io), phase(std::make_shared<Phase>(kIdle)) {}
  asio::steady_timer timer;
  std::shared_ptr<Phase> phase;  // shared with the timer's handler, which may run late

  void arm(tcp::socket& sock, std::chrono::milliseconds timeout) {
    *phase = kReading;
    timer.expires_after(timeout);
    // io thread only; the handler touches sock only while the session is reading a header
    // (the session sets kGone before sock is destroyed).
    timer.async_wait([p = phase, &sock](boost::system::error_code ec) {
      if (ec || *p != kReading) return;
      beast::error_code ignored;
      sock.close(ignored);
    });
  }
  void disarm() {
    *phase = kIdle;
    timer.cancel();
  }
  ~HeaderDeadline() { *phase = kGone; }
};

asio::awaitable<void> session(ImplPtr self, tcp::socket sock) {
  self->sockets.insert(&sock);
  beast::flat_buffer buf;
  HeaderDeadline deadline(self->io);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(64 * 1024);
    // Beast checks Content-Length against body_limit while reading the header; lift it
    // there and apply the real limit below, so oversize bodies get Lambda's 413.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (buf.size() == 0) {  // idle between requests: wait for the first byte, unbounded
      auto [ecw] = co_await sock.async_wait(tcp::socket::wait_read, kTuple);
      if (ecw || self->stopped) break;
    }
    deadline.arm(sock, self->options.header_timeout);
    auto [ec, n] = co_await http::async_read_header(sock, buf, parser, kTuple);
    deadline.disarm();
    if (ec == http::error::header_limit && !self->stopped) {
      // Over 64 KiB of header: say so (as AWS's front ends do) instead of just hanging up.
      static const std::string k431 =
          "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
          "Connection: close\r\n\r\n";
      auto [ecw, nw] = co_await asio::async_write(sock, asio::buffer(k431), kTuple);
      if (!ecw) co_await runtime_api::linger_close(sock);
      break;
    }
    if (ec || self->stopped) break;
    const std::string target(parser.get().target());
    const std::string method(parser.get().method_string());
    const unsigned version = parser.get().version();
    const size_t qpos = target.find('?');
    const std::string path = target.substr(0, qpos);
    const std::string query = qpos == std::string::npos ? "" : target.substr(qpos + 1);
    const bool is_invoke = method == "POST" && path.starts_with(kInvokePrefix) &&
                           path.ends_with(kInvokeSuffix) &&
                           path.size() > kInvokePrefix.size() + kInvokeSuffix.size();
    const uint64_t limit = is_invoke ? kMaxSyncPayload : kMaxControlBody;
    parser.body_limit(limit);
    const std::string request_id = uuid4();

    std::optional<HttpResponse> early;
    const auto length = parser.content_length();
    if (length && *length > limit) {
      early = is_invoke ? lambda_error(413, "RequestEntityTooLargeException",
                                       std::to_string(*length) +
                                           " byte payload is too large for the RequestResponse "
                                           "invocation type (limit 6291456 bytes)")
                        : lambda_error(413, "RequestEntityTooLargeException",
                                       "Request must be smaller than 69905067 bytes for the " +
                                           operation_name(method, path) + " operation");
    } else if (!parser.is_done()) {
      if (auto it = parser.get().find(http::field::expect);
          it != parser.get().end() && beast::iequals(it->value(), "100-continue")) {
        static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [ecw, nw] = co_await asio::async_write(sock, asio::buffer(kContinue), kTuple);
        if (ecw) break;
      }
      auto [ec2, n2] = co_await http::async_read(sock, buf, parser, kTuple);
      if (ec2 == http::error::body_limit) {
        early = lambda_error(413, "RequestEntityTooLargeException",
                             is_invoke ? std::string("Request payload is too large for the "
                                                     "RequestResponse invocation type (limit "
                                                     "6291456 bytes)")
                                       : "Request must be smaller than 69905067 bytes for the " +
                                             operation_name(method, path) + " operation");
      } else if (ec2) {
        break;
      }
    }
    if (self->stopped) break;

    Response res;
    bool close = early.has_value();
    std::string rid = request_id;
    if (early) {
      res = to_beast(std::move(*early), version, rid);
    } else if (method == "GET" && path == "/metrics" && self->options.metrics_text) {
      HttpResponse mr;
      mr.status = 200;
      mr.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      mr.body = self->options.metrics_text();
      res = to_beast(std::move(mr), version, rid);
    } else if (method == "GET" && path == "/lambdad/status" && self->options.status_json) {
      HttpResponse sr;
      sr.body = self->options.status_json();
      res = to_beast(std::move(sr), version, rid);
    } else if (is_invoke) {
      auto& req = parser.get();
      const std::string raw_name = path.substr(
          kInvokePrefix.size(), path.size() - kInvokePrefix.size() - kInvokeSuffix.size());
      invoke::InvokeRequest ireq;
      std::string type;
      std::optional<HttpResponse> bad;
      if (self->options.verifier != nullptr)  // payload <= 6 MB: cheap enough on the io thread
        bad = authorize(*self, method, path, query, lower_case_headers(req), req.body());
      if (!bad) bad = prepare_invoke(*self, raw_name, query, req, ireq, type);
      if (bad) {
        res = to_beast(std::move(*bad), version, rid);
      } else if (type == "DryRun") {
        res = Response{http::status::no_content, version};
        res.set("x-amzn-RequestId", rid);
        res.prepare_payload();
      } else if (type == "Event") {
        // 202 only once the event is committed to async.db (async/queue.h).
        ireq.request_id = rid;
        bool stored = true;
        if (self->options.async_queue != nullptr) {
          Result<void> r =
              co_await async_enqueue(self->options.async_queue, &ireq, asio::use_awaitable);
          if (self->stopped) break;
          stored = r.ok();
          if (!stored) res = to_beast(error_response(r.error()), version, rid);
        } else {
          self->invoker.invoke(std::move(ireq), [](invoke::InvokeResult) {});
        }
        if (stored) {
          res = Response{http::status::accepted, version};
          res.set("x-amzn-RequestId", rid);
          res.prepare_payload();
        }
      } else {
        invoke::InvokeResult result =
            co_await async_invoke(&self->invoker, &ireq, asio::use_awaitable);
        if (self->stopped) break;
        rid = result.request_id;
        HttpResponse hr = invoke_result_response(result);
        res = to_beast(std::move(hr), version, rid);
        if (result.status == 200) {
          res.set("X-Amzn-Trace-Id", "root=1-00000000-000000000000000000000000;sampled=0");
        }
      }
    } else {
      HttpRequest hreq;
      hreq.method = method;
      hreq.path = path;
      hreq.query = query;
      hreq.headers = lower_case_headers(parser.get());
      hreq.body = std::move(parser.get().body());
      HttpResponse hr;
      if (self->options.async_queue != nullptr && is_async_api(path))
        hr = co_await async_api_call(self.get(), &hreq, asio::use_awaitable);
      else
        hr = co_await async_control(self.get(), &hreq, asio::use_awaitable);
      if (self->stopped) break;
      res = to_beast(std::move(hr), version, rid);
    }
    res.keep_alive(!close && parser.get().keep_alive());
    auto [ec3, n3] = co_await http::async_write(sock, res, kTuple);
    if (ec3) break;
    if (early && !parser.is_done()) {
      co_await runtime_api::linger_close(sock);
      break;
    }
    if (!res.keep_alive()) break;
  }
  self->sockets.erase(&sock);
  beast::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_both, ignored);
  sock.close(ignored);
}

asio::awaitable<void> accept_loop(ImplPtr self) {
  for (;;) {
    auto [ec, sock] = co_await self->acceptor.async_accept(kTuple);
    if (self->stopped) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;  // EMFILE and friends: keep serving
    }
    sock.set_option(tcp::no_delay(true));
    asio::co_spawn(self->io, session(self, std::move(sock)), asio::detached);
  }
}

}  // namespace

Server::Server(asio::io_context& io, invoke::Invoker& invoker, ControlApi& control,
               ServerOptions options)
    : impl_(std::make_shared<Impl>(io, invoker, control, std::move(options))) {}

Server::~Server() { stop(); }

Result<void> Server::listen() {
  beast::error_code ec;
  const auto addr = asio::ip::make_address(impl_->options.host, ec);
  if (ec) return Error::make(Code::kInvalidArgument, "bad listen address " + impl_->options.host);
  const tcp::endpoint ep(addr, impl_->options.port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(1024, ec);
  if (ec)
    return Error::make(Code::kUnavailable, "listen on " + impl_->options.host + ":" +
                                               std::to_string(impl_->options.port) + ": " +
                                               ec.message());
  asio::co_spawn(impl_->io, accept_loop(impl_), asio::detached);
  return ok();
}

uint16_t Server::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void Server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  for (tcp::socket* s : impl_->sockets) s->close(ignored);
  impl_->pool.join();
}

}  // namespace lambdad::api
