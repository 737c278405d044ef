// Stand-in for src/packages/package_store.cc while the real store lives on another branch:
// stores zip bytes under <data_dir>/packages/<id>.zip without unpacking. Checks only the
// zipped size limit and the zip magic. Linked by tests only when lambdad_packages is absent.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/encoding.h"
#include "packages/package_store.h"

namespace lambdad::packages {

Result<PackageStore> PackageStore::open(const std::string& data_dir, Limits limits) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir + "/packages", ec);
  if (ec) return Error::make(Code::kInternal, "create " + data_dir + "/packages: " + ec.message());
  return PackageStore(data_dir + "/packages", limits);
}

Result<PackageInfo> PackageStore::put(std::string_view zip) {
  if (static_cast<int64_t>(zip.size()) > limits_.max_zip_bytes)
    return Error::make(Code::kTooLarge, "zip too large");
  if (!zip.starts_with("PK"))
    return Error::make(Code::kInvalidArgument,
                       "Could not unzip uploaded file. Please check your file, then try to "
                       "upload again.");
  PackageInfo info{sha256_hex(zip), sha256_base64(zip), static_cast<int64_t>(zip.size()), 0, true};
  std::ofstream(root_ + "/" + info.id + ".zip", std::ios::binary) << zip;
  return info;
}

std::string PackageStore::tree_path(const std::string& id) const { return root_ + "/" + id; }

Result<std::string> PackageStore::read_zip(const std::string& id) const {
  std::ifstream in(root_ + "/" + id + ".zip", std::ios::binary);
  if (!in) return Error::make(Code::kNotFound, "no package " + id);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool PackageStore::exists(const std::string& id) const {
  return std::filesystem::exists(root_ + "/" + id + ".zip");
}

Result<int> PackageStore::collect_garbage(const std::vector<std::string>&) { return 0; }

}  // namespace lambdad::packages
