#include "auth/key_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "common/encoding.h"
#include "common/unique_fd.h"

namespace lambdad::auth {
namespace {

constexpr size_t kMasterKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

Result<std::string> random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    return Error::make(Code::kInternal, "RAND_bytes failed");
  return out;
}

std::optional<std::string> unhex(std::string_view h) {
  if (h.size() % 2) return std::nullopt;
  std::string out;
  out.reserve(h.size() / 2);
  auto v = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < h.size(); i += 2) {
    const int hi = v(h[i]), lo = v(h[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
const unsigned char* u8(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Returns ciphertext followed by the 16-byte tag.
Result<std::string> seal(const std::string& key, const std::string& nonce, const std::string& aad,
                         const std::string& plain) {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(plain.size() + kTagBytes, '\0');
  int len = 0, fin = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, u8(key), u8(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, u8(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o, &len, u8(plain), static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + len, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, o + plain.size()) != 1)
    return Error::make(Code::kInternal, "AES-256-GCM encryption failed");
  return out;
}

Result<std::string> open_sealed(const std::string& key, const std::string& nonce,
                                const std::string& aad, const std::string& sealed) {
  if (sealed.size() < kTagBytes) return Error::make(Code::kInternal, "truncated key record");
  const size_t n = sealed.size() - kTagBytes;
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(n, '\0');
  std::string tag = sealed.substr(n);
  int len = 0, fin = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, u8(key), u8(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, u8(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), o, &len, u8(sealed), static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + len, &fin) != 1)
    return Error::make(Code::kInternal, "cannot decrypt the secret of " + aad +
                                            " (master.key does not match keys.db?)");
  return out;
}

Result<void> write_file_0600(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return Error::from_errno(errno, "create " + tmp);
  ::fchmod(fd.get(), 0600);
  size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, "write " + tmp);
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return Error::from_errno(errno, "fsync " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Error::from_errno(errno, "rename " + tmp);
  return ok();
}

// Uniform choice from `alphabet` (size divides 256 or rejection-sampled).
Result<std::string> random_text(size_t n, std::string_view alphabet) {
  std::string out;
  const unsigned limit = 256 - 256 % alphabet.size();
  while (out.size() < n) {
    auto bytes = random_bytes(64);
    if (!bytes) return bytes.error();
    for (char b : *bytes) {
      const auto v = static_cast<unsigned char>(b);
      if (v >= limit || out.size() == n) continue;
      out.push_back(alphabet[v % alphabet.size()]);
    }
  }
  return out;
}

}  // namespace

KeyStore::KeyStore(std::string data_dir)
    : data_dir_(std::move(data_dir)),
      keys_path_(data_dir_ + "/keys.db"),
      master_path_(data_dir_ + "/master.key") {}

Result<std::string> KeyStore::master_key(bool create) const {
  UniqueFd fd(::open(master_path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() && errno == ENOENT && create) {
    ::mkdir(data_dir_.c_str(), 0755);
    auto key = random_bytes(kMasterKeyBytes);
    if (!key) return key.error();
    UniqueFd out(::open(master_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (out.valid()) {
      if (::write(out.get(), key->data(), key->size()) != static_cast<ssize_t>(key->size()) ||
          ::fsync(out.get()) != 0)
        return Error::from_errno(errno, "write " + master_path_);
      return key;
    }
    if (errno != EEXIST) return Error::from_errno(errno, "create " + master_path_);
    fd = UniqueFd(::open(master_path_.c_str(), O_RDONLY | O_CLOEXEC));  // lost a race
  }
  if (!fd.valid()) return Error::from_errno(errno, "open " + master_path_);
  std::string key(kMasterKeyBytes, '\0');
  if (::read(fd.get(), key.data(), key.size()) != static_cast<ssize_t>(key.size()))
    return Error::make(Code::kInternal, master_path_ + " is not a 32-byte key");
  return key;
}

Result<std::vector<AccessKey>> KeyStore::read(bool decrypt) const {
  std::vector<AccessKey> keys;
  std::ifstream in(keys_path_);
  if (!in) {
    if (errno == ENOENT) return keys;
    return Error::from_errno(errno, "open " + keys_path_);
  }
  std::string master;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, '\t')) f.push_back(field);
    if (f.size() != 6 || f[0] != "v1")
      return Error::make(Code::kInternal, "bad line in " + keys_path_);
    AccessKey k;
    k.id = f[1];
    k.created = f[2];
    auto name = unhex(f[3]);
    auto nonce = unhex(f[4]);
    auto sealed = unhex(f[5]);
    if (!name || !nonce || !sealed || nonce->size() != kNonceBytes)
      return Error::make(Code::kInternal, "bad record for " + k.id + " in " + keys_path_);
    k.name = *name;
    if (decrypt) {
      if (master.empty()) {
        auto m = master_key(false);
        if (!m) return m.error();
        master = std::move(*m);
      }
      auto secret = open_sealed(master, *nonce, k.id, *sealed);
      if (!secret) return secret.error();
      k.secret = std::move(*secret);
    }
    keys.push_back(std::move(k));
  }
  return keys;
}

Result<std::vector<AccessKey>> KeyStore::list() const { return read(false); }
Result<std::vector<AccessKey>> KeyStore::load_secrets() const { return read(true); }

namespace {
std::string record_line(const AccessKey& k, const std::string& nonce, const std::string& sealed) {
  return "v1\t" + k.id + "\t" + k.created + "\t" + hex(k.name) + "\t" + hex(nonce) + "\t" +
         hex(sealed) + "\n";
}
}  // namespace

Result<AccessKey> KeyStore::add(const std::string& name) {
  auto master = master_key(true);
  if (!master) return master.error();
  AccessKey k;
  auto id = random_text(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
  auto secret = random_text(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
  auto nonce = random_bytes(kNonceBytes);
  if (!id) return id.error();
  if (!secret) return secret.error();
  if (!nonce) return nonce.error();
  k.id = "AKIA" + *id;
  k.name = name;
  k.created = lambda_timestamp_now();
  k.secret = *secret;
  auto sealed = seal(*master, *nonce, k.id, k.secret);
  if (!sealed) return sealed.error();

  std::string content;
  {
    std::ifstream in(keys_path_);
    std::stringstream ss;
    if (in) ss << in.rdbuf();
    content = ss.str();
  }
  if (!content.empty() && content.back() != '\n') content += '\n';
  content += record_line(k, *nonce, *sealed);
  if (auto w = write_file_0600(keys_path_, content); !w) return w.error();
  return k;
}

Result<void> KeyStore::remove(const std::string& id) {
  std::ifstream in(keys_path_);
  std::string content, line;
  bool found = false;
  while (in && std::getline(in, line)) {
    if (line.starts_with("v1\t" + id + "\t")) {
      found = true;
      continue;
    }
    if (!line.empty()) content += line + "\n";
  }
  if (!found) return Error::make(Code::kNotFound, "no access key " + id);
  return write_file_0600(keys_path_, content);
}

}  // namespace lambdad::auth
