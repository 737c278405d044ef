// The front HTTP server: Lambda's public endpoint. Invoke is served on the io thread
// straight into the invoker; every other request (control plane) runs on a small worker
// pool through ControlApi and its reply is posted back to the io thread.
// Thread rules: construct, run() and stop() from one thread; run() blocks.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "api/control_api.h"
#include "api/http_front.h"
#include "auth/url_signer.h"
#include "auth/verifier.h"
#include "common/result.h"
#include "invoke/invoker.h"

namespace lambdad::async {
class Queue;
}
namespace lambdad::schedule {
class Scheduler;
}

namespace lambdad::api {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9001;
  int control_threads = 2;
  // GET /metrics body (Prometheus text); called on the io thread. Unset: /metrics is a
  // control-API path like any other.
  std::function<std::string()> metrics_text;
  // GET /lambdad/status body (JSON: version, isolation in force, environments, ...); called on
  // the io thread. Unset: a control-API path like any other.
  std::function<std::string()> status_json;
  // The web console's JSON endpoints (/lambdad/usage[/series], /lambdad/tune/F, see
  // api/console_api.h), called on a control worker after the SigV4 check. When set, GET
  // /console[/...] serves the embedded console (static files, no auth: they hold no data).
  // Unset: no console, those paths are control-API paths like any other.
  std::function<HttpResponse(const HttpRequest&)> console_api;
  // Durable Event invocations and event invoke configs (api/async_api.h); when null, Event
  // invocations run fire-and-forget and those routes fall through to the control plane.
  async::Queue* async_queue = nullptr;
  // Schedules (api/schedules_api.h, /lambdad/schedules); null: those paths fall through.
  schedule::Scheduler* scheduler = nullptr;
  // SigV4 check of every request (control and Invoke) once keys exist; null: no auth.
  auth::Verifier* verifier = nullptr;
  // Function URLs and SAM routes (api/http_front.h). When set, requests whose Host is
  // `<url-id>.lambda-url.<region>.localhost[:port]` or whose path starts with
  // `/lambda-url/<url-id>/` go to that URL's function, and requests with Host
  // `api.localhost[:port]` (or any request on the API listener below) to the route table.
  FrontTable* front = nullptr;
  // Optional second listener that serves only the SAM routes (`serve --api-listen`, like
  // `sam local start-api`); port 0 with api_host empty: none.
  std::string api_host;
  uint16_t api_port = 0;
  // GetFunction's Code.Location tokens (auth/url_signer.h): a GET /lambdad/packages/<id>.zip
  // with a valid token needs no SigV4; a bad or expired one is refused. Null: none.
  const auth::UrlSigner* url_signer = nullptr;
  // A request header must be complete this long after its first byte, or the connection is
  // closed (slow clients; `lambdad serve --header-timeout`).
  std::chrono::milliseconds header_timeout{30'000};
};

class Server {
 public:
  Server(boost::asio::io_context& io, invoke::Invoker& invoker, ControlApi& control,
         ServerOptions options);
  ~Server();
  // Binds and starts accepting. kUnavailable when the address is taken.
  Result<void> listen();
  uint16_t port() const;
  // The API listener's port (0 when there is none).
  uint16_t api_port() const;
  // Stops accepting, closes connections and joins the worker pool.
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Value of `key` in a raw query string (decoded), or "".
std::string query_param(std::string_view query, std::string_view key);

}  // namespace lambdad::api
