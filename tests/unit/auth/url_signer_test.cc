// Code.Location tokens (auth/url_signer.h): valid until they expire, bound to their path and
// to the key that made them.
#include "auth/url_signer.h"

#include <gtest/gtest.h>

namespace lambdad::auth {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::system_clock;
constexpr std::string_view kPath = "/lambdad/packages/abc.zip";

TEST(UrlSignerTest, SignedPathIsValidUntilItExpires) {
  const UrlSigner signer("k");
  const Clock::time_point t0{seconds(1'700'000'000)};
  const std::string q = signer.sign(kPath, t0 + UrlSigner::kTtl);
  EXPECT_EQ(signer.check(kPath, q, t0), UrlSigner::Check::kValid);
  EXPECT_EQ(signer.check(kPath, q, t0 + UrlSigner::kTtl), UrlSigner::Check::kValid);
  EXPECT_EQ(signer.check(kPath, q, t0 + UrlSigner::kTtl + seconds(1)), UrlSigner::Check::kExpired);
}

TEST(UrlSignerTest, TokenIsBoundToPathExpiryAndKey) {
  const UrlSigner signer("k");
  const Clock::time_point t0{seconds(1'700'000'000)};
  const std::string q = signer.sign(kPath, t0 + seconds(60));
  EXPECT_EQ(signer.check("/lambdad/packages/abd.zip", q, t0), UrlSigner::Check::kInvalid);
  EXPECT_EQ(UrlSigner("other").check(kPath, q, t0), UrlSigner::Check::kInvalid);
  std::string later = q;
  later.replace(later.find('=') + 1, 1, "9");  // push the expiry out
  EXPECT_EQ(signer.check(kPath, later, t0), UrlSigner::Check::kInvalid);
  std::string flipped = q;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_EQ(signer.check(kPath, flipped, t0), UrlSigner::Check::kInvalid);
}

TEST(UrlSignerTest, MissingOrMalformedParameters) {
  const UrlSigner signer;  // random key
  const Clock::time_point t0{seconds(1'700'000'000)};
  EXPECT_EQ(signer.check(kPath, "", t0), UrlSigner::Check::kAbsent);
  EXPECT_EQ(signer.check(kPath, "Qualifier=1", t0), UrlSigner::Check::kAbsent);
  EXPECT_EQ(signer.check(kPath, "X-Lambdad-Expires=1", t0), UrlSigner::Check::kInvalid);
  EXPECT_EQ(signer.check(kPath, "X-Lambdad-Signature=ab", t0), UrlSigner::Check::kInvalid);
  EXPECT_EQ(signer.check(kPath, "X-Lambdad-Expires=-1&X-Lambdad-Signature=ab", t0),
            UrlSigner::Check::kInvalid);
  EXPECT_EQ(signer.check(kPath, "X-Lambdad-Expires=99999999999999999999&X-Lambdad-Signature=a", t0),
            UrlSigner::Check::kInvalid);
  EXPECT_EQ(signer.check(kPath, "X-Lambdad-Expires=9999999999999999999&X-Lambdad-Signature=a", t0),
            UrlSigner::Check::kInvalid);  // 19 digits: past long long, refused before parsing
  const std::string q = signer.sign(kPath, t0 + seconds(5));
  EXPECT_EQ(signer.check(kPath, "a=b&" + q + "&c", t0), UrlSigner::Check::kValid);
}

}  // namespace
}  // namespace lambdad::auth
