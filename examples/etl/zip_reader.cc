#include "zip_reader.h"

#include <zlib.h>

namespace etl {
namespace {

std::uint32_t u16(std::string_view d, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(d[at])) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(d[at + 1])) << 8);
}
std::uint32_t u32(std::string_view d, std::size_t at) {
  return u16(d, at) | (u16(d, at + 2) << 16);
}

bool fail(std::string* error, std::string why) {
  if (error != nullptr) *error = std::move(why);
  return false;
}

constexpr std::uint32_t kEocdSig = 0x06054b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kLocalSig = 0x04034b50;

}  // namespace

bool ZipReader::open(std::string_view archive, std::string* error) {
  data_ = archive;
  entries_.clear();
  if (archive.size() < 22) return fail(error, "not a zip archive (too short)");
  // The end-of-central-directory record: 22 bytes plus a comment of up to 65535.
  std::size_t lowest = archive.size() > 22 + 65535 ? archive.size() - 22 - 65535 : 0;
  std::size_t eocd = std::string_view::npos;
  for (std::size_t at = archive.size() - 22 + 1; at-- > lowest;) {
    if (u32(archive, at) == kEocdSig) {
      eocd = at;
      break;
    }
  }
  if (eocd == std::string_view::npos) return fail(error, "not a zip archive (no end record)");
  std::uint32_t count = u16(archive, eocd + 10);
  std::uint32_t cd_size = u32(archive, eocd + 12);
  std::uint32_t cd_offset = u32(archive, eocd + 16);
  if (cd_offset == 0xffffffff || count == 0xffff) return fail(error, "zip64 is not supported");
  if (std::uint64_t{cd_offset} + cd_size > eocd) return fail(error, "bad central directory");
  std::size_t at = cd_offset;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (at + 46 > eocd || u32(archive, at) != kCentralSig) {
      return fail(error, "bad central directory entry");
    }
    ZipEntry e;
    if (u16(archive, at + 8) & 1) return fail(error, "encrypted entries are not supported");
    e.method = static_cast<std::uint16_t>(u16(archive, at + 10));
    e.crc32 = u32(archive, at + 16);
    e.compressed_size = u32(archive, at + 20);
    e.size = u32(archive, at + 24);
    std::size_t name_len = u16(archive, at + 28);
    std::size_t extra_len = u16(archive, at + 30);
    std::size_t comment_len = u16(archive, at + 32);
    e.local_header_offset = u32(archive, at + 42);
    if (at + 46 + name_len + extra_len + comment_len > eocd) return fail(error, "bad entry name");
    e.name = std::string(archive.substr(at + 46, name_len));
    at += 46 + name_len + extra_len + comment_len;
    entries_.push_back(std::move(e));
  }
  return true;
}

bool ZipReader::extract(const ZipEntry& e, std::string& out, std::string* error) const {
  std::size_t at = e.local_header_offset;
  if (at + 30 > data_.size() || u32(data_, at) != kLocalSig) {
    return fail(error, e.name + ": bad local header");
  }
  std::size_t start = at + 30 + u16(data_, at + 26) + u16(data_, at + 28);
  if (start + e.compressed_size > data_.size()) return fail(error, e.name + ": truncated");
  std::string_view packed = data_.substr(start, e.compressed_size);
  out.clear();
  if (e.method == 0) {
    out.assign(packed);
  } else if (e.method == 8) {
    out.resize(e.size);
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return fail(error, "inflateInit2 failed");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
    zs.avail_in = static_cast<uInt>(packed.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = inflate(&zs, Z_FINISH);
    std::uint64_t produced = zs.total_out;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || produced != e.size) {
      return fail(error, e.name + ": corrupt deflate data");
    }
  } else {
    return fail(error, e.name + ": compression method " + std::to_string(e.method) +
                           " is not supported (stored and deflate only)");
  }
  if (out.size() != e.size) return fail(error, e.name + ": size mismatch");
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(out.data()), static_cast<uInt>(out.size()));
  if (crc != e.crc32) return fail(error, e.name + ": CRC-32 mismatch");
  return true;
}

}  // namespace etl
