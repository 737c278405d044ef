#include "common/encoding.h"

#include <gtest/gtest.h>

namespace lambdad {
namespace {

TEST(Base64Test, RoundTripsEveryPaddingLength) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d.has_value()) << s;
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
}

TEST(Base64Test, RejectsGarbage) {
  EXPECT_FALSE(base64_decode("!!!!").has_value());
  EXPECT_FALSE(base64_decode("Z").has_value());
}

TEST(Sha256Test, MatchesKnownVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_base64(""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

TEST(TimestampTest, HasLambdaLastModifiedShape) {
  const std::string t = lambda_timestamp_now();
  ASSERT_EQ(t.size(), 28u) << t;
  EXPECT_EQ(t[10], 'T');
  EXPECT_EQ(t[19], '.');
  EXPECT_EQ(t.substr(23), "+0000");
}

TEST(UuidTest, IsVersion4AndUnique) {
  const std::string a = uuid4(), b = uuid4();
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace lambdad
