// Transport-neutral HTTP request/response used between the Beast server and the
// handlers (no Beast type crosses this line). Values; no thread rules.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lambdad::api {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // raw (still percent-encoded) path, without the query
  std::string query;   // raw query string without '?', "" when absent
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  // The first header with this lower-case name, or nullptr.
  const std::string* header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers)
      if (k == lower_name) return &v;
    return nullptr;
  }
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type included here
  std::string body;
};

}  // namespace lambdad::api
