// Access keys the operator creates with `lambdad keys add`, kept in <data_dir>/keys.db.
//
// SigV4 is an HMAC keyed by the secret itself, so the server must hold the plaintext secret
// to recompute a signature: a one-way hash (as for passwords) cannot verify anything. The
// secrets are therefore encrypted at rest with AES-256-GCM (access key id as associated
// data) under a per-data-dir master key in <data_dir>/master.key (32 random bytes, mode
// 0600). Copying keys.db alone reveals nothing; whoever can read master.key can sign.
//
// keys.db is a text file, mode 0600, one key a line, replaced atomically (write + rename):
//   v1 <TAB> AKID <TAB> created <TAB> hex(name) <TAB> hex(nonce) <TAB> hex(ciphertext+tag)
// Thread rules: a KeyStore is a value over two paths; concurrent writers from two processes
// may lose an update (last rename wins).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace lambdad::auth {

struct AccessKey {
  std::string id;       // "AKIA" + 16 of [A-Z2-7]
  std::string name;     // operator's label, may be ""
  std::string created;  // Lambda timestamp format
  std::string secret;   // 40 characters; filled only by add() and load_secrets()
};

class KeyStore {
 public:
  explicit KeyStore(std::string data_dir);

  // Creates a key (and master.key on first use) and returns it with its secret.
  Result<AccessKey> add(const std::string& name);
  // Keys without secrets, in file order.
  Result<std::vector<AccessKey>> list() const;
  // Keys with decrypted secrets.
  Result<std::vector<AccessKey>> load_secrets() const;
  // kNotFound when no such key.
  Result<void> remove(const std::string& id);

  const std::string& keys_path() const { return keys_path_; }

 private:
  Result<std::vector<AccessKey>> read(bool decrypt) const;
  Result<std::string> master_key(bool create) const;

  std::string data_dir_;
  std::string keys_path_;
  std::string master_path_;
};

}  // namespace lambdad::auth
