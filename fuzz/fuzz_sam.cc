// Raw bytes -> the SAM template reader (cli/sam.h): parse_sam_template, which runs the YAML
// subset parser (parse_yaml) and then the AWS::Serverless::Function model over its tree.
#include <string_view>

#include "cli/sam.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto yaml = lambdad::cli::parse_yaml(text);
  auto sam = lambdad::cli::parse_sam_template(text);
  // Both read the same YAML: a document parse_yaml rejects cannot be a valid template.
  if (!yaml.ok() && sam.ok()) __builtin_trap();
  return 0;
}
