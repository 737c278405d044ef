#include <cstdio>
#include <cstring>

#include "cli/cli.h"
#include "cli/commands_dev.h"

namespace {
void usage() {
  std::fprintf(
      stderr,
      "lambdad %s -- a self-hosted, Lambda-compatible function server\n\n"
      "usage: lambdad <command> [options]\n\n"
      "  serve    run the server (--listen 127.0.0.1:9001 --data-dir ./.lambdad [--insecure])\n"
      "  invoke   invoke a function: invoke NAME [-d JSON] [--log]\n"
      "  logs     print a function's log: logs NAME [--follow]\n"
      "  rm       delete functions: rm NAME...\n"
      "  cost     usage and cost per function: cost [NAME] [--since 1h|1d|ISO]\n"
      "  tune     cheapest memory size: tune NAME --memory 128,256,... [--runs N]\n"
      "  ls       list functions with memory, timeout and async queue depth\n"
      "  new      scaffold a C++ function project: new NAME [--template echo|http]\n"
      "  package  zip an executable as bootstrap: package EXE [-o F.zip]\n"
      "  deploy   build and deploy a SAM project: deploy [DIR]\n"
      "  schedule rate()/cron() schedules: schedule add NAME --function F --expression E | ls "
      "| rm NAME\n"
      "  keys     access keys for SigV4: keys add [--name N] | ls | rm AKID\n"
      "  version  print the version\n",
      LAMBDAD_VERSION);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  lambdad::cli::Args args;
  for (int i = 2; i < argc; ++i) args.rest.emplace_back(argv[i]);
  const std::string cmd = argv[1];
  if (cmd == "serve") return lambdad::cli::serve(args);
  if (cmd == "invoke") return lambdad::cli::invoke(args);
  if (cmd == "logs") return lambdad::cli::logs(args);
  if (cmd == "rm") return lambdad::cli::rm(args);
  if (cmd == "cost") return lambdad::cli::cost(args);
  if (cmd == "tune") return lambdad::cli::tune(args);
  if (cmd == "ls") return lambdad::cli::ls(args);
  if (cmd == "keys") return lambdad::cli::keys(args);
  if (cmd == "schedule") return lambdad::cli::schedule(args);
  if (cmd == "new") return lambdad::cli::new_project(args);
  if (cmd == "package") return lambdad::cli::package(args);
  if (cmd == "deploy") return lambdad::cli::deploy(args);
  if (cmd == "version" || cmd == "--version") {
    std::printf("lambdad %s\n", LAMBDAD_VERSION);
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    usage();
    return 0;
  }
  std::fprintf(stderr, "lambdad: unknown command '%s'\n", cmd.c_str());
  usage();
  return 2;
}
