// Verifier: checks SigV4-signed requests against the data dir's access keys, answering
// with the error AWS returns. Keys are re-read when keys.db changes (inode, size, mtime; stat'ed at
// most once a second, so a removed key stops working within a second). Derived signing keys are
// cached per (key, date, region, service), so a request costs one SHA-256 of the body, one of the
// canonical request and one HMAC.
//
// Auth is on once any key has been seen and stays on for the life of the process: removing
// the last key locks everyone out instead of opening the server.
// Thread rules: every method may be called from any thread (one internal mutex; hashing the
// body happens outside it).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "auth/key_store.h"
#include "auth/sigv4.h"

namespace lambdad::auth {

// What to answer instead of serving the request (status 403, an AWS error type, message).
struct Denial {
  int status = 403;
  std::string type;
  std::string message;
};

class Verifier {
 public:
  explicit Verifier(std::string data_dir, std::chrono::milliseconds recheck = kRecheck);

  // True when requests must be signed (keys exist or existed). Re-reads keys if changed.
  bool enabled();
  // nullopt: let the request through (signed correctly, or auth is off).
  std::optional<Denial> verify(const SignedRequest& request,
                               std::chrono::system_clock::time_point now);
  // Last error reading keys.db (""), for the operator's log.
  std::string load_error();

  static constexpr std::chrono::minutes kMaxSkew{15};
  // How stale the key set may be: keys.db is stat'ed at most this often.
  static constexpr std::chrono::milliseconds kRecheck{1000};

 private:
  void refresh_locked();

  KeyStore store_;
  std::mutex mu_;
  bool enabled_ = false;
  std::chrono::milliseconds recheck_;
  bool checked_ = false;
  std::chrono::steady_clock::time_point last_check_;
  ino_t inode_ = 0;
  off_t size_ = -1;
  timespec mtime_{};
  std::map<std::string, std::string> secrets_;  // access key id -> secret
  std::string load_error_;
};

// "YYYYMMDDTHHMMSSZ" for a time point (UTC), and back (nullopt when malformed).
std::string amz_date(std::chrono::system_clock::time_point t);
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view s);

}  // namespace lambdad::auth
