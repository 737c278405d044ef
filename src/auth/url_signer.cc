#include "auth/url_signer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>

#include "common/encoding.h"

namespace lambdad::auth {

namespace {

constexpr std::string_view kExpires = "X-Lambdad-Expires";
constexpr std::string_view kSignature = "X-Lambdad-Signature";

// The raw value of `name` in a query string; false when absent.
bool find_param(std::string_view query, std::string_view name, std::string_view& value) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view kv = query.substr(0, amp);
    const size_t eq = kv.find('=');
    if (eq != std::string_view::npos && kv.substr(0, eq) == name) {
      value = kv.substr(eq + 1);
      return true;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

}  // namespace

UrlSigner::UrlSigner() : key_(32, '\0') {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), static_cast<int>(key_.size())) != 1)
    std::abort();  // no randomness: nothing safe to do
}

std::string UrlSigner::mac(std::string_view path, std::string_view expires) const {
  std::string msg;
  msg.reserve(path.size() + 1 + expires.size());
  msg.append(path).append("\n").append(expires);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return hex(std::string_view(reinterpret_cast<const char*>(out), len));
}

std::string UrlSigner::sign(std::string_view path,
                            std::chrono::system_clock::time_point expires) const {
  const std::string at = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(expires.time_since_epoch()).count());
  return std::string(kExpires) + "=" + at + "&" + std::string(kSignature) + "=" + mac(path, at);
}

UrlSigner::Check UrlSigner::check(std::string_view path, std::string_view query,
                                  std::chrono::system_clock::time_point now) const {
  std::string_view expires, signature;
  const bool has_sig = find_param(query, kSignature, signature);
  const bool has_exp = find_param(query, kExpires, expires);
  if (!has_sig && !has_exp) return Check::kAbsent;
  if (!has_sig || !has_exp || expires.empty() || expires.size() > 18)
    return Check::kInvalid;  // no overflow
  long long at = 0;
  for (char c : expires) {
    if (c < '0' || c > '9') return Check::kInvalid;
    at = at * 10 + (c - '0');
  }
  const std::string want = mac(path, expires);
  if (signature.size() != want.size() ||
      CRYPTO_memcmp(signature.data(), want.data(), want.size()) != 0)
    return Check::kInvalid;
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  if (now_s.count() > at) return Check::kExpired;
  return Check::kValid;
}

}  // namespace lambdad::auth
