// `lambdad package EXECUTABLE -o F.zip` and the zip writer deploy uses.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands_dev.h"

namespace lambdad::cli {
namespace {

namespace fs = std::filesystem;

// 1980-01-02T00:00:00Z: the DOS epoch plus a day, so every time zone stays inside zip's range.
constexpr time_t kZipMtime = 315619200;

la_ssize_t append_to_string(struct archive*, void* client, const void* buf, size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

Result<std::string> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::make(Code::kNotFound, "cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error::make(Code::kInternal, "cannot read " + path);
  return ss.str();
}

void usage() {
  std::fprintf(stderr,
               "usage: lambdad package EXECUTABLE [-o FILE.zip]\n"
               "  zips EXECUTABLE as `bootstrap` (mode 0755), the layout a\n"
               "  provided.al2023 function needs; default output bootstrap.zip\n");
}

}  // namespace

Result<std::string> make_zip(const std::vector<ZipEntry>& entries) {
  std::string out;
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_write_new(),
                                                              archive_write_free);
  std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> e(archive_entry_new(),
                                                                           archive_entry_free);
  if (!a || !e) return Error::make(Code::kInternal, "libarchive: out of memory");
  auto fail = [&](const char* what) {
    const char* msg = archive_error_string(a.get());
    return Error::make(Code::kInternal,
                       std::string("zip: ") + what + ": " + (msg != nullptr ? msg : "unknown"));
  };
  if (archive_write_set_format_zip(a.get()) != ARCHIVE_OK ||
      archive_write_zip_set_compression_deflate(a.get()) != ARCHIVE_OK) {
    return fail("set format");
  }
  // Whole blocks are not needed for a memory sink; 1 avoids padding the last write.
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open(a.get(), &out, nullptr, append_to_string, nullptr) != ARCHIVE_OK) {
    return fail("open");
  }
  for (const ZipEntry& z : entries) {
    archive_entry_clear(e.get());
    archive_entry_set_pathname(e.get(), z.name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), z.mode & 07777);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(z.data.size()));
    archive_entry_set_mtime(e.get(), kZipMtime, 0);
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) return fail(z.name.c_str());
    if (!z.data.empty() && archive_write_data(a.get(), z.data.data(), z.data.size()) !=
                               static_cast<la_ssize_t>(z.data.size())) {
      return fail(z.name.c_str());
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return fail("close");
  return out;
}

Result<std::string> zip_bootstrap(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return Error::make(ec || !fs::exists(path) ? Code::kNotFound : Code::kInvalidArgument,
                       path + ": not a regular file");
  }
  auto data = read_all(path);
  if (!data) return data.error();
  return make_zip({ZipEntry{"bootstrap", std::move(*data), 0755}});
}

Result<std::string> zip_directory(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::path(dir) / "bootstrap", ec)) {
    return Error::make(Code::kInvalidArgument, dir + " has no bootstrap file at its root");
  }
  std::vector<ZipEntry> entries;
  fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec);
  if (ec) return Error::make(Code::kInternal, "cannot list " + dir + ": " + ec.message());
  for (const auto& f : it) {
    if (!f.is_regular_file()) continue;
    auto data = read_all(f.path().string());
    if (!data) return data.error();
    struct stat st {};
    uint32_t mode = 0644;
    if (::stat(f.path().c_str(), &st) == 0) mode = st.st_mode & 0777;
    entries.push_back(
        ZipEntry{fs::relative(f.path(), dir).generic_string(), std::move(*data), mode});
  }
  std::sort(entries.begin(), entries.end(),
            [](const ZipEntry& a, const ZipEntry& b) { return a.name < b.name; });
  for (auto& z : entries) {
    if (z.name == "bootstrap") z.mode |= 0755;  // the runtime must be able to exec it
  }
  return make_zip(entries);
}

int package(Args& args) {
  std::string input, output = "bootstrap.zip";
  for (size_t i = 0; i < args.rest.size(); ++i) {
    const std::string& a = args.rest[i];
    if ((a == "-o" || a == "--output") && i + 1 < args.rest.size()) {
      output = args.rest[++i];
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else if (input.empty() && !a.starts_with("-")) {
      input = a;
    } else {
      usage();
      return 2;
    }
  }
  if (input.empty()) {
    usage();
    return 2;
  }
  auto zip = zip_bootstrap(input);
  if (!zip) {
    std::fprintf(stderr, "lambdad package: %s\n", zip.error().message().c_str());
    return 1;
  }
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  out.write(zip->data(), static_cast<std::streamsize>(zip->size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "lambdad package: cannot write %s\n", output.c_str());
    return 1;
  }
  std::printf("wrote %s (%zu bytes): bootstrap <- %s\n", output.c_str(), zip->size(),
              input.c_str());
  return 0;
}

}  // namespace lambdad::cli
