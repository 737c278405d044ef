// Builds real zip archives in memory for tests (libarchive). Header-only; link LibArchive.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <string>
#include <utility>
#include <vector>

namespace lambdad::testing {

struct ZipFile {
  std::string path;
  std::string content;
  int mode = 0755;
};

inline std::string make_zip(const std::vector<ZipFile>& files) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(
      a, &out, nullptr,
      [](archive*, void* user, const void* buf, size_t len) -> la_ssize_t {
        static_cast<std::string*>(user)->append(static_cast<const char*>(buf), len);
        return static_cast<la_ssize_t>(len);
      },
      nullptr);
  for (const ZipFile& f : files) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, f.path.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, f.mode);
    archive_entry_set_size(e, static_cast<la_int64_t>(f.content.size()));
    archive_write_header(a, e);
    archive_write_data(a, f.content.data(), f.content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// A minimal custom-runtime package: an executable `bootstrap` with the given script body.
inline std::string bootstrap_zip(const std::string& script = "#!/bin/sh\necho hi\n") {
  return make_zip({{"bootstrap", script, 0755}});
}

}  // namespace lambdad::testing
