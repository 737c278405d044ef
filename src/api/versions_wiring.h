// Wiring for versions, aliases and reserved concurrency (issue #6) between the control API's
// effects and the invoker's cache. Called once by `lambdad serve` at startup.
#pragma once

#include "api/control_api.h"
#include "api/http_front.h"
#include "common/result.h"
#include "invoke/invoker.h"
#include "registry/registry.h"

namespace lambdad::api {

// Sets the version/alias/concurrency members of `effects` to post into `invoker`.
void wire_version_effects(ControlEffects& effects, invoke::Invoker& invoker);

// Loads every published version, alias and reservation into the invoker (io thread not yet
// running, so direct calls). Functions ($LATEST) are loaded by the caller.
Result<void> load_versions(registry::Registry& registry, invoke::Invoker& invoker);

// Sets the URL/route members of `effects` to update `front` (FrontTable is thread-safe, so
// the worker thread updates it directly, before the reply).
void wire_front_effects(ControlEffects& effects, FrontTable& front);

// Loads every function URL and SAM route into `front` at startup.
Result<void> load_front(registry::Registry& registry, FrontTable& front);

}  // namespace lambdad::api
