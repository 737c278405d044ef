// SigV4 signing for the CLI's own requests, as the AWS SDKs do it: when AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY are set, every request carries X-Amz-Date, X-Amz-Security-Token (when
// AWS_SESSION_TOKEN is set) and an Authorization header for service "lambda" in AWS_REGION
// (else AWS_DEFAULT_REGION, else us-east-1). Without credentials requests go unsigned, which a
// lambdad without access keys accepts.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace lambdad::cli {

// Returns the headers to add (empty without credentials). `headers` are the ones already on
// the request (any case), Host included; `target` is path plus optional query.
std::vector<std::pair<std::string, std::string>> sigv4_headers(
    const std::string& method, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body);

// Convenience for Beast requests: adds the headers in place.
template <class Request>
void sign(Request& req) {
  std::vector<std::pair<std::string, std::string>> hs;
  for (const auto& f : req) hs.emplace_back(std::string(f.name_string()), std::string(f.value()));
  for (auto& [k, v] :
       sigv4_headers(std::string(req.method_string()), std::string(req.target()), hs, req.body()))
    req.set(k, v);
}

}  // namespace lambdad::cli
