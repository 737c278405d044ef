// AWS Signature Version 4, server side: the pieces of the canonical request exactly as
// botocore's SigV4Auth builds them (shared reference invoke-and-control-api.md §7), and the
// signing-key derivation. Pure functions; safe from any thread.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lambdad::auth {

// A request as received on the wire. Header names lower-case; repeated headers repeat.
struct SignedRequest {
  std::string_view method;
  std::string_view path;   // raw, still percent-encoded, without the query
  std::string_view query;  // raw, without '?'
  const std::vector<std::pair<std::string, std::string>>* headers = nullptr;
  std::string_view body;
};

// The parsed `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
struct Authorization {
  std::string access_key;
  std::string date;  // YYYYMMDD from the credential scope
  std::string region;
  std::string service;         // "lambda"
  std::string signed_headers;  // "host;x-amz-date", as sent
  std::string signature;       // 64 lower-case hex
};

// nullopt with `why` set when the header is not a well-formed SigV4 header.
std::optional<Authorization> parse_authorization(std::string_view header, std::string* why);

// botocore _normalize_url_path: remove dot segments and empty segments, then percent-encode
// again (so wire "%3A" becomes "%253A"), keeping unreserved characters and '/'.
std::string canonical_uri(std::string_view raw_path);
// Each pair decoded and re-encoded with the unreserved set, sorted by name then value.
std::string canonical_query(std::string_view raw_query);
// "name:value\n" for each signed header name (values of repeats joined by ',', trimmed,
// inner whitespace runs collapsed), then the blank line botocore adds.
std::string canonical_headers(const std::vector<std::pair<std::string, std::string>>& headers,
                              std::string_view signed_headers);
// x-amz-content-sha256 when sent, else hex SHA-256 of the body.
std::string payload_hash(const SignedRequest& request);

std::string canonical_request(const SignedRequest& request, std::string_view signed_headers);
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);

using SigningKey = std::array<unsigned char, 32>;
SigningKey signing_key(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service);
// Lower-case hex HMAC-SHA256(key, string_to_sign).
std::string signature(const SigningKey& key, std::string_view string_to_sign);

// RFC 3986 percent-encoding of every byte outside A-Z a-z 0-9 - _ . ~ (and `keep`).
std::string uri_encode(std::string_view in, std::string_view keep = {});

}  // namespace lambdad::auth
