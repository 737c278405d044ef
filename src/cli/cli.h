// The `lambdad` command line: one function per subcommand, thin over the libraries.
#pragma once

#include <string>
#include <vector>

#ifndef LAMBDAD_VERSION
#define LAMBDAD_VERSION "0.1.0"
#endif

namespace lambdad::cli {

struct Args {
  std::vector<std::string> rest;  // arguments after the subcommand
};

int serve(Args& args);
int invoke(Args& args);
int logs(Args& args);
int rm(Args& args);
int cost(Args& args);  // cost.cc
int tune(Args& args);  // tune.cc
int ls(Args& args);    // cli/ls.cc
// `lambdad keys add|ls|rm` (auth/key_store.h).
int keys(Args& args);
// `lambdad schedule add|ls|rm` (cli/schedule.cc, api/schedules_api.h).
int schedule(Args& args);

// Client subcommands: --endpoint-url, else AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL,
// http://127.0.0.1:9001.
std::string endpoint_url(Args& args);

}  // namespace lambdad::cli
