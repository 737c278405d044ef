// Minimal AWS clients for functions: Signature Version 4 signing, S3 GetObject / PutObject
// (path-style URLs) and DynamoDB PutItem / BatchWriteItem (JSON 1.0 protocol), over the SDK's own
// blocking HTTP/1.1 client. Link `lambdad_aws`.
//
//   auto s3 = lambdad::aws::S3Client::from_env(&err);     // AWS_ENDPOINT_URL_S3 etc.
//   std::string zip;
//   if (auto e = s3->get_object("bucket", "in/batch.zip", zip); !e.ok()) ... e.message ...
//
// Configuration is read from the environment as the AWS SDKs do: credentials from
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, region from AWS_REGION (then
// AWS_DEFAULT_REGION), endpoints from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_DYNAMODB, then
// AWS_ENDPOINT_URL. Plain http:// endpoints only: there is no TLS in the SDK, so these clients
// talk to loopback or in-VPC S3/DynamoDB-compatible servers (MinIO, s3rver, dynalite,
// DynamoDB Local), not to the public https:// AWS endpoints.
//
// Thread rules: one client per thread (each holds one keep-alive connection). No exceptions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lambdad::aws {

// --- Hashing and signing ------------------------------------------------------------------------

// SHA-256 of bytes, as 32 raw bytes / 64 lower-case hex digits.
std::string sha256(std::string_view bytes);
std::string sha256_hex(std::string_view bytes);
// HMAC-SHA-256 (RFC 2104), 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view message);
std::string hex(std::string_view bytes);

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty when none

  // From AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; nullopt when either of
  // the first two is unset or empty.
  static std::optional<Credentials> from_env();
};

// One request to sign. `path` is the canonical URI, already percent-encoded (what goes on the
// request line), `query` the canonical query string (sorted, encoded; "" if none). `headers`
// must include "host"; every header given is signed. Names may have any case.
struct SigningRequest {
  std::string_view method;
  std::string_view path;
  std::string_view query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view payload_sha256_hex;  // hex SHA-256 of the body
};

struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // hex
  std::string authorization;  // the Authorization header value
};

// AWS Signature Version 4 (header form). `amz_date` is the X-Amz-Date value (YYYYMMDD'T'HHMMSS'Z').
Signature sign_v4(const SigningRequest& request, const Credentials& credentials,
                  std::string_view region, std::string_view service, std::string_view amz_date);

// The last step of SigV4 -- string to sign over a canonical request, key derivation, HMAC --
// shared by sign_v4() and by lambdad's server-side verification (src/auth/verifier.cc), so a
// function's requests and the server's check can never disagree on it. Returns the hex
// signature; `string_to_sign` (optional) receives the string that was signed.
std::string sigv4_signature(std::string_view secret_access_key, std::string_view region,
                            std::string_view service, std::string_view amz_date,
                            std::string_view canonical_request,
                            std::string* string_to_sign = nullptr);

// The current UTC time as an X-Amz-Date value.
std::string amz_date_now();

// S3's URI encoding (RFC 3986 unreserved kept, everything else %XX upper-case); `keep_slash`
// leaves '/' as is (object keys in paths).
std::string uri_encode(std::string_view s, bool keep_slash);

// --- Configuration
// --------------------------------------------------------------------------------

struct ServiceEndpoint {
  std::string host;  // "127.0.0.1"
  std::string port;  // "4568"
};

// Parses "http://host[:port][/]" (port defaults to 80). False for https:// or anything else.
bool parse_endpoint_url(std::string_view url, ServiceEndpoint& out, std::string* error);

// AWS_ENDPOINT_URL_<SERVICE> (service_env is "S3" or "DYNAMODB"), then AWS_ENDPOINT_URL.
std::optional<std::string> endpoint_url_from_env(std::string_view service_env);

// AWS_REGION, then AWS_DEFAULT_REGION, then "us-east-1".
std::string region_from_env();

// --- Errors
// ---------------------------------------------------------------------------------------

struct AwsError {
  int status = 0;       // HTTP status; 0 for a transport failure or success
  std::string code;     // e.g. "NoSuchKey", "ResourceNotFoundException"; "" on success
  std::string message;  // human-readable; "" on success

  bool ok() const { return code.empty() && message.empty(); }
};

class ClientCore;  // internal: signed requests over one connection

// --- S3
// -------------------------------------------------------------------------------------------

class S3Client {
 public:
  S3Client(ServiceEndpoint endpoint, Credentials credentials, std::string region);
  ~S3Client();
  S3Client(S3Client&&) noexcept;
  S3Client& operator=(S3Client&&) noexcept;

  // From the environment (see top of file); nullopt with *error set when not configured.
  static std::optional<S3Client> from_env(std::string* error);

  // GET /<bucket>/<key>: the object's bytes into `body`.
  AwsError get_object(std::string_view bucket, std::string_view key, std::string& body);
  // PUT /<bucket>/<key> with Content-Type. Signs the payload's SHA-256.
  AwsError put_object(std::string_view bucket, std::string_view key, std::string_view body,
                      std::string_view content_type = "application/octet-stream");

 private:
  std::unique_ptr<ClientCore> core_;
};

// --- DynamoDB
// -------------------------------------------------------------------------------------

// One attribute value in DynamoDB JSON ({"S": ..}, {"N": ..}, {"BOOL": ..}, {"NULL": true}).
class AttributeValue {
 public:
  static AttributeValue string(std::string s);
  static AttributeValue number(std::string decimal_text);  // sent as given, e.g. "12.50"
  static AttributeValue boolean(bool b);
  static AttributeValue null();
  // Appends the DynamoDB JSON of this value to out.
  void append_json(std::string& out) const;

 private:
  enum class Kind { kS, kN, kBool, kNull };
  Kind kind_ = Kind::kNull;
  std::string text_;
  bool bool_ = false;
};

using Item = std::vector<std::pair<std::string, AttributeValue>>;

// {"name":{"S":"v"},...}
std::string item_json(const Item& item);

struct BatchWriteOptions {
  int max_attempts = 8;         // per 25-item chunk, counting the first call
  int initial_backoff_ms = 25;  // doubled after every call that left items unprocessed
  int max_backoff_ms = 1000;
};

class DynamoDbClient {
 public:
  DynamoDbClient(ServiceEndpoint endpoint, Credentials credentials, std::string region);
  ~DynamoDbClient();
  DynamoDbClient(DynamoDbClient&&) noexcept;
  DynamoDbClient& operator=(DynamoDbClient&&) noexcept;

  static std::optional<DynamoDbClient> from_env(std::string* error);

  // POST / with X-Amz-Target: DynamoDB_20120810.<operation> and a JSON 1.0 body; the response
  // body into `response`. A 4xx/5xx answer becomes an AwsError with the "__type" suffix as code.
  AwsError call(std::string_view operation, std::string_view request_json, std::string& response);

  AwsError put_item(std::string_view table, const Item& item);
  // Writes all items (PutRequest) in chunks of 25; re-sends UnprocessedItems with exponential
  // backoff. Fails if items remain after options.max_attempts calls for a chunk.
  AwsError batch_write_item(std::string_view table, const std::vector<Item>& items,
                            const BatchWriteOptions& options = {});
  // Same with items already in DynamoDB JSON (each a {"attr":{"S":..},..} object).
  AwsError batch_write_item_json(std::string_view table, const std::vector<std::string>& items,
                                 const BatchWriteOptions& options = {});

  // Number of BatchWriteItem calls made so far (retries included); for tests and metrics.
  std::uint64_t batch_calls() const { return batch_calls_; }

 private:
  std::unique_ptr<ClientCore> core_;
  std::uint64_t batch_calls_ = 0;
};

}  // namespace lambdad::aws
