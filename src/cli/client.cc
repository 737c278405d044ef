// Client subcommands that talk to a lambdad (or AWS) endpoint over the control API.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "cli/cli.h"
#include "cli/http_client.h"
#include "common/encoding.h"

namespace lambdad::cli {

std::string endpoint_url(Args& args) {
  for (size_t i = 0; i + 1 < args.rest.size(); ++i) {
    if (args.rest[i] == "--endpoint-url") {
      std::string v = args.rest[i + 1];
      args.rest.erase(args.rest.begin() + static_cast<long>(i),
                      args.rest.begin() + static_cast<long>(i) + 2);
      return v;
    }
  }
  if (const char* v = std::getenv("AWS_ENDPOINT_URL_LAMBDA"); v && *v) return v;
  if (const char* v = std::getenv("AWS_ENDPOINT_URL"); v && *v) return v;
  return "http://127.0.0.1:9001";
}

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int invoke(Args& args) {
  const std::string url = endpoint_url(args);
  std::string name, payload;
  bool log = false;
  std::string type = "RequestResponse";
  for (size_t i = 0; i < args.rest.size(); ++i) {
    const std::string& a = args.rest[i];
    if ((a == "-d" || a == "--payload") && i + 1 < args.rest.size())
      payload = args.rest[++i];
    else if (a == "--payload-file" && i + 1 < args.rest.size())
      payload = read_file(args.rest[++i]);
    else if (a == "--log")
      log = true;
    else if (a == "--event")
      type = "Event";
    else if (name.empty() && !a.starts_with("-"))
      name = a;
    else {
      std::fprintf(stderr,
                   "usage: lambdad invoke NAME [-d JSON | --payload-file F] [--log] "
                   "[--event] [--endpoint-url URL]\n");
      return 2;
    }
  }
  if (name.empty()) {
    std::fprintf(stderr, "usage: lambdad invoke NAME [-d JSON | --payload-file F] [--log]\n");
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> headers{{"X-Amz-Invocation-Type", type}};
  if (log) headers.emplace_back("X-Amz-Log-Type", "Tail");
  HttpReply r =
      http_call(url, "POST", "/2015-03-31/functions/" + name + "/invocations", headers, payload);
  if (r.status == 0) {
    std::fprintf(stderr, "lambdad invoke: cannot reach %s: %s\n", url.c_str(), r.error.c_str());
    return 1;
  }
  if (log && r.headers.count("x-amz-log-result")) {
    auto text = base64_decode(r.headers["x-amz-log-result"]);
    if (text) std::fwrite(text->data(), 1, text->size(), stderr);
  }
  std::fwrite(r.body.data(), 1, r.body.size(), stdout);
  if (!r.body.empty() && r.body.back() != '\n') std::fputc('\n', stdout);
  if (r.status >= 300) return 1;
  if (r.headers.count("x-amz-function-error")) return 1;
  return 0;
}

int rm(Args& args) {
  const std::string url = endpoint_url(args);
  if (args.rest.empty()) {
    std::fprintf(stderr, "usage: lambdad rm NAME... [--endpoint-url URL]\n");
    return 2;
  }
  int rc = 0;
  for (const std::string& name : args.rest) {
    HttpReply r = http_call(url, "DELETE", "/2015-03-31/functions/" + name);
    if (r.status == 0) {
      std::fprintf(stderr, "lambdad rm: cannot reach %s: %s\n", url.c_str(), r.error.c_str());
      return 1;
    }
    if (r.status == 204 || r.status == 200) {
      std::printf("deleted %s\n", name.c_str());
    } else {
      std::fprintf(stderr, "lambdad rm %s: %d %s\n", name.c_str(), r.status, r.body.c_str());
      rc = 1;
    }
  }
  return rc;
}

int logs(Args& args) {
  std::string data_dir = "./.lambdad";
  std::string name;
  bool follow = false;
  for (size_t i = 0; i < args.rest.size(); ++i) {
    const std::string& a = args.rest[i];
    if (a == "--data-dir" && i + 1 < args.rest.size())
      data_dir = args.rest[++i];
    else if (a == "--follow" || a == "-f")
      follow = true;
    else if (name.empty() && !a.starts_with("-"))
      name = a;
    else {
      std::fprintf(stderr, "usage: lambdad logs NAME [--follow] [--data-dir DIR]\n");
      return 2;
    }
  }
  if (name.empty()) {
    std::fprintf(stderr, "usage: lambdad logs NAME [--follow] [--data-dir DIR]\n");
    return 2;
  }
  const std::string path = data_dir + "/logs/" + name + ".log";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && !follow) {
    std::fprintf(stderr, "lambdad logs: no logs for %s (%s)\n", name.c_str(), path.c_str());
    return 1;
  }
  char buf[65536];
  ino_t inode = 0;
  for (;;) {
    if (fd >= 0) {
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        std::fwrite(buf, 1, size_t(n), stdout);
      }
      std::fflush(stdout);
      struct stat st {};
      if (::fstat(fd, &st) == 0) inode = st.st_ino;
    }
    if (!follow) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    // Rotation: reopen when the path now names another file.
    struct stat now {};
    if (::stat(path.c_str(), &now) == 0 && (fd < 0 || now.st_ino != inode)) {
      if (fd >= 0) ::close(fd);
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    }
  }
  if (fd >= 0) ::close(fd);
  return 0;
}

}  // namespace lambdad::cli
