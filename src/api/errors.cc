#include "api/errors.h"

#include <array>
#include <boost/json.hpp>
#include <string>
#include <utility>

namespace lambdad::api {
namespace {

// Exceptions whose botocore model member is "Message" (capital M); every other one uses
// "message". RequestEntityTooLargeException is the wire name of the model's
// RequestTooLargeException and is observed with "Message" (reference §2).
constexpr std::array<std::string_view, 24> kCapitalMessage = {
    "ResourceNotFoundException",       "ServiceException",
    "RequestEntityTooLargeException",  "CodeSigningConfigNotFoundException",
    "CodeVerificationFailedException", "InvalidCodeSignatureException",
    "EC2AccessDeniedException",        "EC2ThrottledException",
    "EC2UnexpectedException",          "EFSIOException",
    "EFSMountConnectivityException",   "EFSMountFailureException",
    "EFSMountTimeoutException",        "ENILimitReachedException",
    "InvalidRuntimeException",         "InvalidSecurityGroupIDException",
    "InvalidSubnetIDException",        "InvalidZipFileException",
    "KMSAccessDeniedException",        "KMSDisabledException",
    "KMSInvalidStateException",        "KMSNotFoundException",
    "ResourceInUseException",          "SubnetIPAddressLimitReachedException",
};

bool uses_capital_message(std::string_view type) {
  for (std::string_view t : kCapitalMessage)
    if (t == type) return true;
  return type.starts_with("SnapStart");
}

}  // namespace

HttpResponse lambda_error(int status, std::string_view type, std::string_view message,
                          std::string_view reason) {
  boost::json::object body;
  if (!reason.empty()) body["Reason"] = reason;
  body["Type"] = status >= 500 ? "Service" : "User";
  body[uses_capital_message(type) ? "Message" : "message"] = message;

  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json");
  response.headers.emplace_back("x-amzn-ErrorType", std::string(type));
  // Lambda sends Retry-After on throttles; one second is what the SDKs' backoff starts at.
  if (status == 429) response.headers.emplace_back("Retry-After", "1");
  response.body = boost::json::serialize(body);
  return response;
}

HttpResponse error_response(const Error& error) {
  const std::string message = error.message();
  switch (error.code) {
    case Code::kNotFound:
      return lambda_error(404, "ResourceNotFoundException", message);
    case Code::kInvalidArgument:
      return lambda_error(400, "InvalidParameterValueException", message);
    case Code::kConflict:
      return lambda_error(409, "ResourceConflictException", message);
    case Code::kTooLarge:
      return lambda_error(413, "RequestEntityTooLargeException", message);
    case Code::kTooManyRequests:
      return lambda_error(429, "TooManyRequestsException", message);
    default:
      return lambda_error(500, "ServiceException", message);
  }
}

HttpResponse json_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

HttpResponse json_response(int status, const boost::json::value& body) {
  return json_response(status, boost::json::serialize(body));
}

HttpResponse empty_response(int status) { return json_response(status, std::string()); }

}  // namespace lambdad::api
