// `lambdad new NAME [--template echo|http] [--dir D]`: a standalone function project.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "cli/commands_dev.h"

#ifndef LAMBDAD_SOURCE_DIR
#error "LAMBDAD_SOURCE_DIR (the lambdad checkout) must be defined by the build"
#endif

namespace lambdad::cli {
namespace {

namespace fs = std::filesystem;

// Replaces every @NAME@-style key in `text`.
std::string fill(std::string_view text,
                 const std::vector<std::pair<std::string, std::string>>& vars) {
  std::string out(text);
  for (const auto& [key, value] : vars) {
    for (size_t at = out.find(key); at != std::string::npos;
         at = out.find(key, at + value.size())) {
      out.replace(at, key.size(), value);
    }
  }
  return out;
}

// Lambda function names: 1-64 of [A-Za-z0-9_-]; also a valid CMake target name.
bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

// "my-fn" -> "MyFnFunction": SAM logical ids are alphanumeric.
std::string logical_id(std::string_view name) {
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '-' || c == '_') {
      upper = true;
      continue;
    }
    out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  return out + "Function";
}

constexpr std::string_view kCMakeLists = R"(cmake_minimum_required(VERSION 3.20)
project(@NAME@ CXX)

if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release)
endif()

# The lambdad C++ SDK: the sdk/ directory of a lambdad checkout (it brings
# lambdad_add_function() from the cmake/ directory beside it).
set(LAMBDAD_SDK_DIR "@SDK_DIR@" CACHE PATH "lambdad sdk/ directory")
add_subdirectory(${LAMBDAD_SDK_DIR} lambdad_sdk)

# build/bootstrap and build/@NAME@.zip: what `lambdad deploy` uploads (CodeUri: .).
lambdad_add_function(@NAME@ SOURCES src/main.cc src/handler.cc)

enable_testing()
add_executable(@NAME@_test test/handler_test.cc src/handler.cc)
target_link_libraries(@NAME@_test PRIVATE lambdad_runtime)
target_include_directories(@NAME@_test PRIVATE src)
add_test(NAME @NAME@_test COMMAND @NAME@_test)
)";

constexpr std::string_view kTemplateYaml =
    R"(# AWS SAM template. `lambdad deploy` builds this project and creates or updates the
# function; the same file works with `sam deploy` once build/bootstrap is built.
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: @NAME@ - a C++ function on the lambdad SDK

Globals:
  Function:
    Timeout: 3
    MemorySize: 128

Resources:
  @LOGICAL_ID@:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: @NAME@
      CodeUri: .            # no bootstrap here, so lambdad deploy uses build/bootstrap
      Handler: bootstrap
      Runtime: provided.al2023
      MemorySize: 128
      Timeout: 3
      Architectures:
        - x86_64
@EVENTS@)";

constexpr std::string_view kHttpEvents = R"(      Events:
        Api:
          Type: HttpApi
          Properties:
            Path: /{proxy+}
            Method: ANY
)";

constexpr std::string_view kEchoHandlerH =
    R"(// The function's logic, kept apart from main() so tests can call it directly.
#pragma once

#include <lambdad/runtime.h>

lambdad::InvocationResponse handle(const lambdad::InvocationRequest& req);
)";

constexpr std::string_view kEchoHandlerCc = R"(#include "handler.h"

// Returns the event unchanged.
lambdad::InvocationResponse handle(const lambdad::InvocationRequest& req) {
  return lambdad::InvocationResponse::success(req.payload);
}
)";

constexpr std::string_view kEchoMain = R"(#include <lambdad/runtime.h>

#include "handler.h"

int main() { return lambdad::run(handle); }
)";

constexpr std::string_view kEchoTest =
    R"(// Runs without a Lambda platform: calls the handler with a hand-made invocation.
#include <cstdio>

#include "handler.h"

int main() {
  lambdad::InvocationRequest req;
  req.payload = R"json({"hello":"world"})json";
  lambdad::InvocationResponse out = handle(req);
  if (!out.is_success() || out.payload() != req.payload) {
    std::fprintf(stderr, "FAIL: echo returned %s\n", out.payload().c_str());
    return 1;
  }
  std::puts("ok");
  return 0;
}
)";

constexpr std::string_view kHttpHandlerH =
    R"(// The function's logic, kept apart from main() so tests can call it directly.
#pragma once

#include <lambdad/http.h>

lambdad::http::HttpResponse handle(const lambdad::http::HttpRequest& req);
)";

constexpr std::string_view kHttpHandlerCc = R"(#include "handler.h"

using lambdad::json_escape;
using lambdad::http::HttpResponse;

// Answers every route with what it was asked; replace with your routes.
HttpResponse handle(const lambdad::http::HttpRequest& req) {
  if (req.raw_path == "/health") return HttpResponse::text(200, "ok");
  return HttpResponse::json(200, R"json({"message":"hello from @NAME@","method":")json" +
                                     json_escape(req.method) + R"json(","path":")json" +
                                     json_escape(req.raw_path) + "\"}");
}
)";

constexpr std::string_view kHttpMain = R"(#include <lambdad/http.h>

#include "handler.h"

int main() { return lambdad::run(lambdad::http::handler(handle)); }
)";

constexpr std::string_view kHttpTest =
    R"(// Runs without a Lambda platform: feeds the handler a payload 2.0 event.
#include <cstdio>

#include "handler.h"

int main() {
  auto req = lambdad::http::parse_request(
      R"json({"rawPath":"/hi","requestContext":{"http":{"method":"GET"}}})json");
  if (!req) return 1;
  lambdad::http::HttpResponse out = handle(*req);
  if (out.status != 200 || out.body.find("\"path\":\"/hi\"") == std::string::npos) {
    std::fprintf(stderr, "FAIL: %d %s\n", out.status, out.body.c_str());
    return 1;
  }
  std::puts("ok");
  return 0;
}
)";

void usage() {
  std::fprintf(stderr,
               "usage: lambdad new NAME [--template echo|http] [--dir DIR] [--sdk-dir DIR]\n"
               "  writes a standalone C++ function project into DIR (default ./NAME)\n");
}

}  // namespace

std::string default_sdk_dir() { return std::string(LAMBDAD_SOURCE_DIR) + "/sdk"; }

Result<std::vector<std::string>> scaffold_project(const std::string& dir, const std::string& name,
                                                  const std::string& tmpl,
                                                  const std::string& sdk_dir) {
  if (!valid_name(name)) {
    return Error::make(Code::kInvalidArgument,
                       "invalid name '" + name + "': use 1-64 letters, digits, '-' or '_'");
  }
  const bool http = tmpl == "http";
  if (!http && tmpl != "echo") {
    return Error::make(Code::kInvalidArgument,
                       "unknown template '" + tmpl + "' (choose echo or http)");
  }
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    return Error::make(Code::kConflict, dir + " exists and is not empty");
  }
  const std::vector<std::pair<std::string, std::string>> vars = {
      {"@NAME@", name},
      {"@SDK_DIR@", fs::absolute(sdk_dir).lexically_normal().generic_string()},
      {"@LOGICAL_ID@", logical_id(name)},
      {"@EVENTS@", http ? std::string(kHttpEvents) : std::string()},
  };
  const std::vector<std::pair<std::string, std::string_view>> files = {
      {"CMakeLists.txt", kCMakeLists},
      {"template.yaml", kTemplateYaml},
      {"src/handler.h", http ? kHttpHandlerH : kEchoHandlerH},
      {"src/handler.cc", http ? kHttpHandlerCc : kEchoHandlerCc},
      {"src/main.cc", http ? kHttpMain : kEchoMain},
      {"test/handler_test.cc", http ? kHttpTest : kEchoTest},
      {".gitignore", "/build/\n"},
  };
  std::vector<std::string> written;
  for (const auto& [rel, text] : files) {
    const fs::path path = fs::path(dir) / rel;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return Error::make(Code::kInternal, "cannot create " + path.parent_path().string());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << fill(text, vars);
    out.close();
    if (!out) return Error::make(Code::kInternal, "cannot write " + path.string());
    written.push_back(path.string());
  }
  return written;
}

int new_project(Args& args) {
  std::string name, tmpl = "echo", dir, sdk_dir = default_sdk_dir();
  for (size_t i = 0; i < args.rest.size(); ++i) {
    const std::string& a = args.rest[i];
    const bool has_value = i + 1 < args.rest.size();
    if ((a == "--template" || a == "-t") && has_value) {
      tmpl = args.rest[++i];
    } else if (a == "--dir" && has_value) {
      dir = args.rest[++i];
    } else if (a == "--sdk-dir" && has_value) {
      sdk_dir = args.rest[++i];
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else if (name.empty() && !a.starts_with("-")) {
      name = a;
    } else {
      usage();
      return 2;
    }
  }
  if (name.empty()) {
    usage();
    return 2;
  }
  if (dir.empty()) dir = name;
  auto files = scaffold_project(dir, name, tmpl, sdk_dir);
  if (!files) {
    std::fprintf(stderr, "lambdad new: %s\n", files.error().message().c_str());
    return 1;
  }
  for (const auto& f : *files) std::printf("  created %s\n", f.c_str());
  std::printf(
      "\nnext:\n  cd %s\n  lambdad deploy            # build, package, create-or-update\n"
      "  lambdad invoke %s -d '{}'\n",
      dir.c_str(), name.c_str());
  return 0;
}

}  // namespace lambdad::cli
