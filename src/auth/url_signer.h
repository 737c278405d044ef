// Presigned-style URLs for lambdad's own downloads (GetFunction's Code.Location,
// /lambdad/packages/<id>.zip): AWS hands out an S3 URL that carries its credential in the
// query, so `curl`/urllib download it without signing. Here the query carries
// X-Lambdad-Expires (unix seconds) and X-Lambdad-Signature (hex HMAC-SHA256 of
// "<path>\n<expires>" under a key that lives only in this process, so URLs die with it).
// Thread rules: immutable after construction; every method is safe from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace lambdad::auth {

class UrlSigner {
 public:
  // A fresh random 32-byte key (OpenSSL RAND_bytes; aborts if the RNG fails).
  UrlSigner();
  explicit UrlSigner(std::string key) : key_(std::move(key)) {}

  // How long a Code.Location stays valid: S3's presigned URLs from GetFunction last 10 min.
  static constexpr std::chrono::minutes kTtl{10};
  static constexpr std::string_view kPackagesPrefix = "/lambdad/packages/";

  // "X-Lambdad-Expires=<s>&X-Lambdad-Signature=<hex>" for path (raw, without the query).
  std::string sign(std::string_view path, std::chrono::system_clock::time_point expires) const;

  enum class Check { kAbsent, kValid, kInvalid, kExpired };
  // kAbsent: the query has no signature (use other auth); kInvalid: wrong or malformed.
  Check check(std::string_view path, std::string_view query,
              std::chrono::system_clock::time_point now) const;

 private:
  std::string mac(std::string_view path, std::string_view expires) const;
  std::string key_;
};

}  // namespace lambdad::auth
