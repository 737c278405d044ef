// Lambda's error wire format, in one place: status, x-amzn-ErrorType header and JSON body
// {"Type":"User"|"Service","message"|"Message":...} with the message key's case per the
// botocore model of each exception (see shared reference invoke-and-control-api.md §2).
#pragma once

#include <boost/json/fwd.hpp>
#include <string>
#include <string_view>

#include "api/http_message.h"
#include "common/result.h"

namespace lambdad::api {

// e.g. lambda_error(404, "ResourceNotFoundException", "Function not found: arn:...").
// Adds Content-Type application/json. For 429 adds Retry-After and "Reason" when given.
HttpResponse lambda_error(int status, std::string_view type, std::string_view message,
                          std::string_view reason = {});

// Maps an internal Error by its Code: kNotFound 404 ResourceNotFoundException, kInvalidArgument
// 400 InvalidParameterValueException, kConflict 409 ResourceConflictException, kTooLarge 413
// RequestEntityTooLargeException, kTooManyRequests 429 TooManyRequestsException, else 500
// ServiceException. The message is error.message().
HttpResponse error_response(const Error& error);

// A successful reply: `status`, Content-Type application/json, the body given (already
// serialised, or serialised here), or none.
HttpResponse json_response(int status, std::string body);
HttpResponse json_response(int status, const boost::json::value& body);
HttpResponse empty_response(int status);

}  // namespace lambdad::api
