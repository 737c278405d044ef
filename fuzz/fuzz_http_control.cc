// Raw bytes -> Beast request parser (the front server's limits) -> ControlApi::handle over an
// in-memory registry and a package store in a temp dir: HTTP parsing, routing, JSON
// validation and the control handlers.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <string>

#include "../tests/support/fake_registry.h"
#include "api/control_api.h"
#include "packages/package_store.h"

using namespace lambdad;
namespace http = boost::beast::http;

namespace {
struct World {
  testing::FakeRegistry registry;
  std::optional<packages::PackageStore> store;
  std::optional<api::ControlApi> control;
  World() {
    char tmpl[] = "/tmp/lambdad-fuzz-control-XXXXXX";
    auto s = packages::PackageStore::open(mkdtemp(tmpl));
    if (!s) std::abort();
    store.emplace(std::move(*s));
    control.emplace(registry, *store, api::ControlOptions{}, api::ControlEffects{});
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();
  http::request_parser<http::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  auto& req = parser.get();
  api::HttpRequest hreq;
  const std::string target(req.target());
  const size_t q = target.find('?');
  hreq.method = std::string(req.method_string());
  hreq.path = target.substr(0, q);
  hreq.query = q == std::string::npos ? "" : target.substr(q + 1);
  for (const auto& f : req) hreq.headers.emplace_back(std::string(f.name_string()), f.value());
  hreq.body = req.body();
  (void)world->control->handle(hreq);
  return 0;
}
