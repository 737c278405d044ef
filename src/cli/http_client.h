// A tiny blocking HTTP/1.1 client for CLI subcommands (one connection per request).
// Throws nothing: connection failures come back as status 0 with `error` set.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lambdad::cli {

struct HttpReply {
  int status = 0;  // 0 = could not connect / protocol error (see error)
  std::string error;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

// `url` is http://host:port (path ignored); `target` the request path and query.
HttpReply http_call(const std::string& url, const std::string& method, const std::string& target,
                    const std::vector<std::pair<std::string, std::string>>& headers = {},
                    std::string body = {});

}  // namespace lambdad::cli
