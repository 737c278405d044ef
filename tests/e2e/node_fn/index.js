// Node.js function for lambdad's e2e tests, run by the official runtime interface client
// (aws-lambda-ric). The event selects the behaviour:
//   {"throw": true}     throws an Error (the caller sees FunctionError Unhandled)
//   {"sleep": ms}       waits ms milliseconds, then answers
//   {"counter": true}   answers {"counter": n}, n counting invocations of this environment
//   anything else       is answered as is
"use strict";

let counter = 0;

exports.handler = async (event, context) => {
  if (event && event.throw) {
    throw new Error("thrown on request");
  }
  if (event && typeof event.sleep === "number") {
    await new Promise((resolve) => setTimeout(resolve, event.sleep));
    return { slept: event.sleep, requestId: context.awsRequestId };
  }
  if (event && event.counter) {
    counter += 1;
    return { counter };
  }
  return event;
};
