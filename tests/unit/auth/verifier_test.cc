// Verifier and KeyStore on a temp data dir: each AWS error, key reload, encryption at rest.
#include "auth/verifier.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth/key_store.h"
#include "auth/sigv4.h"

namespace lambdad::auth {
namespace {

namespace fs = std::filesystem;
using Headers = std::vector<std::pair<std::string, std::string>>;

class VerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lambdad-auth-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Signs like botocore: host and x-amz-date signed, body hashed.
  Headers sign(const AccessKey& key, std::chrono::system_clock::time_point when,
               std::string_view path, std::string_view query, std::string_view body,
               std::string secret_override = {}) {
    const std::string date = amz_date(when);
    Headers h = {{"host", "localhost:9001"}, {"x-amz-date", date}};
    SignedRequest r{"POST", path, query, &h, body};
    const std::string signed_headers = "host;x-amz-date";
    const std::string scope = date.substr(0, 8) + "/us-east-1/lambda/aws4_request";
    const std::string sts = string_to_sign(date, scope, canonical_request(r, signed_headers));
    const std::string& secret = secret_override.empty() ? key.secret : secret_override;
    const std::string sig =
        signature(signing_key(secret, date.substr(0, 8), "us-east-1", "lambda"), sts);
    h.emplace_back("authorization", "AWS4-HMAC-SHA256 Credential=" + key.id + "/" + scope +
                                        ", SignedHeaders=" + signed_headers + ", Signature=" + sig);
    return h;
  }

  std::optional<Denial> check(
      Verifier& v, const Headers& h, std::string_view body = "{}",
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
    SignedRequest r{"POST", "/2015-03-31/functions/f/invocations", "", &h, body};
    return v.verify(r, now);
  }

  std::string dir_;
};

TEST_F(VerifierTest, NoKeysMeansNoAuth) {
  Verifier v(dir_);
  EXPECT_FALSE(v.enabled());
  Headers none;
  EXPECT_FALSE(check(v, none));
}

TEST_F(VerifierTest, AcceptsCorrectSignatureAndRejectsEachFault) {
  KeyStore store(dir_);
  auto key = store.add("ci");
  ASSERT_TRUE(key) << key.error().message();
  Verifier v(dir_);
  ASSERT_TRUE(v.enabled());
  const auto now = std::chrono::system_clock::now();
  const std::string path = "/2015-03-31/functions/f/invocations";

  EXPECT_FALSE(check(v, sign(*key, now, path, "", "{}"), "{}", now));

  auto d = check(v, sign(*key, now, path, "", "{}", "wrong-secret"), "{}", now);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, 403);
  EXPECT_EQ(d->type, "InvalidSignatureException");
  EXPECT_EQ(d->message,
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.");

  d = check(v, sign(*key, now, path, "", "{}"), R"({"tampered":1})", now);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, "InvalidSignatureException");

  AccessKey unknown = *key;
  unknown.id = "AKIAUNKNOWNUNKNOWN00";
  d = check(v, sign(unknown, now, path, "", "{}"), "{}", now);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, "UnrecognizedClientException");
  EXPECT_EQ(d->message, "The security token included in the request is invalid.");

  Headers unsigned_request = {{"host", "localhost:9001"}};
  d = check(v, unsigned_request, "{}", now);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, "MissingAuthenticationTokenException");
  EXPECT_EQ(d->message, "Missing Authentication Token");

  const auto old = now - std::chrono::minutes(20);
  d = check(v, sign(*key, old, path, "", "{}"), "{}", now);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, "InvalidSignatureException");
  EXPECT_EQ(d->message, "Signature expired: " + amz_date(old) + " is now earlier than " +
                            amz_date(now - std::chrono::minutes(15)) + " (" + amz_date(now) +
                            " - 15 min.)");
  d = check(v, sign(*key, now + std::chrono::minutes(20), path, "", "{}"), "{}", now);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->message.rfind("Signature not yet current: ", 0), 0u);
  // Inside the window either way.
  EXPECT_FALSE(check(v, sign(*key, now - std::chrono::minutes(14), path, "", "{}"), "{}", now));
  EXPECT_FALSE(check(v, sign(*key, now + std::chrono::minutes(14), path, "", "{}"), "{}", now));

  Headers malformed = {{"authorization", "AWS4-HMAC-SHA256 Credential=x"}};
  d = check(v, malformed, "{}", now);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, "IncompleteSignatureException");
}

TEST_F(VerifierTest, PicksUpAddedAndRemovedKeys) {
  KeyStore store(dir_);
  auto first = store.add("");
  ASSERT_TRUE(first);
  Verifier v(dir_, std::chrono::milliseconds(0));
  const auto now = std::chrono::system_clock::now();
  const std::string path = "/2015-03-31/functions/f/invocations";
  auto second = store.add("second");
  ASSERT_TRUE(second);
  EXPECT_FALSE(check(v, sign(*second, now, path, "", "{}"), "{}", now));
  ASSERT_TRUE(store.remove(first->id));
  auto d = check(v, sign(*first, now, path, "", "{}"), "{}", now);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, "UnrecognizedClientException");
  // Removing the last key locks everyone out rather than turning auth off.
  ASSERT_TRUE(store.remove(second->id));
  EXPECT_TRUE(v.enabled());
  Headers none;
  EXPECT_TRUE(check(v, none, "{}", now));
  EXPECT_EQ(store.remove(second->id).error().code, Code::kNotFound);
}

TEST_F(VerifierTest, SecretsAreEncryptedAtRestAndFilesArePrivate) {
  KeyStore store(dir_);
  auto key = store.add("name with spaces");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->id.size(), 20u);
  EXPECT_EQ(key->id.rfind("AKIA", 0), 0u);
  EXPECT_EQ(key->secret.size(), 40u);
  std::stringstream ss;
  ss << std::ifstream(store.keys_path()).rdbuf();
  EXPECT_EQ(ss.str().find(key->secret), std::string::npos);
  EXPECT_NE(ss.str().find(key->id), std::string::npos);
  for (const char* f : {"/keys.db", "/master.key"}) {
    struct stat st {};
    ASSERT_EQ(stat((dir_ + f).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  auto listed = store.list();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "name with spaces");
  EXPECT_TRUE((*listed)[0].secret.empty());
  auto loaded = store.load_secrets();
  ASSERT_TRUE(loaded);
  EXPECT_EQ((*loaded)[0].secret, key->secret);
  // A different master key cannot decrypt.
  fs::remove(dir_ + "/master.key");
  std::ofstream(dir_ + "/master.key") << std::string(32, 'x');
  EXPECT_FALSE(store.load_secrets());
}

TEST(AmzDate, RoundTrips) {
  auto t = parse_amz_date("20150830T123600Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(amz_date(*t), "20150830T123600Z");
  EXPECT_FALSE(parse_amz_date("2015-08-30T12:36:00Z"));
  EXPECT_FALSE(parse_amz_date("20151330T123600Z"));
  // Found by fuzz_sigv4: a far-future year overflowed system_clock (UBSan).
  EXPECT_FALSE(parse_amz_date("99991231T235959Z"));
  EXPECT_FALSE(parse_amz_date("19001231T235959Z"));
}

}  // namespace
}  // namespace lambdad::auth
