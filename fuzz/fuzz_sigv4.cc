// SigV4 verification on hostile input: the Authorization header, X-Amz-Date, path and query.
// Input: four fields separated by '\n': authorization, x-amz-date, path, query; the rest is
// the body.
#include <cstdlib>
#include <filesystem>
#include <string>

#include "auth/key_store.h"
#include "auth/verifier.h"

using namespace lambdad;

namespace {
auth::Verifier& verifier() {
  static auth::Verifier* v = [] {
    char tmpl[] = "/tmp/lambdad-fuzz-sigv4-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    auto key = auth::KeyStore(dir).add("fuzz");
    if (!key) std::abort();
    return new auth::Verifier(dir);
  }();
  return *v;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view f[4];
  for (auto& field : f) {
    const size_t nl = in.find('\n');
    field = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  std::vector<std::pair<std::string, std::string>> headers = {
      {"authorization", std::string(f[0])}, {"x-amz-date", std::string(f[1])}, {"host", "h"}};
  auth::SignedRequest r{"POST", f[2], f[3], &headers, in};
  (void)verifier().verify(r, std::chrono::system_clock::now());
  std::string why;
  if (auto a = auth::parse_authorization(f[0], &why))
    (void)auth::canonical_request(r, a->signed_headers);
  return 0;
}
