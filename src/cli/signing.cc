#include "cli/signing.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>

#include "auth/sigv4.h"

namespace lambdad::cli {

namespace {
std::string env(const char* name) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): CLI, single thread
  return v ? v : "";
}
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> sigv4_headers(
    const std::string& method, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
  const std::string akid = env("AWS_ACCESS_KEY_ID");
  const std::string secret = env("AWS_SECRET_ACCESS_KEY");
  if (akid.empty() || secret.empty()) return {};
  std::string region = env("AWS_REGION");
  if (region.empty()) region = env("AWS_DEFAULT_REGION");
  if (region.empty()) region = "us-east-1";
  const std::string token = env("AWS_SESSION_TOKEN");

  const time_t now = ::time(nullptr);
  tm t{};
  gmtime_r(&now, &t);
  char amz_date[32];
  std::strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &t);
  const std::string date(amz_date, 8);

  std::vector<std::pair<std::string, std::string>> all;
  for (const auto& [k, v] : headers) all.emplace_back(lower(k), v);
  std::vector<std::pair<std::string, std::string>> added{{"X-Amz-Date", amz_date}};
  if (!token.empty()) added.emplace_back("X-Amz-Security-Token", token);
  for (const auto& [k, v] : added) all.emplace_back(lower(k), v);

  std::vector<std::string> names;
  for (const auto& [k, v] : all)
    if (k == "host" || k.rfind("x-amz-", 0) == 0 || k == "content-type") names.push_back(k);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string signed_headers;
  for (const auto& n : names) signed_headers += (signed_headers.empty() ? "" : ";") + n;

  const size_t q = target.find('?');
  auth::SignedRequest req;
  req.method = method;
  req.path = std::string_view(target).substr(0, q);
  req.query = q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
  req.headers = &all;
  req.body = body;
  const std::string scope = date + "/" + region + "/lambda/aws4_request";
  const std::string sts =
      auth::string_to_sign(amz_date, scope, auth::canonical_request(req, signed_headers));
  const std::string sig = auth::signature(auth::signing_key(secret, date, region, "lambda"), sts);
  added.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + akid + "/" + scope +
                                          ", SignedHeaders=" + signed_headers +
                                          ", Signature=" + sig);
  return added;
}

}  // namespace lambdad::cli
