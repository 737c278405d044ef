// Developer-workflow subcommands: `lambdad new`, `lambdad package`, `lambdad deploy`, and the
// library calls beneath them (kept here so unit tests can reach them without a server).
// Blocking; call from one thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "common/result.h"

namespace lambdad::cli {

int new_project(Args& args);
int package(Args& args);
int deploy(Args& args);

// --- packaging (package.cc) ----------------------------------------------------------------

struct ZipEntry {
  std::string name;  // path inside the zip, '/'-separated
  std::string data;
  uint32_t mode = 0644;  // permission bits, stored as Unix mode in the zip
};

// A deflated zip of `entries` in order, with a fixed 1980-01-02 mtime so equal input gives equal
// bytes (and so an equal CodeSha256). kInternal if libarchive fails.
Result<std::string> make_zip(const std::vector<ZipEntry>& entries);

// The file at `path` zipped as `bootstrap` (mode 0755). kNotFound / kInvalidArgument when it is
// missing or not a regular file.
Result<std::string> zip_bootstrap(const std::string& path);

// Every regular file under `dir` (recursively, sorted, modes kept; symlinks followed), named
// relative to `dir`. kInvalidArgument if `dir` has no `bootstrap` at its root.
Result<std::string> zip_directory(const std::string& dir);

// --- scaffolding (scaffold.cc) -------------------------------------------------------------

// Writes a standalone project named `name` into `dir` (created; must not exist or be empty):
// CMakeLists.txt, src/handler.{h,cc}, src/main.cc, test/handler_test.cc, template.yaml,
// .gitignore. `tmpl` is "echo" or "http". `sdk_dir` is the lambdad sdk/ directory the project's
// CMakeLists.txt defaults LAMBDAD_SDK_DIR to. Returns the paths written.
Result<std::vector<std::string>> scaffold_project(const std::string& dir, const std::string& name,
                                                  const std::string& tmpl,
                                                  const std::string& sdk_dir);

// The lambdad sdk/ directory this binary was built from (compile-time LAMBDAD_SOURCE_DIR).
std::string default_sdk_dir();

}  // namespace lambdad::cli
