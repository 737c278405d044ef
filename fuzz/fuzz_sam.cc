// SAM template parsing (the YAML subset in src/cli/sam.h).
#include <string_view>

#include "cli/sam.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)lambdad::cli::parse_sam_template(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
