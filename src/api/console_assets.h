// The web console's files (console/ and uPlot from console/node_modules), embedded into the
// binary at build time by cmake/EmbedConsole.cmake. Constant data; any thread.
#pragma once

#include <span>
#include <string_view>

namespace lambdad::api {

struct ConsoleAsset {
  std::string_view name;          // "index.html", "app.js", "uPlot.iife.min.js", ...
  std::string_view content_type;  // "text/javascript; charset=utf-8", ...
  std::string_view etag;          // quoted, from the SHA-256 of the bytes
  std::string_view body;
};

std::span<const ConsoleAsset> console_assets();

}  // namespace lambdad::api
