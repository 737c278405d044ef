#include "packages/package_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/encoding.h"

namespace lambdad::packages {
namespace {

namespace fs = std::filesystem;

constexpr char kUnzipFailed[] =
    "Could not unzip uploaded file. Please check your file, then try to upload again.";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << data;
}

mode_t perm_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

size_t entries_in(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

class PackageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "lambdad-packages-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    data_dir_ = root_ / "data";
    work_ = root_ / "work";
    fs::create_directories(work_);
  }
  void TearDown() override { fs::remove_all(root_); }

  PackageStore open_store(Limits limits = {}) {
    auto s = PackageStore::open(data_dir_.string(), limits);
    EXPECT_TRUE(s.ok()) << s.error().message();
    return std::move(s).value();
  }

  // Runs a python zipfile script; `z` is an open ZipFile writing `out`, and
  // add(name, data, mode) / link(name, target) are predefined. Returns the zip bytes.
  std::string py_zip(const std::string& body) {
    const fs::path out = work_ / ("py" + std::to_string(counter_++) + ".zip");
    const fs::path script = work_ / "make_zip.py";
    spit(script,
         "import zipfile, sys\n"
         "out = sys.argv[1]\n"
         "def add(name, data, mode=0o100644):\n"
         "    zi = zipfile.ZipInfo(name)\n"
         "    zi.create_system = 3\n"
         "    zi.external_attr = mode << 16\n"
         "    zi.compress_type = zipfile.ZIP_DEFLATED\n"
         "    z.writestr(zi, data)\n"
         "def link(name, target):\n"
         "    add(name, target, 0o120777)\n"
         "with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:\n" +
             indent(body));
    const std::string cmd = "/usr/bin/python3 " + script.string() + " " + out.string();
    EXPECT_EQ(std::system(cmd.c_str()), 0) << body;
    return slurp(out);
  }

  // Zips the contents of `dir` with /usr/bin/zip (-y keeps symlinks as symlinks).
  std::string cli_zip(const fs::path& dir) {
    const fs::path out = work_ / ("cli" + std::to_string(counter_++) + ".zip");
    const std::string cmd =
        "cd " + dir.string() + " && /usr/bin/zip -q -r -y " + out.string() + " .";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return slurp(out);
  }

  static std::string indent(const std::string& body) {
    std::string out = "    ";
    for (char c : body) {
      out += c;
      if (c == '\n') out += "    ";
    }
    return out + "\n    pass\n";
  }

  // Nothing half-built remains after a failed put: no temp dirs, no packages.
  void expect_nothing_left_behind() {
    EXPECT_EQ(entries_in(data_dir_ / "tmp"), 0u);
    EXPECT_EQ(entries_in(data_dir_ / "packages"), 0u);
  }

  void expect_invalid(PackageStore& store, const std::string& zip, const std::string& needle,
                      int line = __builtin_LINE()) {
    SCOPED_TRACE("called from line " + std::to_string(line));
    auto r = store.put(zip);
    ASSERT_FALSE(r.ok()) << "accepted a zip that should fail with: " << needle;
    EXPECT_EQ(r.error().code, Code::kInvalidArgument) << r.error().message();
    EXPECT_NE(r.error().context.find(needle), std::string::npos) << r.error().context;
    expect_nothing_left_behind();
  }

  fs::path root_, data_dir_, work_;
  int counter_ = 0;
};

TEST_F(PackageStoreTest, OpenCreatesPackagesAndTmpDirs) {
  open_store();
  EXPECT_TRUE(fs::is_directory(data_dir_ / "packages"));
  EXPECT_TRUE(fs::is_directory(data_dir_ / "tmp"));
}

TEST_F(PackageStoreTest, ValidZipUnpacksWithModesAndInfo) {
  const fs::path src = work_ / "src";
  spit(src / "bootstrap", "#!/bin/sh\necho hi\n");
  spit(src / "lib" / "data.txt", "hello");
  spit(src / "bin" / "tool", "binary!");
  fs::permissions(src / "bootstrap", fs::perms(0755));
  fs::permissions(src / "lib" / "data.txt", fs::perms(0644));
  fs::permissions(src / "bin" / "tool", fs::perms(0750));
  const std::string zip = cli_zip(src);

  auto store = open_store();
  auto info = store.put(zip);
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->id, sha256_hex(zip));
  EXPECT_EQ(info->code_sha256, sha256_base64(zip));
  EXPECT_EQ(info->code_sha256.size(), 44u);
  EXPECT_EQ(info->zip_size, static_cast<int64_t>(zip.size()));
  EXPECT_EQ(info->unzipped_size, 18 + 5 + 7);
  EXPECT_TRUE(info->has_bootstrap);

  const fs::path tree = store.tree_path(info->id);
  EXPECT_EQ(tree, data_dir_ / "packages" / info->id / "tree");
  EXPECT_TRUE(store.exists(info->id));
  EXPECT_EQ(slurp(tree / "bootstrap"), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(slurp(tree / "lib" / "data.txt"), "hello");
  EXPECT_EQ(perm_of(tree / "bootstrap"), 0755u);
  EXPECT_EQ(perm_of(tree / "lib" / "data.txt"), 0644u);
  EXPECT_EQ(perm_of(tree / "bin" / "tool"), 0750u);
  EXPECT_EQ(perm_of(tree / "lib"), 0755u);
  EXPECT_EQ(perm_of(tree), 0755u);
  EXPECT_EQ(access((tree / "bootstrap").c_str(), X_OK), 0);

  auto bytes = store.read_zip(info->id);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, zip);
  EXPECT_EQ(entries_in(data_dir_ / "tmp"), 0u);
}

TEST_F(PackageStoreTest, ModesAreMaskedAndDefaultTo0644) {
  const std::string zip = py_zip(
      "add('setuid', 'x', 0o104777)\n"
      "add('nomode', 'y', 0o100000)\n"
      "add('private', 'z', 0o100600)\n");
  auto store = open_store();
  auto info = store.put(zip);
  ASSERT_TRUE(info.ok()) << info.error().message();
  const fs::path tree = store.tree_path(info->id);
  EXPECT_EQ(perm_of(tree / "setuid"), 0755u);  // no setuid, no group/other write
  EXPECT_EQ(perm_of(tree / "nomode"), 0644u);
  EXPECT_EQ(perm_of(tree / "private"), 0600u);
}

TEST_F(PackageStoreTest, PutIsIdempotentAndInfoSurvivesReopen) {
  const std::string zip = py_zip("add('bootstrap', 'abc', 0o100755)\nadd('a/b', 'defg')\n");
  PackageInfo first;
  {
    auto store = open_store();
    auto a = store.put(zip);
    ASSERT_TRUE(a.ok()) << a.error().message();
    first = *a;
    // Mark the tree: a second put must not re-extract over it.
    spit(store.tree_path(first.id) + "/marker", "m");
    auto b = store.put(zip);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->id, first.id);
    EXPECT_EQ(b->unzipped_size, 7);
    EXPECT_TRUE(b->has_bootstrap);
    EXPECT_TRUE(fs::exists(store.tree_path(first.id) + "/marker"));
  }
  auto store = open_store();
  auto again = store.put(zip);
  ASSERT_TRUE(again.ok());
  auto read_back = store.info(first.id);
  ASSERT_TRUE(read_back.ok());
  for (const PackageInfo* p : {&*again, &*read_back}) {
    EXPECT_EQ(p->id, first.id);
    EXPECT_EQ(p->code_sha256, first.code_sha256);
    EXPECT_EQ(p->zip_size, first.zip_size);
    EXPECT_EQ(p->unzipped_size, 7);
    EXPECT_TRUE(p->has_bootstrap);
  }
  EXPECT_EQ(entries_in(data_dir_ / "packages"), 1u);
  EXPECT_EQ(entries_in(data_dir_ / "tmp"), 0u);
}

TEST_F(PackageStoreTest, InfoIsRebuiltWhenInfoFileIsLost) {
  const std::string zip = py_zip("add('bootstrap', 'abc', 0o100755)\nadd('x', '12345')\n");
  auto store = open_store();
  auto put = store.put(zip);
  ASSERT_TRUE(put.ok());
  fs::remove(data_dir_ / "packages" / put->id / "info");
  auto info = store.info(put->id);
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->unzipped_size, 8);
  EXPECT_TRUE(info->has_bootstrap);
  EXPECT_EQ(info->code_sha256, put->code_sha256);
}

TEST_F(PackageStoreTest, UnknownOrMalformedIdsAreNotFound) {
  auto store = open_store();
  const std::string missing(64, 'a');
  EXPECT_FALSE(store.exists(missing));
  EXPECT_EQ(store.read_zip(missing).error().code, Code::kNotFound);
  EXPECT_EQ(store.info(missing).error().code, Code::kNotFound);
  EXPECT_FALSE(store.exists("../../etc"));
  EXPECT_EQ(store.read_zip("../../etc/passwd").error().code, Code::kInvalidArgument);
}

TEST_F(PackageStoreTest, CorruptZipIsRejectedWithLambdaMessage) {
  auto store = open_store();
  expect_invalid(store, "this is definitely not a zip file, just some text", kUnzipFailed);
  expect_invalid(store, "", kUnzipFailed);

  const std::string good = py_zip("add('bootstrap', 'x' * 100000)\n");
  // Cut off the end: the central directory is gone.
  expect_invalid(store, good.substr(0, good.size() / 2), kUnzipFailed);
  // Only the end-of-central-directory record cut: local entries still read fine.
  const std::string small = py_zip("add('bootstrap', 'hi')\n");
  expect_invalid(store, small.substr(0, small.size() - 40), kUnzipFailed);
  // Flip bytes inside the compressed data: inflate or the CRC check fails.
  std::string flipped = good;
  for (size_t i = 60; i < 90 && i < flipped.size(); ++i) flipped[i] ^= 0x5a;
  expect_invalid(store, flipped, kUnzipFailed);
}

TEST_F(PackageStoreTest, ZipSlipDotDotIsRejectedNamingTheEntry) {
  auto store = open_store();
  expect_invalid(store, py_zip("add('ok', 'fine')\nadd('../evil', 'pwned')\n"),
                 "Invalid zip entry path: ../evil escapes the package root");
  expect_invalid(store, py_zip("add('a/../../evil', 'pwned')\n"), "a/../../evil");
  EXPECT_FALSE(fs::exists(data_dir_ / "tmp" / "evil"));
  EXPECT_FALSE(fs::exists(data_dir_ / "evil"));
  EXPECT_FALSE(fs::exists(root_ / "evil"));
}

TEST_F(PackageStoreTest, AbsoluteEntryPathIsRejected) {
  auto store = open_store();
  const fs::path target = work_ / "abs-target";
  expect_invalid(store, py_zip("add('" + target.string() + "', 'pwned')\n"),
                 "Invalid zip entry path: " + target.string());
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(PackageStoreTest, SymlinkEscapingTheRootIsRejected) {
  auto store = open_store();
  // A real symlink zipped with zip -y.
  const fs::path src = work_ / "linksrc";
  spit(src / "bootstrap", "x");
  fs::create_directories(src / "sub");
  fs::create_symlink("../../../etc/passwd", src / "sub" / "passwd");
  expect_invalid(store, cli_zip(src), "sub/passwd -> ../../../etc/passwd");

  expect_invalid(store, py_zip("link('etc', '/etc')\n"), "etc -> /etc points outside");
  expect_invalid(store, py_zip("link('up', '..')\n"), "up -> ..");
}

TEST_F(PackageStoreTest, SymlinkChainEscapeIsRejected) {
  // Lexically "d/.." is the root, but d -> "." makes it the root's parent.
  auto store = open_store();
  expect_invalid(store, py_zip("link('e', 'd/..')\nlink('d', '.')\n"), "e -> d/..");
  expect_invalid(store, py_zip("link('a', 'b')\nlink('b', 'a')\n"), "symbolic links");
}

TEST_F(PackageStoreTest, WritingThroughAnEarlierSymlinkIsRejected) {
  auto store = open_store();
  expect_invalid(store, py_zip("add('real/x', 'a')\nlink('alias', 'real')\nadd('alias/y', 'b')\n"),
                 "alias/y passes through");
  expect_invalid(store, py_zip("add('file', 'a')\nadd('file/y', 'b')\n"), "file/y passes through");
}

TEST_F(PackageStoreTest, SymlinksInsideTheRootAreKept) {
  const fs::path src = work_ / "okl";
  spit(src / "bin" / "app", "app");
  fs::permissions(src / "bin" / "app", fs::perms(0755));
  fs::create_symlink("bin/app", src / "bootstrap");
  fs::create_symlink("../bin/app", src / "bin" / "self");
  auto store = open_store();
  auto info = store.put(cli_zip(src));
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_TRUE(info->has_bootstrap);
  const fs::path tree = store.tree_path(info->id);
  EXPECT_TRUE(fs::is_symlink(tree / "bootstrap"));
  EXPECT_EQ(fs::read_symlink(tree / "bootstrap"), "bin/app");
  EXPECT_EQ(slurp(tree / "bootstrap"), "app");
}

TEST_F(PackageStoreTest, DuplicateEntryIsRejected) {
  auto store = open_store();
  // Python warns about the duplicate name but writes it.
  expect_invalid(store,
                 py_zip("import warnings\nwarnings.simplefilter('ignore')\n"
                        "add('x', 'a')\nadd('x', 'b')\n"),
                 "x appears twice");
}

TEST_F(PackageStoreTest, TooManyEntriesIsRejected) {
  Limits limits;
  limits.max_entries = 3;
  auto store = open_store(limits);
  expect_invalid(store, py_zip("for i in range(4): add('f%d' % i, 'x')\n"), "more than 3 entries");
  EXPECT_TRUE(store.put(py_zip("for i in range(3): add('f%d' % i, 'x')\n")).ok());
}

TEST_F(PackageStoreTest, UnzippedLimitCountsBytesWritten) {
  Limits limits;
  limits.max_unzipped_bytes = 1000;
  auto store = open_store(limits);
  // Exactly at the limit passes, one more byte (split across files) fails.
  auto at = store.put(py_zip("add('a', 'x' * 600)\nadd('b', 'y' * 400)\n"));
  ASSERT_TRUE(at.ok()) << at.error().message();
  EXPECT_EQ(at->unzipped_size, 1000);
  ASSERT_TRUE(store.collect_garbage({}).ok());
  expect_invalid(store, py_zip("add('a', 'x' * 600)\nadd('b', 'y' * 401)\n"),
                 "Unzipped size must be smaller than 1000 bytes");
}

TEST_F(PackageStoreTest, ZipBombIsRejectedAndLeavesNothing) {
  // 300 MB of zeros deflates to about 300 KB.
  const std::string zip = py_zip(
      "with z.open('zeros', 'w', force_zip64=True) as f:\n"
      "    chunk = bytes(1 << 20)\n"
      "    for _ in range(300): f.write(chunk)\n");
  ASSERT_LT(zip.size(), 2u * 1024 * 1024);
  auto store = open_store();
  auto r = store.put(zip);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_EQ(r.error().context, "Unzipped size must be smaller than 262144000 bytes");
  expect_nothing_left_behind();
}

TEST_F(PackageStoreTest, OversizeZipIsTooLargeBeforeUnpacking) {
  Limits limits;
  limits.max_zip_bytes = 100;
  auto store = open_store(limits);
  const std::string zip = py_zip("add('bootstrap', 'x' * 1000)\n");
  ASSERT_GT(zip.size(), 100u);
  auto r = store.put(zip);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kTooLarge);
  expect_nothing_left_behind();
  // Size is checked first: garbage over the limit is kTooLarge, not a zip error.
  EXPECT_EQ(store.put(std::string(101, 'g')).error().code, Code::kTooLarge);
}

TEST_F(PackageStoreTest, ZipWithoutBootstrapIsAccepted) {
  auto store = open_store();
  auto info =
      store.put(py_zip("add('index.js', 'exports.handler=1')\nadd('sub/bootstrap', 'x')\n"));
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_FALSE(info->has_bootstrap);
  EXPECT_TRUE(store.exists(info->id));
}

TEST_F(PackageStoreTest, EmptyDirectoryEntriesAreCreated) {
  auto store = open_store();
  auto info = store.put(py_zip("add('empty/', '', 0o40700)\nadd('./dot', 'x')\n"));
  ASSERT_TRUE(info.ok()) << info.error().message();
  const fs::path tree = store.tree_path(info->id);
  EXPECT_TRUE(fs::is_directory(tree / "empty"));
  EXPECT_EQ(perm_of(tree / "empty"), 0755u);
  EXPECT_TRUE(fs::is_regular_file(tree / "dot"));
}

TEST_F(PackageStoreTest, CollectGarbageRemovesUnreferencedPackages) {
  auto store = open_store();
  auto a = store.put(py_zip("add('a', '1')\n"));
  auto b = store.put(py_zip("add('b', '2')\n"));
  auto c = store.put(py_zip("add('c', '3')\n"));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  fs::create_directories(data_dir_ / "packages" / "not-a-package");

  auto removed = store.collect_garbage({b->id});
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  EXPECT_EQ(*removed, 2);
  EXPECT_FALSE(store.exists(a->id));
  EXPECT_TRUE(store.exists(b->id));
  EXPECT_FALSE(store.exists(c->id));
  EXPECT_EQ(store.read_zip(a->id).error().code, Code::kNotFound);
  EXPECT_TRUE(fs::exists(data_dir_ / "packages" / "not-a-package"));
  EXPECT_EQ(entries_in(data_dir_ / "tmp"), 0u);
  EXPECT_EQ(*store.collect_garbage({b->id}), 0);
}

TEST_F(PackageStoreTest, ConcurrentPutsOfSameZipAgree) {
  const std::string zip = py_zip("add('bootstrap', 'x' * 100000, 0o100755)\n");
  auto store = open_store();
  std::vector<std::thread> threads;
  std::vector<Result<PackageInfo>> results(4, Error::make(Code::kInternal, "not run"));
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = store.put(zip); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->id, sha256_hex(zip));
    EXPECT_EQ(r->unzipped_size, 100000);
  }
  EXPECT_EQ(entries_in(data_dir_ / "packages"), 1u);
  EXPECT_EQ(entries_in(data_dir_ / "tmp"), 0u);
}

}  // namespace
}  // namespace lambdad::packages
