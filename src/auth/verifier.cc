#include "auth/verifier.h"

#include <lambdad/aws.h>
#include <openssl/crypto.h>
#include <sys/stat.h>

#include <cstdio>

namespace lambdad::auth {

std::string amz_date(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  for (size_t i = 0; i < 15; ++i)
    if (i != 8 && (s[i] < '0' || s[i] > '9')) return std::nullopt;
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  // system_clock counts nanoseconds in 64 bits: years past 2262 would overflow it.
  if (tm.tm_year < 70 || tm.tm_year > 2200 - 1900 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
      tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Verifier::Verifier(std::string data_dir, std::chrono::milliseconds recheck)
    : store_(std::move(data_dir)), recheck_(recheck) {
  std::lock_guard lock(mu_);
  refresh_locked();
}

void Verifier::refresh_locked() {
  // A stat costs more than the signature check itself: look at most every kRecheck.
  const auto now = std::chrono::steady_clock::now();
  if (checked_ && now - last_check_ < recheck_) return;
  checked_ = true;
  last_check_ = now;
  struct stat st {};
  if (::stat(store_.keys_path().c_str(), &st) != 0) {
    if (inode_ == 0 && size_ == -1) return;  // never had a file
    st = {};
  }
  if (st.st_ino == inode_ && st.st_size == size_ && st.st_mtim.tv_sec == mtime_.tv_sec &&
      st.st_mtim.tv_nsec == mtime_.tv_nsec)
    return;
  inode_ = st.st_ino;
  size_ = st.st_size;
  mtime_ = st.st_mtim;
  auto keys = store_.load_secrets();
  if (!keys) {
    // Keep serving with the keys we had; a half-written file must not open the server.
    load_error_ = keys.error().message();
    std::fprintf(stderr, "lambdad: access keys: %s\n", load_error_.c_str());
    return;
  }
  load_error_.clear();
  secrets_.clear();
  for (auto& k : *keys) secrets_[k.id] = std::move(k.secret);
  if (!secrets_.empty()) enabled_ = true;
}

bool Verifier::enabled() {
  std::lock_guard lock(mu_);
  refresh_locked();
  return enabled_;
}

std::string Verifier::load_error() {
  std::lock_guard lock(mu_);
  return load_error_;
}

namespace {

const std::string* find_header(const SignedRequest& r, std::string_view name) {
  for (const auto& [k, v] : *r.headers)
    if (k == name) return &v;
  return nullptr;
}

Denial incomplete(std::string message) {
  return Denial{403, "IncompleteSignatureException", std::move(message)};
}

Denial invalid(std::string message) {
  return Denial{403, "InvalidSignatureException", std::move(message)};
}

}  // namespace

std::optional<Denial> Verifier::verify(const SignedRequest& request,
                                       std::chrono::system_clock::time_point now) {
  {
    std::lock_guard lock(mu_);
    refresh_locked();
    if (!enabled_) return std::nullopt;
  }
  const std::string* header = find_header(request, "authorization");
  if (header == nullptr)
    return Denial{403, "MissingAuthenticationTokenException", "Missing Authentication Token"};
  std::string why;
  auto auth = parse_authorization(*header, &why);
  if (!auth) return incomplete(why + " Authorization=" + *header);

  const std::string* date_header = find_header(request, "x-amz-date");
  if (date_header == nullptr)
    return incomplete(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=" +
        *header);
  const auto when = parse_amz_date(*date_header);
  if (!when)
    return incomplete("Date must be in ISO-8601 'basic format'. Got '" + *date_header +
                      "'. See http://en.wikipedia.org/wiki/ISO_8601");

  std::string secret;
  {
    std::lock_guard lock(mu_);
    auto found = secrets_.find(auth->access_key);
    if (found == secrets_.end())
      return Denial{403, "UnrecognizedClientException",
                    "The security token included in the request is invalid."};
    secret = found->second;
  }

  if (auth->service != "lambda")
    return invalid("Credential should be scoped to correct service: 'lambda'. ");
  if (date_header->substr(0, 8) != auth->date)
    return invalid(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
        "date from HTTP: '" +
        auth->date + "' != '" + date_header->substr(0, 8) + "', from '" + *date_header + "'.");
  if (*when < now - kMaxSkew)
    return invalid("Signature expired: " + *date_header + " is now earlier than " +
                   amz_date(now - kMaxSkew) + " (" + amz_date(now) + " - 15 min.)");
  if (*when > now + kMaxSkew)
    return invalid("Signature not yet current: " + *date_header + " is still later than " +
                   amz_date(now + kMaxSkew) + " (" + amz_date(now) + " + 15 min.)");

  const std::string cr = canonical_request(request, auth->signed_headers);
  // The signing step itself is the SDK's (lambdad::aws::sigv4_signature): functions sign with
  // the same code the server verifies with.
  const std::string expected =
      lambdad::aws::sigv4_signature(secret, auth->region, auth->service, *date_header, cr);
  if (expected.size() != auth->signature.size() ||
      CRYPTO_memcmp(expected.data(), auth->signature.data(), expected.size()) != 0)
    return invalid(
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details.");
  return std::nullopt;
}

}  // namespace lambdad::auth
