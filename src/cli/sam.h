// AWS SAM templates for `lambdad deploy`: a YAML-subset reader and the
// AWS::Serverless::Function model it feeds. Pure functions over strings; any thread.
//
// YAML subset: block mappings and sequences (a sequence may sit at its key's indentation),
// plain, 'single' and "double" quoted scalars, flow sequences/mappings of scalars on one line
// ([a, b], {K: v}), literal | and folded > block scalars, # comments, a leading `---`, and
// tags such as !Ref kept as Node::tag. Not supported (an error naming the line): anchors and
// aliases, multi-line plain or quoted scalars, multiple documents, tabs for indentation.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace lambdad::cli {

struct YamlNode {
  enum class Kind { kNull, kScalar, kMap, kSeq };
  // A mapping entry. Not std::pair: clang 14 with libstdc++ rejects a pair of this
  // still-incomplete type here (the SAM fuzz target is built with clang).
  struct Entry;
  Kind kind = Kind::kNull;
  std::string scalar;         // kScalar: the decoded text
  std::string tag;            // e.g. "!Ref", or empty
  std::vector<Entry> map;     // kMap, in document order
  std::vector<YamlNode> seq;  // kSeq
  int line = 0;               // 1-based, for messages

  // The value of `key` in a mapping, or nullptr (also when this is not a mapping).
  const YamlNode* get(std::string_view key) const;
};

struct YamlNode::Entry {
  std::string first;  // the key
  YamlNode second;    // the value
};

// Parses one YAML document. kInvalidArgument with "line N: why" on anything outside the subset.
Result<YamlNode> parse_yaml(std::string_view text);

struct SamEvent {
  std::string name;  // the event's key under Events
  std::string type;  // HttpApi, Api, Schedule, ... (kept, not acted on by deploy)
  YamlNode properties;
};

// One AWS::Serverless::Function after Globals.Function has been applied.
struct SamFunction {
  std::string logical_id;
  std::string function_name;  // Properties.FunctionName, else the logical id
  std::string code_uri;       // relative to the template's directory
  std::string handler = "bootstrap";
  std::string runtime = "provided.al2023";
  std::string description;
  std::string role;  // Properties.Role when a plain ARN string; else empty
  int memory_size = 128;
  int timeout = 3;
  std::vector<std::string> architectures{"x86_64"};
  std::map<std::string, std::string> environment;  // Globals' variables, then the function's
  std::vector<SamEvent> events;
};

struct SamTemplate {
  std::vector<SamFunction> functions;  // in document order
  std::vector<std::string> skipped;    // "LogicalId (Type)" of resources deploy does not handle
};

// Reads a SAM template. kInvalidArgument naming the resource and property when the template
// has no Resources, a function lacks CodeUri (InlineCode and ImageUri are not supported), or a
// property has the wrong shape (e.g. MemorySize not an integer).
Result<SamTemplate> parse_sam_template(std::string_view yaml);

}  // namespace lambdad::cli
