// Package store: validation and safe unpacking of function zips.
//
// Trust: the zip comes from a client and is hostile until proven otherwise. We never let
// libarchive write to disk (archive_write_disk); every file is created by us with openat()
// relative to a directory fd inside the temp tree, with O_NOFOLLOW|O_EXCL, after the entry
// path has been checked lexically, and every symlink is resolved against the final tree
// before the package is published. Unzipped size is the count of bytes we actually wrote,
// never what the zip headers claim.
#include "packages/package_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "common/encoding.h"

namespace lambdad::packages {
namespace {

namespace fs = std::filesystem;

// Lambda's wording for anything libarchive cannot read as a zip.
constexpr char kUnzipFailed[] =
    "Could not unzip uploaded file. Please check your file, then try to upload again.";
// Linux's own limit on symlink hops (MAXSYMLINKS).
constexpr int kMaxSymlinkHops = 40;

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Removes a directory tree on scope exit unless dismissed: "on any failure nothing is left".
class TempDirGuard {
 public:
  explicit TempDirGuard(std::string path) : path_(std::move(path)) {}
  ~TempDirGuard() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);  // does not follow symlinks
    }
  }
  TempDirGuard(const TempDirGuard&) = delete;
  TempDirGuard& operator=(const TempDirGuard&) = delete;
  void dismiss() { path_.clear(); }

 private:
  std::string path_;
};

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

bool is_package_id(std::string_view id) {
  if (id.size() != 64) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Error invalid(std::string msg) { return Error::make(Code::kInvalidArgument, std::move(msg)); }

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  return parts;
}

// The entry's path as components under the root, or an error naming it.
Result<std::vector<std::string>> entry_components(const std::string& name) {
  if (name.empty()) return invalid("Invalid zip entry path: empty name");
  if (name.front() == '/') {
    return invalid("Invalid zip entry path: " + name + " is an absolute path");
  }
  std::vector<std::string> parts = split(name);
  for (const auto& p : parts) {
    if (p == "..") return invalid("Invalid zip entry path: " + name + " escapes the package root");
  }
  return parts;
}

Error symlink_escapes(const std::string& name, const std::string& target) {
  return invalid("Invalid zip entry symlink: " + name + " -> " + target +
                 " points outside the package root");
}

Result<void> write_all(int fd, std::string_view data, int64_t offset, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(errno, "write " + what);
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += n;
  }
  return ok();
}

Result<void> write_new_file(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (fd.get() < 0) return Error::from_errno(errno, "create " + path);
  return write_all(fd.get(), data, 0, path);
}

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) return Error{Code::kNotFound, err, "read " + path};
    return Error::from_errno(err, "open " + path);
  }
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(errno, "read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string encode_info(const PackageInfo& info) {
  return "code_sha256=" + info.code_sha256 + "\nzip_size=" + std::to_string(info.zip_size) +
         "\nunzipped_size=" + std::to_string(info.unzipped_size) +
         "\nhas_bootstrap=" + (info.has_bootstrap ? "1" : "0") + "\n";
}

bool decode_info(std::string_view text, PackageInfo& info) {
  int seen = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, eq);
    const std::string value(line.substr(eq + 1));
    char* endp = nullptr;
    if (key == "code_sha256") {
      info.code_sha256 = value;
      seen |= 1;
    } else if (key == "zip_size") {
      info.zip_size = std::strtoll(value.c_str(), &endp, 10);
      if (endp && *endp == '\0' && !value.empty()) seen |= 2;
    } else if (key == "unzipped_size") {
      info.unzipped_size = std::strtoll(value.c_str(), &endp, 10);
      if (endp && *endp == '\0' && !value.empty()) seen |= 4;
    } else if (key == "has_bootstrap") {
      info.has_bootstrap = value == "1";
      if (value == "0" || value == "1") seen |= 8;
    }
  }
  return seen == 15;
}

bool root_has_bootstrap(int tree_fd) {
  struct stat st {};
  if (::fstatat(tree_fd, "bootstrap", &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
  return S_ISREG(st.st_mode) || S_ISLNK(st.st_mode);
}

// Writes a zip's entries under tree_fd (borrowed; caller closes).
class Extractor {
 public:
  Extractor(int tree_fd, const Limits& limits) : tree_fd_(tree_fd), limits_(limits) {}

  Result<void> run(std::string_view zip) {
    std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
    if (!a) return Error::make(Code::kInternal, "archive_read_new: out of memory");
    // The seekable reader walks the central directory, as Lambda does: a zip whose end
    // record is missing or truncated is corrupt even if its local entries look fine.
    archive_read_support_format_zip_seekable(a.get());
    if (archive_read_open_memory(a.get(), zip.data(), zip.size()) != ARCHIVE_OK) {
      return invalid(kUnzipFailed);
    }
    for (;;) {
      archive_entry* entry = nullptr;
      const int r = archive_read_next_header(a.get(), &entry);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) return invalid(kUnzipFailed);
      if (++entries_ > limits_.max_entries) {
        return invalid("Zip file has more than " + std::to_string(limits_.max_entries) +
                       " entries");
      }
      if (auto e = extract_entry(a.get(), entry); !e.ok()) return e;
    }
    return check_symlinks();
  }

  int64_t unzipped_bytes() const { return total_; }

 private:
  Result<void> extract_entry(archive* a, archive_entry* entry) {
    const char* raw = archive_entry_pathname_utf8(entry);
    if (!raw) raw = archive_entry_pathname(entry);
    const std::string name = raw ? raw : "";
    auto parts = entry_components(name);
    if (!parts.ok()) return parts.error();
    if (archive_entry_hardlink(entry) != nullptr) {
      return invalid("Invalid zip entry: " + name + " is a hard link");
    }
    const mode_t type = archive_entry_filetype(entry);
    if (parts->empty()) {
      // "./" or similar: the root itself.
      if (type == AE_IFDIR) return ok();
      return invalid("Invalid zip entry path: " + name + " names the package root");
    }
    switch (type) {
      case AE_IFDIR: {
        auto dir = open_dir(*parts, parts->size(), name);
        return dir.ok() ? ok() : Result<void>(dir.error());
      }
      case AE_IFREG:
        return extract_file(a, entry, *parts, name);
      case AE_IFLNK:
        return extract_symlink(entry, *parts, name);
      default:
        return invalid("Invalid zip entry: " + name + " is not a file, directory or symlink");
    }
  }

  // Opens (creating as needed) the directory made of the first n components. Refuses to
  // pass through anything but a real directory, so a symlink from an earlier entry can
  // never redirect a later write.
  Result<UniqueFd> open_dir(const std::vector<std::string>& parts, size_t n,
                            const std::string& name) {
    UniqueFd cur(::openat(tree_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (cur.get() < 0) return Error::from_errno(errno, "open package tree");
    for (size_t i = 0; i < n; ++i) {
      const char* c = parts[i].c_str();
      if (::mkdirat(cur.get(), c, 0755) != 0 && errno != EEXIST) {
        return Error::from_errno(errno, "create directory for zip entry " + name);
      }
      UniqueFd next(::openat(cur.get(), c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (next.get() < 0) {
        if (errno == ELOOP || errno == ENOTDIR) {
          return invalid("Invalid zip entry path: " + name +
                         " passes through a file or symlink that is not a directory");
        }
        return Error::from_errno(errno, "open directory for zip entry " + name);
      }
      // Directories are always 0755: the sandbox user must be able to traverse them.
      if (::fchmod(next.get(), 0755) != 0) {
        return Error::from_errno(errno, "chmod directory for zip entry " + name);
      }
      cur = std::move(next);
    }
    return cur;
  }

  Error over_limit() const {
    return invalid("Unzipped size must be smaller than " +
                   std::to_string(limits_.max_unzipped_bytes) + " bytes");
  }

  Result<void> extract_file(archive* a, archive_entry* entry, const std::vector<std::string>& parts,
                            const std::string& name) {
    auto dir = open_dir(parts, parts.size() - 1, name);
    if (!dir.ok()) return dir.error();
    UniqueFd fd(::openat(dir->get(), parts.back().c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
      if (errno == EEXIST) return invalid("Invalid zip entry: " + name + " appears twice");
      return Error::from_errno(errno, "create file for zip entry " + name);
    }
    int64_t file_end = 0;
    for (;;) {
      const void* buf = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      const int r = archive_read_data_block(a, &buf, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      // libarchive reports a bad CRC as ARCHIVE_WARN: the bytes are wrong, so reject.
      if (r != ARCHIVE_OK) return invalid(kUnzipFailed);
      if (offset < 0) return invalid(kUnzipFailed);
      // Count what lands on disk (holes included), checked before writing it.
      const int64_t end = offset + static_cast<int64_t>(size);
      if (end > file_end) {
        total_ += end - file_end;
        file_end = end;
      }
      if (total_ > limits_.max_unzipped_bytes) return over_limit();
      if (size > 0) {
        auto w =
            write_all(fd.get(), {static_cast<const char*>(buf), size}, offset, "zip entry " + name);
        if (!w.ok()) return w;
      }
    }
    if (::ftruncate(fd.get(), file_end) != 0) {
      return Error::from_errno(errno, "size file for zip entry " + name);
    }
    // Keep the exec bits the zip recorded; a zip made without Unix modes gets 0644.
    mode_t mode = archive_entry_perm(entry) & 0755;
    if (mode == 0) mode = 0644;
    if (::fchmod(fd.get(), mode) != 0) {
      return Error::from_errno(errno, "chmod file for zip entry " + name);
    }
    return ok();
  }

  Result<void> extract_symlink(archive_entry* entry, const std::vector<std::string>& parts,
                               const std::string& name) {
    const char* raw = archive_entry_symlink_utf8(entry);
    if (!raw) raw = archive_entry_symlink(entry);
    const std::string target = raw ? raw : "";
    if (target.empty()) return invalid("Invalid zip entry symlink: " + name + " has no target");
    if (target.front() == '/') return symlink_escapes(name, target);
    // Lexical check now for a precise message; check_symlinks() redoes it through the
    // final tree, where other symlinks may change what ".." means.
    std::vector<std::string> at(parts.begin(), parts.end() - 1);
    for (const auto& c : split(target)) {
      if (c == "..") {
        if (at.empty()) return symlink_escapes(name, target);
        at.pop_back();
      } else {
        at.push_back(c);
      }
    }
    total_ += static_cast<int64_t>(target.size());
    if (total_ > limits_.max_unzipped_bytes) return over_limit();
    auto dir = open_dir(parts, parts.size() - 1, name);
    if (!dir.ok()) return dir.error();
    if (::symlinkat(target.c_str(), dir->get(), parts.back().c_str()) != 0) {
      if (errno == EEXIST) return invalid("Invalid zip entry: " + name + " appears twice");
      return Error::from_errno(errno, "create symlink for zip entry " + name);
    }
    symlinks_.emplace_back(parts, name + " -> " + target);
    return ok();
  }

  // Resolves each symlink as the kernel would, with the tree as "/": components are
  // walked one at a time and every symlink met is expanded in place. Going above the
  // root, an absolute target or too many hops rejects the package.
  Result<void> check_symlinks() const {
    for (const auto& [parts, label] : symlinks_) {
      std::deque<std::string> todo(parts.begin(), parts.end());
      std::vector<std::string> resolved;
      int hops = 0;
      while (!todo.empty()) {
        std::string c = std::move(todo.front());
        todo.pop_front();
        if (c.empty() || c == ".") continue;
        if (c == "..") {
          if (resolved.empty()) return invalid_link(label);
          resolved.pop_back();
          continue;
        }
        std::string path;
        for (const auto& r : resolved) path += r + "/";
        path += c;
        char buf[PATH_MAX];
        const ssize_t n = ::readlinkat(tree_fd_, path.c_str(), buf, sizeof buf);
        if (n < 0) {
          // Not a symlink, or dangling: a dangling name stays inside the tree.
          resolved.push_back(std::move(c));
          continue;
        }
        if (++hops > kMaxSymlinkHops) {
          return invalid("Invalid zip entry symlink: " + label +
                         " has too many levels of symbolic links");
        }
        const std::string target(buf, static_cast<size_t>(n));
        if (!target.empty() && target.front() == '/') return invalid_link(label);
        auto expanded = split(target);
        todo.insert(todo.begin(), expanded.begin(), expanded.end());
      }
    }
    return ok();
  }

  static Error invalid_link(const std::string& label) {
    return invalid("Invalid zip entry symlink: " + label + " points outside the package root");
  }

  int tree_fd_;
  const Limits& limits_;
  int64_t total_ = 0;
  int64_t entries_ = 0;
  std::vector<std::pair<std::vector<std::string>, std::string>> symlinks_;
};

// Rebuilds PackageInfo from a published tree when its info file is missing or damaged
// (a crash between rename and the page cache reaching disk).
Result<PackageInfo> info_from_tree(const std::string& dir, const std::string& id) {
  auto zip = read_file(dir + "/code.zip");
  if (!zip.ok()) return zip.error();
  PackageInfo info;
  info.id = id;
  info.code_sha256 = sha256_base64(*zip);
  info.zip_size = static_cast<int64_t>(zip->size());
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir + "/tree", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto st = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_regular_file(st)) {
      info.unzipped_size += static_cast<int64_t>(it->file_size(ec));
    } else if (fs::is_symlink(st)) {
      info.unzipped_size += static_cast<int64_t>(fs::read_symlink(it->path(), ec).native().size());
    }
  }
  if (ec) return Error{Code::kInternal, ec.value(), "scan package tree " + dir};
  UniqueFd tree(::open((dir + "/tree").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  info.has_bootstrap = tree.get() >= 0 && root_has_bootstrap(tree.get());
  return info;
}

Result<std::string> make_temp_dir(const std::string& parent, const char* prefix) {
  std::string tmpl = parent + "/" + prefix + "XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Error::from_errno(errno, "create temp dir under " + parent);
  }
  return tmpl;
}

}  // namespace

Result<PackageStore> PackageStore::open(const std::string& data_dir, Limits limits) {
  std::error_code ec;
  for (const char* sub : {"packages", "tmp"}) {
    fs::create_directories(fs::path(data_dir) / sub, ec);
    if (ec) {
      return Error{Code::kInternal, ec.value(),
                   "create " + (fs::path(data_dir) / sub).string() + "; check the data dir"};
    }
    // Only the server walks the store: a sandbox sees its own tree at /var/task (bind-mounted
    // as root before the uid drop), never another function's code through this path.
    if (::chmod((fs::path(data_dir) / sub).c_str(), 0700) != 0)
      return Error::from_errno(errno, "chmod 0700 " + (fs::path(data_dir) / sub).string());
  }
  return PackageStore(data_dir, limits);
}

std::string PackageStore::tree_path(const std::string& id) const {
  return root_ + "/packages/" + id + "/tree";
}

bool PackageStore::exists(const std::string& id) const {
  if (!is_package_id(id)) return false;
  struct stat st {};
  return ::stat(tree_path(id).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::string> PackageStore::read_zip(const std::string& id) const {
  if (!is_package_id(id)) return invalid("Invalid package id: " + id);
  auto zip = read_file(root_ + "/packages/" + id + "/code.zip");
  if (!zip.ok() && zip.error().code == Code::kNotFound) {
    return Error::make(Code::kNotFound, "Package not found: " + id);
  }
  return zip;
}

Result<PackageInfo> PackageStore::info(const std::string& id) const {
  if (!is_package_id(id)) return invalid("Invalid package id: " + id);
  if (!exists(id)) return Error::make(Code::kNotFound, "Package not found: " + id);
  const std::string dir = root_ + "/packages/" + id;
  PackageInfo info;
  info.id = id;
  auto text = read_file(dir + "/info");
  if (text.ok() && decode_info(*text, info)) return info;
  return info_from_tree(dir, id);
}

Result<PackageInfo> PackageStore::put(std::string_view zip) {
  if (static_cast<int64_t>(zip.size()) > limits_.max_zip_bytes) {
    return Error::make(Code::kTooLarge, "Zipped size must be smaller than " +
                                            std::to_string(limits_.max_zip_bytes) + " bytes");
  }
  const std::string id = sha256_hex(zip);
  if (exists(id)) return info(id);

  auto tmp = make_temp_dir(root_ + "/tmp", "put-");
  if (!tmp.ok()) return tmp.error();
  TempDirGuard guard(*tmp);
  // mkdtemp makes 0700; sandboxes running as another user must read the package.
  if (::chmod(tmp->c_str(), 0755) != 0) return Error::from_errno(errno, "chmod " + *tmp);
  const std::string tree = *tmp + "/tree";
  if (::mkdir(tree.c_str(), 0755) != 0) return Error::from_errno(errno, "create " + tree);
  UniqueFd tree_fd(::open(tree.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (tree_fd.get() < 0) return Error::from_errno(errno, "open " + tree);

  Extractor extractor(tree_fd.get(), limits_);
  if (auto r = extractor.run(zip); !r.ok()) return r.error();
  // An unpacked tree with a umask-restricted root would hide everything; set it explicitly.
  if (::fchmod(tree_fd.get(), 0755) != 0) return Error::from_errno(errno, "chmod " + tree);

  PackageInfo info;
  info.id = id;
  info.code_sha256 = sha256_base64(zip);
  info.zip_size = static_cast<int64_t>(zip.size());
  info.unzipped_size = extractor.unzipped_bytes();
  info.has_bootstrap = root_has_bootstrap(tree_fd.get());
  tree_fd.reset();

  if (auto r = write_new_file(*tmp + "/code.zip", zip); !r.ok()) return r.error();
  if (auto r = write_new_file(*tmp + "/info", encode_info(info)); !r.ok()) return r.error();

  const std::string final_dir = root_ + "/packages/" + id;
  if (::rename(tmp->c_str(), final_dir.c_str()) != 0) {
    const int err = errno;
    // A concurrent put() of the same bytes published first; ours is redundant.
    if ((err == ENOTEMPTY || err == EEXIST) && exists(id)) return this->info(id);
    return Error::from_errno(err, "publish package " + final_dir);
  }
  guard.dismiss();
  return info;
}

Result<int> PackageStore::collect_garbage(const std::vector<std::string>& keep) {
  const std::set<std::string> keep_set(keep.begin(), keep.end());
  std::vector<std::string> doomed;
  std::error_code ec;
  for (auto it = fs::directory_iterator(root_ + "/packages", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // Only ever delete what looks like ours.
    if (is_package_id(name) && !keep_set.contains(name)) doomed.push_back(name);
  }
  if (ec) return Error{Code::kInternal, ec.value(), "list " + root_ + "/packages"};
  int removed = 0;
  for (const auto& id : doomed) {
    // Move out of packages/ first so a reader never sees a half-deleted tree.
    auto tmp = make_temp_dir(root_ + "/tmp", "gc-");
    if (!tmp.ok()) return tmp.error();
    TempDirGuard guard(*tmp);
    const std::string from = root_ + "/packages/" + id;
    if (::rename(from.c_str(), (*tmp + "/pkg").c_str()) != 0) {
      if (errno == ENOENT) continue;  // someone else collected it
      return Error::from_errno(errno, "move " + from + " for deletion");
    }
    ++removed;
  }
  return removed;
}

}  // namespace lambdad::packages
