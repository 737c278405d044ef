// lambdad's own schedule API (not an AWS API; EventBridge-like shapes, Lambda's error format),
// served on the io thread next to Invoke:
//   GET    /lambdad/schedules[?FunctionName=F]  -> 200 {"Schedules":[Schedule...]} by name
//   POST   /lambdad/schedules                   {"Name",...} -> 201 Schedule; 409 if it exists
//   GET    /lambdad/schedules/{Name}            -> 200 Schedule; 404
//   PUT    /lambdad/schedules/{Name}            create or replace -> 200 Schedule
//   DELETE /lambdad/schedules/{Name}            -> 204; 404
// Request body: {"FunctionName" (name, name:qualifier or ARN; required), "Qualifier",
// "ScheduleExpression" (required), "Input" (JSON text, at most 8192 characters), "Enabled"
// (default true), "ManagedBy" (free text; `lambdad deploy` writes "sam")}.
// Schedule: {"Name","Arn","FunctionName","Qualifier"?,"FunctionArn","ScheduleExpression",
// "Enabled","Input"?,"ManagedBy"?,"CreatedAt","LastFired"|null,"NextFire"|null} with times as
// "2019-03-01T01:23:45Z" on the schedule clock (schedule/scheduler.h).
// Errors: ValidationException (bad name or expression, with the reason), 400
// InvalidRequestContentException (body not JSON), InvalidParameterValueException, 404
// ResourceNotFoundException (schedule, or the target function), 409 ResourceConflictException.
// Thread rules: io thread only; writes go through the scheduler's store thread and answer
// through `done`, called exactly once on the io thread.
#pragma once

#include <functional>
#include <string_view>

#include "api/http_message.h"
#include "invoke/invoker.h"
#include "schedule/scheduler.h"

namespace lambdad::api {

// True for the paths handle_schedules_api serves (any method).
bool is_schedules_api(std::string_view path);

void handle_schedules_api(schedule::Scheduler& scheduler, invoke::Invoker& invoker,
                          const HttpRequest& request, std::function<void(HttpResponse)> done);

}  // namespace lambdad::api
