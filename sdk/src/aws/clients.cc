// S3 and DynamoDB clients: signed requests over the SDK's blocking HTTP/1.1 client.
#include <time.h>

#include <algorithm>

#include "../http_client.h"
#include "../json_value.h"
#include "lambdad/aws.h"
#include "lambdad/runtime.h"

namespace lambdad::aws {

using sdk_detail::JsonValue;

class ClientCore {
 public:
  ClientCore(ServiceEndpoint endpoint, Credentials credentials, std::string region,
             std::string service)
      : http_(sdk_detail::Endpoint{endpoint.host, endpoint.port}),
        host_header_(endpoint.host + ":" + endpoint.port),
        credentials_(std::move(credentials)),
        region_(std::move(region)),
        service_(std::move(service)) {
    // The HTTP client writes Host as host:port; an IPv6 literal needs its brackets to sign the
    // same bytes.
    if (endpoint.host.find(':') != std::string::npos) {
      host_header_ = "[" + endpoint.host + "]:" + endpoint.port;
    }
  }

  // Signs and sends one request. `headers` are extra headers (signed too). With
  // `content_sha256_header` the payload hash also goes out as X-Amz-Content-Sha256 (S3).
  bool send(std::string_view method, std::string_view path,
            const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
            bool content_sha256_header, sdk_detail::HttpResponse& out, std::string& error) {
    std::string payload_hash = sha256_hex(body);
    std::string date = amz_date_now();
    SigningRequest req;
    req.method = method;
    req.path = path;
    req.headers = headers;
    req.headers.emplace_back("host", host_header_);
    req.headers.emplace_back("x-amz-date", date);
    if (content_sha256_header) req.headers.emplace_back("x-amz-content-sha256", payload_hash);
    if (!credentials_.session_token.empty()) {
      req.headers.emplace_back("x-amz-security-token", credentials_.session_token);
    }
    req.payload_sha256_hex = payload_hash;
    Signature sig = sign_v4(req, credentials_, region_, service_, date);

    sdk_detail::HeaderList list;
    for (const auto& [name, value] : req.headers) {
      if (name == "host") continue;  // the HTTP client writes it
      list.emplace_back(name, value);
    }
    list.emplace_back("Authorization", sig.authorization);
    return http_.request(method, path, list, body, out, error);
  }

 private:
  sdk_detail::HttpClient http_;
  std::string host_header_;
  Credentials credentials_;
  std::string region_;
  std::string service_;
};

namespace {

// The text of the first <tag>...</tag> in an XML error body, or "".
std::string xml_field(std::string_view xml, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  auto a = xml.find(open);
  if (a == std::string_view::npos) return "";
  a += open.size();
  auto b = xml.find(close, a);
  if (b == std::string_view::npos) return "";
  return std::string(xml.substr(a, b - a));
}

AwsError transport_error(std::string message) {
  AwsError e;
  e.code = "TransportError";
  e.message = std::move(message);
  return e;
}

AwsError s3_error(const sdk_detail::HttpResponse& r) {
  AwsError e;
  e.status = r.status;
  e.code = xml_field(r.body, "Code");
  e.message = xml_field(r.body, "Message");
  if (e.code.empty()) e.code = "HttpError" + std::to_string(r.status);
  if (e.message.empty()) e.message = "S3 answered HTTP " + std::to_string(r.status);
  return e;
}

AwsError dynamodb_error(const sdk_detail::HttpResponse& r) {
  AwsError e;
  e.status = r.status;
  JsonValue v;
  if (JsonValue::parse(r.body, &v, nullptr)) {
    if (const auto* t = v.find("__type"); t != nullptr && t->is_string()) {
      auto hash = t->text().rfind('#');
      e.code = hash == std::string::npos ? t->text() : t->text().substr(hash + 1);
    }
    for (const char* key : {"message", "Message"}) {
      if (const auto* m = v.find(key); m != nullptr && m->is_string()) e.message = m->text();
    }
  }
  if (e.code.empty()) e.code = "HttpError" + std::to_string(r.status);
  if (e.message.empty()) e.message = "DynamoDB answered HTTP " + std::to_string(r.status);
  return e;
}

void append_json(const JsonValue& v, std::string& out) {
  switch (v.kind()) {
    case JsonValue::Kind::kNull:
      out += "null";
      break;
    case JsonValue::Kind::kBool:
      out += v.boolean() ? "true" : "false";
      break;
    case JsonValue::Kind::kNumber:
      out += v.text();
      break;
    case JsonValue::Kind::kString:
      out.append("\"").append(json_escape(v.text())).append("\"");
      break;
    case JsonValue::Kind::kArray: {
      out += '[';
      bool first = true;
      for (const auto& item : v.items()) {
        if (!first) out += ',';
        first = false;
        append_json(item, out);
      }
      out += ']';
      break;
    }
    case JsonValue::Kind::kObject: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.members()) {
        if (!first) out += ',';
        first = false;
        out.append("\"").append(json_escape(key)).append("\":");
        append_json(item, out);
      }
      out += '}';
      break;
    }
  }
}

void sleep_ms(int ms) {
  timespec ts{ms / 1000, static_cast<long>(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

bool retryable(const AwsError& e) {
  return e.status >= 500 || e.code == "ProvisionedThroughputExceededException" ||
         e.code == "ThrottlingException" || e.code == "RequestLimitExceeded" ||
         e.code == "TransportError";
}

template <typename Client>
std::optional<Client> client_from_env(std::string_view service_env, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<Client> {
    if (error != nullptr) *error = std::move(why);
    return std::nullopt;
  };
  auto creds = Credentials::from_env();
  if (!creds) return fail("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set");
  auto url = endpoint_url_from_env(service_env);
  if (!url) {
    return fail("AWS_ENDPOINT_URL_" + std::string(service_env) +
                " / AWS_ENDPOINT_URL is not set (the SDK has no TLS, so no default endpoint)");
  }
  ServiceEndpoint ep;
  std::string why;
  if (!parse_endpoint_url(*url, ep, &why)) return fail(why);
  return Client(std::move(ep), std::move(*creds), region_from_env());
}

}  // namespace

// --- S3
// -------------------------------------------------------------------------------------------

S3Client::S3Client(ServiceEndpoint endpoint, Credentials credentials, std::string region)
    : core_(std::make_unique<ClientCore>(std::move(endpoint), std::move(credentials),
                                         std::move(region), "s3")) {}
S3Client::~S3Client() = default;
S3Client::S3Client(S3Client&&) noexcept = default;
S3Client& S3Client::operator=(S3Client&&) noexcept = default;

std::optional<S3Client> S3Client::from_env(std::string* error) {
  return client_from_env<S3Client>("S3", error);
}

AwsError S3Client::get_object(std::string_view bucket, std::string_view key, std::string& body) {
  std::string path = "/" + uri_encode(bucket, false) + "/" + uri_encode(key, true);
  sdk_detail::HttpResponse r;
  std::string error;
  if (!core_->send("GET", path, {}, {}, true, r, error)) return transport_error(error);
  if (r.status != 200) return s3_error(r);
  body = std::move(r.body);
  return {};
}

AwsError S3Client::put_object(std::string_view bucket, std::string_view key, std::string_view body,
                              std::string_view content_type) {
  std::string path = "/" + uri_encode(bucket, false) + "/" + uri_encode(key, true);
  sdk_detail::HttpResponse r;
  std::string error;
  std::vector<std::pair<std::string, std::string>> headers = {
      {"content-type", std::string(content_type)}};
  if (!core_->send("PUT", path, headers, body, true, r, error)) return transport_error(error);
  if (r.status != 200) return s3_error(r);
  return {};
}

// --- DynamoDB
// -------------------------------------------------------------------------------------

AttributeValue AttributeValue::string(std::string s) {
  AttributeValue v;
  v.kind_ = Kind::kS;
  v.text_ = std::move(s);
  return v;
}

AttributeValue AttributeValue::number(std::string decimal_text) {
  AttributeValue v;
  v.kind_ = Kind::kN;
  v.text_ = std::move(decimal_text);
  return v;
}

AttributeValue AttributeValue::boolean(bool b) {
  AttributeValue v;
  v.kind_ = Kind::kBool;
  v.bool_ = b;
  return v;
}

AttributeValue AttributeValue::null() { return AttributeValue(); }

void AttributeValue::append_json(std::string& out) const {
  switch (kind_) {
    case Kind::kS:
      out.append("{\"S\":\"").append(json_escape(text_)).append("\"}");
      break;
    case Kind::kN:
      out.append("{\"N\":\"").append(json_escape(text_)).append("\"}");
      break;
    case Kind::kBool:
      out.append(bool_ ? "{\"BOOL\":true}" : "{\"BOOL\":false}");
      break;
    case Kind::kNull:
      out.append("{\"NULL\":true}");
      break;
  }
}

std::string item_json(const Item& item) {
  std::string out = "{";
  for (const auto& [name, value] : item) {
    if (out.size() > 1) out += ',';
    out.append("\"").append(json_escape(name)).append("\":");
    value.append_json(out);
  }
  out += '}';
  return out;
}

DynamoDbClient::DynamoDbClient(ServiceEndpoint endpoint, Credentials credentials,
                               std::string region)
    : core_(std::make_unique<ClientCore>(std::move(endpoint), std::move(credentials),
                                         std::move(region), "dynamodb")) {}
DynamoDbClient::~DynamoDbClient() = default;
DynamoDbClient::DynamoDbClient(DynamoDbClient&&) noexcept = default;
DynamoDbClient& DynamoDbClient::operator=(DynamoDbClient&&) noexcept = default;

std::optional<DynamoDbClient> DynamoDbClient::from_env(std::string* error) {
  return client_from_env<DynamoDbClient>("DYNAMODB", error);
}

AwsError DynamoDbClient::call(std::string_view operation, std::string_view request_json,
                              std::string& response) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"content-type", "application/x-amz-json-1.0"},
      {"x-amz-target", "DynamoDB_20120810." + std::string(operation)}};
  sdk_detail::HttpResponse r;
  std::string error;
  if (!core_->send("POST", "/", headers, request_json, false, r, error)) {
    return transport_error(error);
  }
  if (r.status != 200) return dynamodb_error(r);
  response = std::move(r.body);
  return {};
}

AwsError DynamoDbClient::put_item(std::string_view table, const Item& item) {
  std::string body =
      "{\"TableName\":\"" + json_escape(table) + "\",\"Item\":" + item_json(item) + "}";
  std::string response;
  return call("PutItem", body, response);
}

AwsError DynamoDbClient::batch_write_item(std::string_view table, const std::vector<Item>& items,
                                          const BatchWriteOptions& options) {
  std::vector<std::string> json;
  json.reserve(items.size());
  for (const auto& item : items) json.push_back(item_json(item));
  return batch_write_item_json(table, json, options);
}

AwsError DynamoDbClient::batch_write_item_json(std::string_view table,
                                               const std::vector<std::string>& items,
                                               const BatchWriteOptions& options) {
  constexpr std::size_t kMaxBatch = 25;  // DynamoDB's limit per BatchWriteItem
  std::string prefix = "{\"RequestItems\":{\"" + json_escape(table) + "\":[";
  for (std::size_t start = 0; start < items.size(); start += kMaxBatch) {
    std::size_t end = std::min(items.size(), start + kMaxBatch);
    std::vector<std::string> pending(items.begin() + static_cast<std::ptrdiff_t>(start),
                                     items.begin() + static_cast<std::ptrdiff_t>(end));
    int backoff = options.initial_backoff_ms;
    for (int attempt = 1;; ++attempt) {
      std::string body = prefix;
      for (std::size_t i = 0; i < pending.size(); ++i) {
        if (i > 0) body += ',';
        body.append("{\"PutRequest\":{\"Item\":").append(pending[i]).append("}}");
      }
      body += "]}}";
      std::string response;
      ++batch_calls_;
      AwsError e = call("BatchWriteItem", body, response);
      if (!e.ok()) {
        if (!retryable(e) || attempt >= options.max_attempts) return e;
      } else {
        JsonValue v;
        std::string why;
        if (!JsonValue::parse(response, &v, &why)) {
          AwsError bad;
          bad.status = 200;
          bad.code = "MalformedResponse";
          bad.message = "BatchWriteItem response is not JSON: " + why;
          return bad;
        }
        std::vector<std::string> left;
        const JsonValue* unprocessed = v.find("UnprocessedItems");
        const JsonValue* requests = unprocessed != nullptr ? unprocessed->find(table) : nullptr;
        if (requests != nullptr && requests->is_array()) {
          for (const auto& req : requests->items()) {
            if (const auto* item = req.find_path({"PutRequest", "Item"})) {
              std::string s;
              append_json(*item, s);
              left.push_back(std::move(s));
            }
          }
        }
        if (left.empty()) break;
        if (attempt >= options.max_attempts) {
          AwsError rest;
          rest.status = 200;
          rest.code = "UnprocessedItems";
          rest.message = std::to_string(left.size()) + " items still unprocessed after " +
                         std::to_string(attempt) + " BatchWriteItem calls";
          return rest;
        }
        pending = std::move(left);
      }
      sleep_ms(backoff);
      backoff = std::min(backoff * 2, options.max_backoff_ms);
    }
  }
  return {};
}

}  // namespace lambdad::aws
