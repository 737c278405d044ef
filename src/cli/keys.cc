// `lambdad keys add|ls|rm`: the server's access keys (auth/key_store.h), on the data dir.
#include <cstdio>
#include <string>

#include "auth/key_store.h"
#include "cli/cli.h"

namespace lambdad::cli {

namespace {
int keys_usage() {
  std::fprintf(stderr,
               "usage: lambdad keys add [--name NAME] [--data-dir DIR]\n"
               "       lambdad keys ls [--data-dir DIR]\n"
               "       lambdad keys rm AKID [--data-dir DIR]\n");
  return 2;
}
}  // namespace

int keys(Args& args) {
  std::string data_dir = "./.lambdad";
  std::string name;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.rest.size(); ++i) {
    const std::string& a = args.rest[i];
    if ((a == "--data-dir" || a == "--name") && i + 1 < args.rest.size()) {
      (a == "--data-dir" ? data_dir : name) = args.rest[++i];
    } else if (a.starts_with("--")) {
      return keys_usage();
    } else {
      positional.push_back(a);
    }
  }
  if (positional.empty()) return keys_usage();
  auth::KeyStore store(data_dir);
  const std::string& cmd = positional[0];
  if (cmd == "add" && positional.size() == 1) {
    if (name.find_first_of("\t\n") != std::string::npos) return keys_usage();
    auto key = store.add(name);
    if (!key) {
      std::fprintf(stderr, "lambdad keys: %s\n", key.error().message().c_str());
      return 1;
    }
    std::printf("AccessKeyId:     %s\nSecretAccessKey: %s\n", key->id.c_str(), key->secret.c_str());
    std::fprintf(stderr,
                 "The secret is shown only now. Use it as aws_secret_access_key; a running "
                 "server picks the key up on its next request.\n");
    return 0;
  }
  if (cmd == "ls" && positional.size() == 1) {
    auto keys = store.list();
    if (!keys) {
      std::fprintf(stderr, "lambdad keys: %s\n", keys.error().message().c_str());
      return 1;
    }
    for (const auto& k : *keys)
      std::printf("%s\t%s\t%s\n", k.id.c_str(), k.created.c_str(), k.name.c_str());
    return 0;
  }
  if (cmd == "rm" && positional.size() == 2) {
    if (auto r = store.remove(positional[1]); !r) {
      std::fprintf(stderr, "lambdad keys: %s\n", r.error().message().c_str());
      return 1;
    }
    return 0;
  }
  return keys_usage();
}

}  // namespace lambdad::cli
