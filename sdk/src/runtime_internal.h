// Internal entry points of the SDK for tests and tools; not installed.
#pragma once

#include <cstddef>
#include <string>

#include "lambdad/runtime.h"

namespace lambdad::sdk_detail {

struct RunOptions {
  // host:port of the Runtime API; empty = AWS_LAMBDA_RUNTIME_API.
  std::string runtime_api;
  // Return 0 after this many invocations; 0 = run forever.
  std::size_t max_invocations = 0;
};

int run_with_options(const Handler& handler, const RunOptions& options);

// Demangled name of a type_info name, or `fallback` if it cannot be demangled.
std::string demangle(const char* mangled, const char* fallback);

}  // namespace lambdad::sdk_detail
