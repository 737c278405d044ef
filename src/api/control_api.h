// The Lambda control plane (everything under /2015-03-31/ and friends except Invoke):
// parses a request into a typed command, calls the registry / package store, renders
// botocore-exact JSON. No transport code here.
// Thread rules: handle() blocks on SQLite and disk; the server calls it on a worker
// thread, never on the io thread. Safe to call concurrently.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_message.h"
#include "packages/package_store.h"
#include "registry/registry.h"

namespace lambdad::api {

struct ControlOptions {
  std::string region = "us-east-1";
  std::string account = "000000000000";
  // Prefix for GetFunction's Code.Location, e.g. "http://127.0.0.1:9001"; the server
  // serves GET <base_url>/lambdad/packages/<package_id>.zip via ControlApi::handle too.
  std::string base_url;
  // Query string that lets Code.Location be fetched without SigV4 (auth/url_signer.h), given
  // the URL's path; unset: a bare URL. Called on the worker threads.
  std::function<std::string(std::string_view path)> sign_location;
};

// GetFunction's Code.Location for a package: base_url + /lambdad/packages/<id>.zip[?token].
inline std::string code_location(const ControlOptions& o, const std::string& package_id) {
  const std::string path = "/lambdad/packages/" + package_id + ".zip";
  if (!o.sign_location) return o.base_url + path;
  return o.base_url + path + "?" + o.sign_location(path);
}

// What the rest of the server must learn after a successful write (invoker cache,
// draining warm environments). Called on the worker thread after the registry commit.
// `upserted` also announces a published version (record.version = "N").
struct ControlEffects {
  std::function<void(const registry::FunctionRecord&)> upserted;
  std::function<void(const std::string& name)> removed;
  std::function<void(const std::string& name, const std::string& version)> version_removed;
  std::function<void(const registry::AliasRecord&)> alias_upserted;
  std::function<void(const std::string& function, const std::string& alias)> alias_removed;
  std::function<void(const std::string& name, std::optional<int> reserved)> concurrency_changed;
  // Function URLs and SAM routes (api/function_urls_api.h). `removed` above also means the
  // function's URLs and routes are gone.
  std::function<void(const registry::FunctionUrlRecord&)> url_upserted;
  std::function<void(const std::string& function, const std::string& qualifier)> url_removed;
  std::function<void(const std::string& function, const std::vector<registry::HttpRoute>&)>
      routes_changed;
};

class ControlApi {
 public:
  ControlApi(registry::Registry& registry, packages::PackageStore& packages, ControlOptions options,
             ControlEffects effects);

  // Any request that is not Invoke. Unknown routes answer as Lambda does (404/405 with
  // UnknownOperationException-style error), never throw.
  HttpResponse handle(const HttpRequest& request);

  const ControlOptions& options() const { return options_; }

 private:
  registry::Registry& registry_;
  packages::PackageStore& packages_;
  ControlOptions options_;
  ControlEffects effects_;
};

// "arn:aws:lambda:<region>:<account>:function:<name>"
std::string function_arn(const ControlOptions& options, const std::string& name);

}  // namespace lambdad::api
