// AWS Signature Version 4 (header form) and the environment-based configuration the AWS SDKs use.
#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "lambdad/aws.h"

namespace lambdad::aws {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Trims and collapses runs of spaces, as SigV4's canonical header values require.
std::string canonical_value(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

}  // namespace

std::optional<Credentials> Credentials::from_env() {
  const char* id = env("AWS_ACCESS_KEY_ID");
  const char* secret = env("AWS_SECRET_ACCESS_KEY");
  if (id == nullptr || secret == nullptr) return std::nullopt;
  Credentials c;
  c.access_key_id = id;
  c.secret_access_key = secret;
  if (const char* token = env("AWS_SESSION_TOKEN")) c.session_token = token;
  return c;
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string sigv4_signature(std::string_view secret_access_key, std::string_view region,
                            std::string_view service, std::string_view amz_date,
                            std::string_view canonical_request, std::string* string_to_sign) {
  const std::string_view date = amz_date.substr(0, 8);
  std::string scope;
  scope.append(date).append("/").append(region).append("/").append(service).append("/aws4_request");
  std::string sts;
  sts.append("AWS4-HMAC-SHA256\n").append(amz_date).append("\n").append(scope).append("\n");
  sts.append(sha256_hex(canonical_request));
  std::string k = hmac_sha256("AWS4" + std::string(secret_access_key), date);
  k = hmac_sha256(k, region);
  k = hmac_sha256(k, service);
  k = hmac_sha256(k, "aws4_request");
  std::string out = hex(hmac_sha256(k, sts));
  if (string_to_sign) *string_to_sign = std::move(sts);
  return out;
}

Signature sign_v4(const SigningRequest& request, const Credentials& credentials,
                  std::string_view region, std::string_view service, std::string_view amz_date) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(request.headers.size());
  for (const auto& [name, value] : request.headers) {
    headers.emplace_back(lower(name), canonical_value(value));
  }
  std::sort(headers.begin(), headers.end());

  Signature sig;
  std::string signed_headers;
  std::string& cr = sig.canonical_request;
  cr.append(request.method).append("\n");
  cr.append(request.path.empty() ? std::string_view("/") : request.path).append("\n");
  cr.append(request.query).append("\n");
  for (std::size_t i = 0; i < headers.size(); ++i) {
    // Repeated names are joined with ',' in one canonical line.
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      cr.pop_back();
      cr.append(",").append(headers[i].second).append("\n");
      continue;
    }
    cr.append(headers[i].first).append(":").append(headers[i].second).append("\n");
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += headers[i].first;
  }
  cr.append("\n").append(signed_headers).append("\n").append(request.payload_sha256_hex);

  sig.signature = sigv4_signature(credentials.secret_access_key, region, service, amz_date, cr,
                                  &sig.string_to_sign);
  std::string scope;
  scope.append(amz_date.substr(0, 8)).append("/").append(region).append("/").append(service);
  scope.append("/aws4_request");
  sig.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
                      ", SignedHeaders=" + signed_headers + ", Signature=" + sig.signature;
  return sig;
}

std::string amz_date_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

bool parse_endpoint_url(std::string_view url, ServiceEndpoint& out, std::string* error) {
  auto fail = [&](const char* why) {
    if (error != nullptr) *error = std::string(why) + ": " + std::string(url);
    return false;
  };
  constexpr std::string_view kHttp = "http://";
  if (url.substr(0, kHttp.size()) != kHttp) {
    return fail("only http:// endpoints are supported (the SDK has no TLS)");
  }
  url.remove_prefix(kHttp.size());
  auto slash = url.find('/');
  if (slash != std::string_view::npos) {
    if (url.substr(slash) != "/") return fail("endpoint URLs with a path are not supported");
    url = url.substr(0, slash);
  }
  std::string_view host = url, port = "80";
  if (!url.empty() && url.front() == '[') {
    auto close = url.find(']');
    if (close == std::string_view::npos) return fail("malformed endpoint URL");
    host = url.substr(1, close - 1);
    if (close + 1 < url.size()) {
      if (url[close + 1] != ':') return fail("malformed endpoint URL");
      port = url.substr(close + 2);
    }
  } else if (auto colon = url.rfind(':'); colon != std::string_view::npos) {
    host = url.substr(0, colon);
    port = url.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return fail("malformed endpoint URL");
  }
  out.host = std::string(host);
  out.port = std::string(port);
  return true;
}

std::optional<std::string> endpoint_url_from_env(std::string_view service_env) {
  std::string name = "AWS_ENDPOINT_URL_" + std::string(service_env);
  if (const char* v = env(name.c_str())) return std::string(v);
  if (const char* v = env("AWS_ENDPOINT_URL")) return std::string(v);
  return std::nullopt;
}

std::string region_from_env() {
  if (const char* v = env("AWS_REGION")) return v;
  if (const char* v = env("AWS_DEFAULT_REGION")) return v;
  return "us-east-1";
}

}  // namespace lambdad::aws
