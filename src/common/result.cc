#include "common/result.h"

#include <cstdio>
#include <cstring>

namespace lambdad {

std::string Error::message() const {
  if (err_no == 0) return context;
  char buf[256];
  const char* text = strerror_r(err_no, buf, sizeof buf);  // GNU variant returns the text
  return context + ": " + text;
}

void check_failed(const char* cond, const char* why, const char* file, int line) {
  std::fprintf(stderr, "lambdad: check failed at %s:%d: %s (%s)\n", file, line, cond, why);
  std::abort();
}

}  // namespace lambdad
