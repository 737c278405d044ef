// Versions, aliases and reserved concurrency (issue #6): PublishVersion,
// ListVersionsByFunction, Get/Delete with a version or alias qualifier, Create/Get/Update/
// List/DeleteAlias, Put/Get/DeleteFunctionConcurrency. Called by ControlApi::handle on a
// worker thread (blocks on the registry); changes reach the invoker through ControlEffects.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <utility>
#include <vector>

#include "api/control_api.h"
#include "api/http_message.h"
#include "api/routes.h"
#include "registry/registry.h"

namespace lambdad::api {

// Lambda's default account concurrency limit, and the unreserved floor it keeps.
inline constexpr int kAccountConcurrency = 1000;
inline constexpr int kMinUnreservedConcurrency = 100;

struct VersionsContext {
  registry::Registry& registry;
  const ControlOptions& options;
  const ControlEffects& effects;
};

// FunctionConfiguration as Lambda renders it (defined in control_api.cc).
boost::json::object render_function_configuration(const ControlOptions& options,
                                                  const registry::FunctionRecord& fn,
                                                  bool list_item);

HttpResponse handle_versions(const VersionsContext& ctx, const RouteMatch& match,
                             const HttpRequest& request,
                             const std::vector<std::pair<std::string, std::string>>& query);

// GetFunction / GetFunctionConfiguration / DeleteFunction with a qualifier other than $LATEST.
HttpResponse get_qualified(const VersionsContext& ctx, const std::string& name,
                           const std::string& qualifier, bool configuration_only);
HttpResponse delete_qualified(const VersionsContext& ctx, const std::string& name,
                              const std::string& qualifier);

// CreateFunction / UpdateFunctionCode with Publish: publishes `latest` (just written) and
// answers with the new version's configuration and `status`.
HttpResponse publish_after_write(const VersionsContext& ctx, const registry::FunctionRecord& latest,
                                 int status);

// Adds "Concurrency" to a GetFunction answer when the function has a reservation.
void add_concurrency(const VersionsContext& ctx, const std::string& name, boost::json::object& out);
// Sum of every reservation (0 when the registry cannot tell).
int total_reserved_concurrency(const VersionsContext& ctx);

}  // namespace lambdad::api
