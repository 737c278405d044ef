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
#include <chrono>
#include <limits>
#include <set>

#include "api/async_api.h"
#include "api/console_api.h"
#include "api/errors.h"
#include "api/function_urls.h"
#include "api/http_front.h"
#include "api/routes.h"
#include "api/schedules_api.h"
#include "api/validation.h"
#include "common/encoding.h"
#include "runtime_api/linger.h"
#include "runtime_api/write_now.h"

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
        api_acceptor(io),
        pool(static_cast<size_t>(std::max(1, options.control_threads))) {}

  asio::io_context& io;
  invoke::Invoker& invoker;
  ControlApi& control;
  ServerOptions options;
  tcp::acceptor acceptor;
  tcp::acceptor api_acceptor;  // --api-listen: SAM routes only
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
            if (denied)
              res = std::move(*denied);
            else if (self->options.console_api && is_console_api(req->path))
              res = self->options.console_api(*req);
            else
              res = self->control.handle(*req);
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

// Schedules (api/schedules_api.h), answered on the io thread.
template <class Token>
auto schedules_api_call(Server::Impl* self, HttpRequest* req, Token&& token) {
  return asio::async_initiate<Token, void(HttpResponse)>(
      [](auto completion, Server::Impl* self, HttpRequest* req) {
        auto h = std::make_shared<decltype(completion)>(std::move(completion));
        handle_schedules_api(*self->options.scheduler, self->invoker, *req,
                             [h](HttpResponse r) { (*h)(std::move(r)); });
      },
      token, self, req);
}

// The SigV4 check for requests answered on the io thread: run on the worker pool (a control
// body can be 70 MB to hash) and resumed on the io thread; nullopt lets the request through.
template <class Token>
auto async_authorize(Server::Impl* self, HttpRequest* req, Token&& token) {
  return asio::async_initiate<Token, void(std::optional<HttpResponse>)>(
      [](auto completion, Server::Impl* self, HttpRequest* req) {
        auto h = std::make_shared<decltype(completion)>(std::move(completion));
        asio::post(self->pool, [self, req, h] {
          std::optional<HttpResponse> denied;
          try {
            denied = authorize(*self, req->method, req->path, req->query, req->headers, req->body);
          } catch (const std::exception& e) {
            denied = lambda_error(500, "ServiceException", e.what());
          }
          asio::post(self->io, [h, d = std::move(denied)]() mutable { (*h)(std::move(d)); });
        });
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

// The invocation's trace id as Invoke's X-Amzn-Trace-Id shows it: the runtime's
// "Root=...;Parent=...;Sampled=0;Lineage=..." with lower-case keys ("root=...;parent=...").
std::string response_trace_id(std::string_view runtime_trace_id) {
  std::string out(runtime_trace_id);
  bool in_key = true;
  for (char& c : out) {
    if (c == '=') in_key = false;
    if (c == ';') in_key = true;
    if (in_key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Validates an Invoke request. Returns an error response, or nullopt and fills `out`.
std::optional<HttpResponse> prepare_invoke(Server::Impl& self, const std::string& raw_name,
                                           const std::string& query,
                                           http::request<http::string_body>& req,
                                           invoke::InvokeRequest& out, std::string& type) {
  // The control API's parser (api/validation.h): same forms, same message, no regex.
  auto decoded = percent_decode_strict(raw_name);
  ValidationErrors errors;
  std::optional<FunctionRef> t =
      parse_function_name(decoded ? *decoded : raw_name, NameShape::kNamespaced, errors);
  if (!t) return lambda_error(400, "ValidationException", errors.message());
  const std::string q = query_param(query, "Qualifier");
  if (!q.empty() && !t->qualifier.empty() && q != t->qualifier)
    return lambda_error(400, "InvalidParameterValueException",
                        "The derived qualifier from the function name does not match the "
                        "specified qualifier.");
  const std::string qualifier = !q.empty() ? q : t->qualifier;
  const auto& opt = self.invoker.options();
  const std::string arn =
      "arn:aws:lambda:" + opt.region + ":" + opt.account + ":function:" + t->name;
  // Version numbers and aliases resolve through the invoker's cache (never SQLite here).
  const std::optional<std::string> version = self.invoker.resolve_qualifier(t->name, qualifier);
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
  out.function = t->name;
  out.qualifier = *version;
  out.invoked_arn = arn + (qualifier.empty() ? "" : ":" + qualifier);
  out.payload = std::move(req.body());  // `body` aliases it: last use above
  return std::nullopt;
}

// ---- function URLs and SAM routes (api/http_front.h) ------------------------------------

HttpResponse front_reply(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

bool is_api_host(std::string_view host) {
  std::string h(host.substr(0, host.find(':')));
  for (auto& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return h == "api.localhost";
}

// Front responses keep repeated headers (Set-Cookie); a header the function made that HTTP
// cannot carry (CR/LF) is dropped rather than failing the response.
Response front_to_beast(HttpResponse&& r, unsigned version, const std::string& request_id) {
  Response res{static_cast<http::status>(r.status), version};
  bool has_type = false;
  for (auto& [k, v] : r.headers) {
    if (k.empty() || k.find_first_of("\r\n: ") != std::string::npos ||
        v.find_first_of("\r\n") != std::string::npos)
      continue;
    if (beast::iequals(k, "content-length") || beast::iequals(k, "transfer-encoding") ||
        beast::iequals(k, "connection"))
      continue;
    if (beast::iequals(k, "content-type")) has_type = true;
    res.insert(k, v);
  }
  if (!has_type) res.set(http::field::content_type, "application/json");
  res.set("x-amzn-RequestId", request_id);
  const int s = r.status;
  if (s / 100 != 1 && s != 204 && s != 304) res.body() = std::move(r.body);
  res.prepare_payload();
  return res;
}

// The access key id in `Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/...`.
std::string signing_key_id(const HttpRequest& req) {
  const std::string* auth = req.header("authorization");
  if (auth == nullptr) return "";
  const size_t at = auth->find("Credential=");
  if (at == std::string::npos) return "";
  const size_t start = at + 11;
  return auth->substr(start, auth->find('/', start) - start);
}

void add_forwarded_headers(HttpRequest& req, const std::string& source_ip, uint16_t port) {
  auto add = [&req](const char* name, std::string value) {
    if (req.header(name) == nullptr) req.headers.emplace_back(name, std::move(value));
  };
  add("x-forwarded-for", source_ip);
  add("x-forwarded-proto", "http");
  add("x-forwarded-port", std::to_string(port));
}

int64_t epoch_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One request to a function URL (`target` set) or to the SAM route table. `req` keeps the
// client's header casing; `rid` receives the invocation's request id.
asio::awaitable<HttpResponse> serve_front(Server::Impl* self, HttpRequest* req,
                                          const UrlTarget* target, std::string peer,
                                          uint16_t local_port, std::string* rid) {
  FrontTable& front = *self->options.front;
  const auto& iopt = self->invoker.options();
  HttpRequest lreq;  // headers lower-cased, for the 2.0 event, CORS and SigV4
  lreq.method = req->method;
  lreq.path = req->path;
  lreq.query = req->query;
  lreq.body = std::move(req->body);  // moved back for the REST event below
  for (const auto& [k, v] : req->headers) {
    std::string name = k;
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    lreq.headers.emplace_back(std::move(name), v);
  }
  UrlEventContext ctx;
  ctx.region = iopt.region;
  ctx.account = iopt.account;
  ctx.source_ip = std::move(peer);
  ctx.epoch_ms = epoch_ms_now();
  ctx.request_id = uuid4();
  invoke::InvokeRequest ireq;
  ireq.request_id = ctx.request_id;
  std::optional<UrlEntry> entry;
  std::optional<MatchedRoute> route;
  std::string caller_key;  // AWS_IAM: the access key id that signed
  std::string function;
  std::string qualifier;
  if (target != nullptr) {
    entry = front.find_url(target->url_id);
    if (!entry) co_return front_reply(404, R"({"Message":null})");
    if (entry->auth_type == "AWS_IAM") {
      // AWS_IAM: a valid SigV4 signature (service lambda) by a key of this server. Without
      // keys nobody can sign, so nobody gets in.
      auth::Verifier* v = self->options.verifier;
      bool allowed = false;
      if (v != nullptr && v->enabled()) {
        auth::SignedRequest sr{lreq.method, lreq.path, lreq.query, &lreq.headers, lreq.body};
        allowed = !v->verify(sr, std::chrono::system_clock::now()).has_value();
      }
      if (!allowed) co_return front_reply(403, R"({"Message":"Forbidden"})");
      caller_key = signing_key_id(lreq);
    }
    if (entry->cors)
      if (auto pre = cors_preflight(*entry->cors, lreq)) co_return std::move(*pre);
    function = entry->function;
    qualifier = entry->qualifier;
    ctx.url_id = target->url_id;
    lreq.path = target->path;
  } else {
    route = front.match(req->method, req->path);
    if (!route) co_return front_reply(404, R"({"message":"Not Found"})");
    function = route->function;
    ctx.url_id = "lambdad";
  }
  const std::optional<std::string> version = self->invoker.resolve_qualifier(function, qualifier);
  if (!version)
    co_return target != nullptr ? front_reply(404, R"({"Message":null})")
                                : front_reply(404, R"({"message":"Not Found"})");
  // What Lambda's front end adds for the function (after the signature check).
  add_forwarded_headers(lreq, ctx.source_ip, local_port);
  if (target != nullptr)
    ireq.payload = caller_key.empty()
                       ? build_url_event(lreq, ctx)
                       : with_iam_authorizer(build_url_event(lreq, ctx), caller_key, iopt.account);
  else if (route->route.payload_version == "1.0") {
    req->body = std::move(lreq.body);
    ireq.payload = build_rest_event(*req, ctx, *route);
  } else
    ireq.payload = build_http_api_event(lreq, ctx, *route);
  ireq.function = function;
  ireq.qualifier = *version;
  ireq.invoked_arn = "arn:aws:lambda:" + iopt.region + ":" + iopt.account +
                     ":function:" + function + (qualifier.empty() ? "" : ":" + qualifier);
  auto pending = async_invoke(&self->invoker, &ireq, asio::use_awaitable);
  invoke::InvokeResult result = co_await std::move(pending);
  *rid = result.request_id;
  const bool failed = result.status != 200 || !result.function_error.empty();
  HttpResponse out;
  if (result.status == 429) {
    out = target != nullptr ? front_reply(429, R"({"Message":"Rate Exceeded."})")
                            : front_reply(429, R"({"message":"Too Many Requests"})");
  } else if (target != nullptr) {
    out = map_url_reply(result.body, failed);
  } else if (route->route.payload_version == "1.0") {
    out = map_rest_reply(result.body, failed);
  } else {
    out = map_http_api_reply(result.body, failed);
  }
  // An interim (1xx) status cannot end an exchange: the function's reply is unusable.
  if (out.status < 200)
    out = target != nullptr ? front_reply(502, R"({"Message":"Internal Server Error"})")
                            : front_reply(502, R"({"message": "Internal server error"})");
  if (entry && entry->cors) apply_cors(*entry->cors, lreq, out);
  co_return out;
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

asio::awaitable<void> session(ImplPtr self, tcp::socket sock, bool api_listener) {
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
    // Function URL / SAM route requests: decided by Host or path prefix, or by the listener.
    // They take precedence: a URL's host serves only its function, as on AWS.
    std::optional<UrlTarget> url_target;
    bool is_api = false;
    if (self->options.front != nullptr) {
      std::string_view host;
      if (auto it = parser.get().find(http::field::host); it != parser.get().end())
        host = std::string_view(it->value().data(), it->value().size());
      if (api_listener)
        is_api = true;
      else
        url_target = match_function_url(host, path);
      if (!api_listener && !url_target && is_api_host(host)) is_api = true;
    }
    const bool is_front = url_target.has_value() || is_api;
    const bool is_invoke = !is_front && method == "POST" && path.starts_with(kInvokePrefix) &&
                           path.ends_with(kInvokeSuffix) &&
                           path.size() > kInvokePrefix.size() + kInvokeSuffix.size();
    const uint64_t limit = is_invoke || is_front ? kMaxSyncPayload : kMaxControlBody;
    parser.body_limit(limit);
    const std::string request_id = uuid4();

    std::optional<HttpResponse> early;
    const auto length = parser.content_length();
    if (is_front && length && *length > limit) {
      early = front_reply(413, R"({"Message":"Request Entity Too Large"})");
    } else if (length && *length > limit) {
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
      if (ec2 == http::error::body_limit && is_front) {
        early = front_reply(413, R"({"Message":"Request Entity Too Large"})");
      } else if (ec2 == http::error::body_limit) {
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
    } else if (is_front) {
      HttpRequest freq;
      freq.method = method;
      freq.path = path;
      freq.query = query;
      for (const auto& f : parser.get())
        freq.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      freq.body = std::move(parser.get().body());
      beast::error_code pec;
      const auto peer = sock.remote_endpoint(pec);
      std::string peer_ip = pec ? std::string() : peer.address().to_string();
      const uint16_t local_port = sock.local_endpoint(pec).port();
      auto pending = serve_front(self.get(), &freq, url_target ? &*url_target : nullptr,
                                 std::move(peer_ip), local_port, &rid);
      HttpResponse hr = co_await std::move(pending);
      if (self->stopped) break;
      res = front_to_beast(std::move(hr), version, rid);
      if (method == "HEAD") {  // the length of what GET would send, no body
        const auto n = res.body().size();
        res.body().clear();
        res.content_length(n);
      }
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
    } else if (method == "GET" && self->options.console_api &&
               (path == "/console" || path.starts_with("/console/"))) {
      // Embedded constant data: answered on the io thread.
      std::optional<std::string> etag;
      if (auto it = parser.get().find(http::field::if_none_match); it != parser.get().end())
        etag = std::string(it->value());
      std::optional<HttpResponse> cr = console_static(path, etag ? &*etag : nullptr);
      res = to_beast(std::move(*cr), version, rid);
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
        ireq.request_id = rid;  // x-amzn-RequestId is the invocation's request id
        invoke::InvokeResult result =
            co_await async_invoke(&self->invoker, &ireq, asio::use_awaitable);
        if (self->stopped) break;
        rid = result.request_id;
        HttpResponse hr = invoke_result_response(result);
        res = to_beast(std::move(hr), version, rid);
        if (result.status == 200 && !result.trace_id.empty())
          res.set("X-Amzn-Trace-Id", response_trace_id(result.trace_id));
      }
    } else {
      HttpRequest hreq;
      hreq.method = method;
      hreq.path = path;
      hreq.query = query;
      hreq.headers = lower_case_headers(parser.get());
      hreq.body = std::move(parser.get().body());
      HttpResponse hr;
      const bool async_route = self->options.async_queue != nullptr && is_async_api(path);
      const bool schedule_route = self->options.scheduler != nullptr && is_schedules_api(path);
      if (async_route || schedule_route) {
        // Served on the io thread, but signed like every other request once keys exist.
        std::optional<HttpResponse> denied;
        if (self->options.verifier != nullptr)
          denied = co_await async_authorize(self.get(), &hreq, asio::use_awaitable);
        if (self->stopped) break;
        if (denied)
          hr = std::move(*denied);
        else if (schedule_route)
          hr = co_await schedules_api_call(self.get(), &hreq, asio::use_awaitable);
        else
          hr = co_await async_api_call(self.get(), &hreq, asio::use_awaitable);
      } else {
        hr = co_await async_control(self.get(), &hreq, asio::use_awaitable);
      }
      if (self->stopped) break;
      res = to_beast(std::move(hr), version, rid);
    }
    res.keep_alive(!close && parser.get().keep_alive());
    const boost::system::error_code ec3 = co_await runtime_api::write_now(sock, res);
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

asio::awaitable<void> accept_loop(ImplPtr self, bool api_listener) {
  tcp::acceptor& acceptor = api_listener ? self->api_acceptor : self->acceptor;
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(kTuple);
    if (self->stopped) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;  // EMFILE and friends: keep serving
    }
    sock.set_option(tcp::no_delay(true));
    beast::error_code nb;
    sock.non_blocking(true, nb);  // for write_now(): a reply write never blocks the io thread
    asio::co_spawn(self->io, session(self, std::move(sock), api_listener), asio::detached);
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
  if (!impl_->options.api_host.empty()) {
    const auto api_addr = asio::ip::make_address(impl_->options.api_host, ec);
    if (ec)
      return Error::make(Code::kInvalidArgument,
                         "bad API listen address " + impl_->options.api_host);
    const tcp::endpoint api_ep(api_addr, impl_->options.api_port);
    impl_->api_acceptor.open(api_ep.protocol(), ec);
    if (!ec) impl_->api_acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) impl_->api_acceptor.bind(api_ep, ec);
    if (!ec) impl_->api_acceptor.listen(1024, ec);
    if (ec)
      return Error::make(Code::kUnavailable, "listen on " + impl_->options.api_host + ":" +
                                                 std::to_string(impl_->options.api_port) + ": " +
                                                 ec.message());
    asio::co_spawn(impl_->io, accept_loop(impl_, true), asio::detached);
  }
  asio::co_spawn(impl_->io, accept_loop(impl_, false), asio::detached);
  return ok();
}

uint16_t Server::api_port() const {
  beast::error_code ec;
  if (!impl_->api_acceptor.is_open()) return 0;
  return impl_->api_acceptor.local_endpoint(ec).port();
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
  impl_->api_acceptor.close(ignored);
  for (tcp::socket* s : impl_->sockets) s->close(ignored);
  impl_->pool.join();
}

}  // namespace lambdad::api
