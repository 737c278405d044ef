// Zip validation and unpacking: PackageStore::put on arbitrary bytes, in a temp data dir.
#include <cstdlib>
#include <optional>
#include <string>

#include "packages/package_store.h"

using namespace lambdad;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static packages::PackageStore* store = [] {
    char tmpl[] = "/tmp/lambdad-fuzz-package-XXXXXX";
    packages::Limits limits;
    limits.max_unzipped_bytes = 8 << 20;
    limits.max_entries = 1000;
    auto s = packages::PackageStore::open(mkdtemp(tmpl), limits);
    if (!s) std::abort();
    return new packages::PackageStore(std::move(*s));
  }();
  auto info = store->put(std::string_view(reinterpret_cast<const char*>(data), size));
  if (info) (void)store->collect_garbage({});
  return 0;
}
