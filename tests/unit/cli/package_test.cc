// Zips written by `lambdad package` / deploy (src/cli/package.cc), read back with libarchive.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "cli/commands_dev.h"

namespace lambdad::cli {
namespace {

namespace fs = std::filesystem;

struct Unzipped {
  std::string data;
  unsigned mode = 0;
};

std::map<std::string, Unzipped> unzip(const std::string& zip) {
  std::map<std::string, Unzipped> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_zip(a);
  EXPECT_EQ(archive_read_open_memory(a, zip.data(), zip.size()), ARCHIVE_OK);
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Unzipped u;
    u.mode = archive_entry_perm(e);
    char buf[4096];
    for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof buf)) > 0;) u.data.append(buf, n);
    out[archive_entry_pathname(e)] = u;
  }
  archive_read_free(a);
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "lambdad-cli-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write(const fs::path& p, const std::string& data, fs::perms perms) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
  fs::permissions(p, perms);
}

TEST(PackageTest, ZipsExecutableAsBootstrapWithMode0755) {
  TempDir dir;
  const std::string exe(100000, 'x');  // compressible, so deflate is visible in the size
  write(dir.path() / "my-fn", exe, fs::perms::owner_read | fs::perms::owner_write);
  auto zip = zip_bootstrap((dir.path() / "my-fn").string());
  ASSERT_TRUE(zip.ok()) << zip.error().message();
  EXPECT_LT(zip->size(), exe.size() / 10);
  auto files = unzip(*zip);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files["bootstrap"].data, exe);
  EXPECT_EQ(files["bootstrap"].mode, 0755u);
}

TEST(PackageTest, SameInputGivesSameBytes) {
  auto a = make_zip({ZipEntry{"bootstrap", "abc", 0755}});
  auto b = make_zip({ZipEntry{"bootstrap", "abc", 0755}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(PackageTest, MissingExecutableIsNotFound) {
  auto zip = zip_bootstrap("/nonexistent/lambdad/bootstrap");
  ASSERT_FALSE(zip.ok());
  EXPECT_EQ(zip.error().code, Code::kNotFound);
}

TEST(PackageTest, ZipsDirectoryTreeKeepingModes) {
  TempDir dir;
  write(dir.path() / "bootstrap", "#!/bin/sh\n", fs::perms::owner_all);
  write(dir.path() / "lib/data.txt", "data", fs::perms::owner_read | fs::perms::group_read);
  auto zip = zip_directory(dir.path().string());
  ASSERT_TRUE(zip.ok()) << zip.error().message();
  auto files = unzip(*zip);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files["bootstrap"].mode, 0755u);  // exec bits forced for the runtime
  EXPECT_EQ(files["lib/data.txt"].data, "data");
  EXPECT_EQ(files["lib/data.txt"].mode, 0440u);
}

TEST(PackageTest, DirectoryWithoutBootstrapIsRejected) {
  TempDir dir;
  write(dir.path() / "main.cc", "int main(){}", fs::perms::owner_all);
  auto zip = zip_directory(dir.path().string());
  ASSERT_FALSE(zip.ok());
  EXPECT_EQ(zip.error().code, Code::kInvalidArgument);
}

}  // namespace
}  // namespace lambdad::cli
