// A small read-only zip reader over an in-memory archive: stored and deflate entries (zlib raw
// inflate), CRC-32 checked. No zip64, no encryption, no multi-disk archives.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace etl {

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 stored, 8 deflate
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;
  std::uint64_t local_header_offset = 0;
};

class ZipReader {
 public:
  // Reads the central directory of `archive` (which must outlive the reader). False with
  // *error set when it is not a readable zip.
  bool open(std::string_view archive, std::string* error);
  const std::vector<ZipEntry>& entries() const { return entries_; }
  // The entry's uncompressed bytes into `out`. False with *error on a bad entry.
  bool extract(const ZipEntry& entry, std::string& out, std::string* error) const;

 private:
  std::string_view data_;
  std::vector<ZipEntry> entries_;
};

}  // namespace etl
