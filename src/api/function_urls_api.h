// Function URL configs (Create/Get/Update/Delete/ListFunctionUrlConfigs, 2021-10-31 paths) and
// lambdad's own route table for SAM HttpApi/Api events (PUT/GET/DELETE /lambdad/routes/{F},
// GET /lambdad/routes). Called by ControlApi::handle on a worker thread (blocks on the
// registry); changes reach the HTTP front end through ControlEffects.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "api/control_api.h"
#include "api/http_message.h"
#include "api/routes.h"
#include "registry/registry.h"

namespace lambdad::api {

struct UrlsContext {
  registry::Registry& registry;
  const ControlOptions& options;
  const ControlEffects& effects;
};

HttpResponse handle_function_urls(const UrlsContext& ctx, const RouteMatch& match,
                                  const HttpRequest& request,
                                  const std::vector<std::pair<std::string, std::string>>& query);

// "http://<url-id>.lambda-url.<region>.localhost:<port>/" for the server at options.base_url.
std::string function_url(const ControlOptions& options, const std::string& url_id);

// "2021-10-27T20:14:02.123456Z" (ISO-8601 with microseconds, as Lambda writes URL times).
std::string url_timestamp_now();

}  // namespace lambdad::api
