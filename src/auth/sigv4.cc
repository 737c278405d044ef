#include "auth/sigv4.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <memory>

#include "common/encoding.h"

namespace lambdad::auth {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding that leaves malformed escapes and '+' as they are.
std::string lenient_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

// botocore utils.remove_dot_segments: RFC 3986 5.2.4 plus collapsing empty segments.
std::string remove_dot_segments(std::string_view url) {
  if (url.empty()) return "/";
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t slash = url.find('/', start);
    std::string_view seg =
        url.substr(start, slash == std::string_view::npos ? url.npos : slash - start);
    if (!seg.empty() && seg != ".") {
      if (seg == "..") {
        if (!out.empty()) out.pop_back();
      } else {
        out.push_back(seg);
      }
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string result = url.front() == '/' ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i) result += '/';
    result += out[i];
  }
  if (url.back() == '/' && !out.empty()) result += '/';
  return result;
}

// OpenSSL 3's one-shot HMAC()/EVP_Digest() look the algorithm up on every call (most of
// their cost for short inputs): fetch SHA-256 once and keep one digest context per thread.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

void digest(std::initializer_list<std::string_view> parts, unsigned char out[32]) {
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                           EVP_MD_CTX_free);
  unsigned int len = 32;
  EVP_DigestInit_ex(ctx.get(), sha256_md(), nullptr);
  for (std::string_view p : parts) EVP_DigestUpdate(ctx.get(), p.data(), p.size());
  EVP_DigestFinal_ex(ctx.get(), out, &len);
}

std::string digest_hex(std::string_view bytes) {
  unsigned char md[32];
  digest({bytes}, md);
  return hex(std::string_view(reinterpret_cast<const char*>(md), sizeof md));
}

// HMAC-SHA256 (RFC 2104) over the cached digest.
void hmac(std::string_view key, std::string_view msg, unsigned char out[32]) {
  unsigned char k[64] = {};
  if (key.size() > sizeof k)
    digest({key}, k);
  else
    std::memcpy(k, key.data(), key.size());
  char ipad[64], opad[64];
  for (size_t i = 0; i < sizeof k; ++i) {
    ipad[i] = static_cast<char>(k[i] ^ 0x36);
    opad[i] = static_cast<char>(k[i] ^ 0x5c);
  }
  unsigned char inner[32];
  digest({std::string_view(ipad, sizeof ipad), msg}, inner);
  digest({std::string_view(opad, sizeof opad),
          std::string_view(reinterpret_cast<const char*>(inner), sizeof inner)},
         out);
}

std::string_view as_view(const SigningKey& k) {
  return {reinterpret_cast<const char*>(k.data()), k.size()};
}

}  // namespace

std::string uri_encode(std::string_view in, std::string_view keep) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || keep.find(ch) != std::string_view::npos) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<Authorization> parse_authorization(std::string_view header, std::string* why) {
  constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
  header = trim(header);
  if (!header.starts_with(kAlgorithm) || header.size() == kAlgorithm.size() ||
      !is_space(header[kAlgorithm.size()])) {
    *why = "Authorization header requires the AWS4-HMAC-SHA256 algorithm.";
    return std::nullopt;
  }
  header.remove_prefix(kAlgorithm.size());
  std::optional<std::string_view> credential, signed_headers, sig;
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view part = trim(header.substr(0, comma));
    const size_t eq = part.find('=');
    if (eq != std::string_view::npos) {
      const std::string_view k = trim(part.substr(0, eq)), v = trim(part.substr(eq + 1));
      if (k == "Credential") credential = v;
      if (k == "SignedHeaders") signed_headers = v;
      if (k == "Signature") sig = v;
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  std::string missing;
  if (!credential) missing += "Authorization header requires 'Credential' parameter. ";
  if (!signed_headers) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!sig) missing += "Authorization header requires 'Signature' parameter. ";
  if (!missing.empty()) {
    missing.pop_back();
    *why = missing;
    return std::nullopt;
  }
  // AKID/YYYYMMDD/region/service/aws4_request
  std::vector<std::string_view> scope;
  std::string_view c = *credential;
  for (;;) {
    const size_t slash = c.find('/');
    scope.push_back(c.substr(0, slash));
    if (slash == std::string_view::npos) break;
    c.remove_prefix(slash + 1);
  }
  if (scope.size() != 5 || scope[0].empty() || scope[1].size() != 8 || scope[2].empty() ||
      scope[3].empty() || scope[4] != "aws4_request") {
    *why = "Credential should be scoped to a valid region. ";
    if (scope.size() == 5 && scope[4] != "aws4_request")
      *why = "Credential should be scoped with a valid terminator: 'aws4_request', not '" +
             std::string(scope[4]) + "'. ";
    return std::nullopt;
  }
  Authorization a;
  a.access_key = scope[0];
  a.date = scope[1];
  a.region = scope[2];
  a.service = scope[3];
  a.signed_headers = *signed_headers;
  a.signature = *sig;
  return a;
}

std::string canonical_uri(std::string_view raw_path) {
  return uri_encode(remove_dot_segments(raw_path), "/");
}

std::string canonical_query(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!raw_query.empty()) {
    const size_t amp = raw_query.find('&');
    const std::string_view kv = raw_query.substr(0, amp);
    if (!kv.empty()) {
      const size_t eq = kv.find('=');
      const std::string_view k = kv.substr(0, eq);
      const std::string_view v = eq == std::string_view::npos ? "" : kv.substr(eq + 1);
      pairs.emplace_back(uri_encode(lenient_decode(k)), uri_encode(lenient_decode(v)));
    }
    if (amp == std::string_view::npos) break;
    raw_query.remove_prefix(amp + 1);
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string canonical_headers(const std::vector<std::pair<std::string, std::string>>& headers,
                              std::string_view signed_headers) {
  std::string out;
  while (!signed_headers.empty()) {
    const size_t semi = signed_headers.find(';');
    const std::string_view name = signed_headers.substr(0, semi);
    out += name;
    out += ':';
    bool first = true;
    for (const auto& [k, v] : headers) {
      if (k != name) continue;
      if (!first) out += ',';
      first = false;
      // Trimall: strip, and collapse runs of whitespace to one space.
      bool gap = false;
      bool any = false;
      for (char ch : trim(v)) {
        if (is_space(ch)) {
          gap = true;
          continue;
        }
        if (gap && any) out += ' ';
        gap = false;
        any = true;
        out += ch;
      }
    }
    out += '\n';
    if (semi == std::string_view::npos) break;
    signed_headers.remove_prefix(semi + 1);
  }
  return out;
}

std::string payload_hash(const SignedRequest& request) {
  for (const auto& [k, v] : *request.headers)
    if (k == "x-amz-content-sha256") return v;
  return digest_hex(request.body);
}

std::string canonical_request(const SignedRequest& request, std::string_view signed_headers) {
  std::string cr;
  cr.reserve(512);
  for (char ch : request.method)
    cr += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  cr += '\n';
  cr += canonical_uri(request.path);
  cr += '\n';
  cr += canonical_query(request.query);
  cr += '\n';
  cr += canonical_headers(*request.headers, signed_headers);
  cr += '\n';
  cr += signed_headers;
  cr += '\n';
  cr += payload_hash(request);
  return cr;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
  std::string s = "AWS4-HMAC-SHA256\n";
  s += amz_date;
  s += '\n';
  s += scope;
  s += '\n';
  s += digest_hex(canonical_request);
  return s;
}

SigningKey signing_key(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service) {
  const std::string k0 = "AWS4" + std::string(secret);
  SigningKey k{}, next{};
  hmac(k0, date, k.data());
  hmac(as_view(k), region, next.data());
  hmac(as_view(next), service, k.data());
  hmac(as_view(k), "aws4_request", next.data());
  return next;
}

std::string signature(const SigningKey& key, std::string_view string_to_sign) {
  unsigned char mac[32];
  hmac(as_view(key), string_to_sign, mac);
  return hex(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));
}

}  // namespace lambdad::auth
