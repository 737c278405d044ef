// The async half of the public API, served on the io thread next to Invoke:
// Put/Get/Update/Delete/ListFunctionEventInvokeConfigs (/2019-09-25/functions/{F}/
// event-invoke-config[...]) and lambdad's own status call GET /lambdad/async.
// Thread rules: io thread only (reads the invoker's and the queue's caches; writes go through
// the queue's writer thread and answer through `done`, called exactly once on the io thread).
#pragma once

#include <functional>
#include <string_view>

#include "api/http_message.h"
#include "async/queue.h"
#include "invoke/invoker.h"

namespace lambdad::api {

// True for the paths handle_async_api serves (any method).
bool is_async_api(std::string_view path);

void handle_async_api(async::Queue& queue, invoke::Invoker& invoker, const HttpRequest& request,
                      std::function<void(HttpResponse)> done);

}  // namespace lambdad::api
