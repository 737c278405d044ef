// Alias routing: which version an alias invocation runs. Pure functions; any thread.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "registry/registry.h"

namespace lambdad::invoke {

// Picks the version for one invocation of `alias`: each additional version gets its weight
// (0..1) of the traffic, the alias's FunctionVersion the rest. `r` is uniform in [0, 1).
inline std::string pick_version(const registry::AliasRecord& alias, double r) {
  double acc = 0;
  for (const auto& [version, weight] : alias.additional_weights) {
    acc += weight;
    if (r < acc) return version;
  }
  return alias.function_version;
}

// "name" for $LATEST, "name:N" for a published version: the invoker's pool key.
inline std::string pool_key(const std::string& name, const std::string& version) {
  return version.empty() || version == "$LATEST" ? name : name + ":" + version;
}

}  // namespace lambdad::invoke
