// The package store: content-addressed function code. A zip is validated against
// Lambda's limits, unpacked once under <data_dir>/packages/<sha256hex>/ and shared by
// every function and sandbox using that code.
// Layout: <data_dir>/packages/<id>/{tree/, code.zip, info}; put() builds a package under
// <data_dir>/tmp/ and rename()s it into place, so a package dir is either whole or absent.
// Thread rules: safe from any thread; put() blocks (disk), call it off the io thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace lambdad::packages {

struct Limits {
  int64_t max_zip_bytes = 50LL * 1024 * 1024;        // 50 MB zipped (direct upload)
  int64_t max_unzipped_bytes = 250LL * 1024 * 1024;  // 250 MB unzipped
  int64_t max_entries = 100000;
};

struct PackageInfo {
  std::string id;           // hex SHA-256 of the zip bytes
  std::string code_sha256;  // base64 SHA-256 (Lambda's CodeSha256)
  int64_t zip_size = 0;
  int64_t unzipped_size = 0;
  bool has_bootstrap = false;  // a regular file or symlink named bootstrap at the root
};

class PackageStore {
 public:
  // Creates <data_dir>/packages (and tmp/ beside it).
  static Result<PackageStore> open(const std::string& data_dir, Limits limits = {});

  // Validates and unpacks `zip`. Idempotent for identical bytes. On any failure nothing is
  // left behind. kInvalidArgument with a message naming the problem (corrupt zip, entry
  // escaping the root, symlink outside, unzipped size over the limit); kTooLarge past the
  // zipped limit.
  Result<PackageInfo> put(std::string_view zip);
  // The unpacked tree (read-only by convention): <data_dir>/packages/<id>/tree.
  std::string tree_path(const std::string& id) const;
  // The original zip bytes (GetFunction's Code.Location serves them). kNotFound when absent.
  Result<std::string> read_zip(const std::string& id) const;
  bool exists(const std::string& id) const;
  // What put() returned for `id`, read back from disk (survives restarts). kNotFound when
  // the package is absent, kInvalidArgument when `id` is not 64 lowercase hex digits.
  Result<PackageInfo> info(const std::string& id) const;
  // Deletes packages not in `keep`. Returns how many were removed. The caller keeps put()
  // and collect_garbage() from racing on the same id (put, then reference, then GC).
  Result<int> collect_garbage(const std::vector<std::string>& keep);

 private:
  PackageStore(std::string root, Limits limits) : root_(std::move(root)), limits_(limits) {}
  std::string root_;
  Limits limits_;
};

}  // namespace lambdad::packages
