// Payload 2.0 request parsing and response rendering (include/lambdad/http.h).
#include "lambdad/http.h"

#include <cstdint>
#include <utility>

#include "json_value.h"

namespace lambdad::http {
namespace {

using sdk_detail::JsonValue;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Scalars as text (strings decoded, numbers and booleans as written); "" for null/containers.
std::string scalar(const JsonValue* v) {
  if (v == nullptr) return {};
  switch (v->kind()) {
    case JsonValue::Kind::kString:
    case JsonValue::Kind::kNumber:
      return v->text();
    case JsonValue::Kind::kBool:
      return v->boolean() ? "true" : "false";
    default:
      return {};
  }
}

void read_map(const JsonValue* obj, bool lower_keys, std::map<std::string, std::string>* out) {
  if (obj == nullptr || !obj->is_object()) return;
  for (const auto& [k, v] : obj->members()) {
    std::string key = lower_keys ? lower(k) : k;
    std::string val = scalar(&v);
    auto [it, inserted] = out->try_emplace(std::move(key), val);
    if (!inserted) it->second += "," + val;
  }
}

std::optional<std::string> lookup(const std::map<std::string, std::string>& m,
                                  std::string_view key) {
  auto it = m.find(std::string(key));
  if (it == m.end()) return std::nullopt;
  return it->second;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

void append_map(std::string* out, const std::map<std::string, std::string>& m) {
  *out += '{';
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) *out += ',';
    first = false;
    *out += '"';
    *out += json_escape(k);
    *out += "\":\"";
    *out += json_escape(v);
    *out += '"';
  }
  *out += '}';
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                 (static_cast<uint8_t>(bytes[i + 1]) << 8) | static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = b64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

bool is_valid_json(std::string_view text) {
  JsonValue doc;
  return JsonValue::parse(text, &doc, nullptr);
}

std::optional<std::string> HttpRequest::header(std::string_view name) const {
  return lookup(headers, lower(name));
}
std::optional<std::string> HttpRequest::query_param(std::string_view name) const {
  return lookup(query, name);
}
std::optional<std::string> HttpRequest::path_param(std::string_view name) const {
  return lookup(path_params, name);
}

std::optional<std::string> HttpRequest::cookie(std::string_view name) const {
  for (const auto& c : cookies) {
    auto eq = c.find('=');
    if (eq != std::string::npos && std::string_view(c).substr(0, eq) == name) {
      return c.substr(eq + 1);
    }
  }
  return std::nullopt;
}

std::optional<HttpRequest> parse_request(std::string_view event, std::string* error) {
  JsonValue doc;
  std::string why;
  if (!JsonValue::parse(event, &doc, &why)) {
    if (error != nullptr) *error = "event is not JSON: " + why;
    return std::nullopt;
  }
  if (!doc.is_object()) {
    if (error != nullptr) *error = "event is not a JSON object";
    return std::nullopt;
  }
  HttpRequest req;
  req.method = scalar(doc.find_path({"requestContext", "http", "method"}));
  req.source_ip = scalar(doc.find_path({"requestContext", "http", "sourceIp"}));
  req.request_id = scalar(doc.find_path({"requestContext", "requestId"}));
  req.raw_path = scalar(doc.find("rawPath"));
  if (req.raw_path.empty())
    req.raw_path = scalar(doc.find_path({"requestContext", "http", "path"}));
  req.raw_query = scalar(doc.find("rawQueryString"));
  req.route_key = scalar(doc.find("routeKey"));
  read_map(doc.find("headers"), true, &req.headers);
  read_map(doc.find("queryStringParameters"), false, &req.query);
  read_map(doc.find("pathParameters"), false, &req.path_params);
  if (const JsonValue* c = doc.find("cookies"); c != nullptr && c->is_array()) {
    for (const auto& item : c->items()) req.cookies.push_back(scalar(&item));
  } else if (auto h = req.header("cookie")) {
    // No cookies field (a hand-made event): split the Cookie header as the platform would.
    std::string_view rest = *h;
    while (!rest.empty()) {
      size_t end = rest.find(';');
      std::string_view part = rest.substr(0, end);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      if (!part.empty()) req.cookies.emplace_back(part);
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 1);
    }
  }
  req.body = scalar(doc.find("body"));
  const JsonValue* b64 = doc.find("isBase64Encoded");
  req.body_was_base64 = b64 != nullptr && b64->kind() == JsonValue::Kind::kBool && b64->boolean();
  if (req.body_was_base64) {
    auto decoded = base64_decode(req.body);
    if (!decoded) {
      if (error != nullptr) *error = "isBase64Encoded is true but body is not valid base64";
      return std::nullopt;
    }
    req.body = std::move(*decoded);
  }
  return req;
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers["content-type"] = "application/json";
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers["content-type"] = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

std::string HttpResponse::to_json() const {
  std::string out = "{\"statusCode\":" + std::to_string(status) + ",\"headers\":";
  append_map(&out, headers);
  if (!cookies.empty()) {
    out += ",\"cookies\":[";
    for (size_t i = 0; i < cookies.size(); ++i) {
      if (i > 0) out += ',';
      out += '"' + json_escape(cookies[i]) + '"';
    }
    out += ']';
  }
  out += ",\"body\":\"";
  out += json_escape(is_base64 ? base64_encode(body) : body);
  out += "\",\"isBase64Encoded\":";
  out += is_base64 ? "true}" : "false}";
  return out;
}

Handler handler(HttpHandler h) {
  return [h = std::move(h)](const InvocationRequest& inv) {
    std::string error;
    auto req = parse_request(inv.payload, &error);
    if (!req) return InvocationResponse::failure(error, "InvalidHttpEvent");
    return InvocationResponse::success(h(*req).to_json());
  };
}

}  // namespace lambdad::http
