// The YAML subset reader and SAM template model behind `lambdad deploy` (src/cli/sam.h).
#include "cli/sam.h"

#include <gtest/gtest.h>

namespace lambdad::cli {
namespace {

YamlNode parse_ok(std::string_view text) {
  auto r = parse_yaml(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : YamlNode{};
}

TEST(YamlTest, ParsesNestedMappingsSequencesAndScalars) {
  YamlNode n = parse_ok(R"(---
# comment
a: 1
b:
  c: "quoted # not a comment"   # a comment
  d: 'it''s'
  e: plain text: with colon
list:
  - x
  - "y"
  -
    nested: true
same_indent:
- one
- two
items:
  - name: first
    value: 1
  - name: second
flow: [a, "b, c", 3]
map: {K: v, L: "w"}
empty:
tilde: ~
url: http://x:1/y#frag
)");
  ASSERT_EQ(n.kind, YamlNode::Kind::kMap);
  EXPECT_EQ(n.get("a")->scalar, "1");
  EXPECT_EQ(n.get("b")->get("c")->scalar, "quoted # not a comment");
  EXPECT_EQ(n.get("b")->get("d")->scalar, "it's");
  EXPECT_EQ(n.get("b")->get("e")->scalar, "plain text: with colon");
  const YamlNode* list = n.get("list");
  ASSERT_EQ(list->kind, YamlNode::Kind::kSeq);
  ASSERT_EQ(list->seq.size(), 3u);
  EXPECT_EQ(list->seq[1].scalar, "y");
  EXPECT_EQ(list->seq[2].get("nested")->scalar, "true");
  ASSERT_EQ(n.get("same_indent")->seq.size(), 2u);
  EXPECT_EQ(n.get("same_indent")->seq[1].scalar, "two");
  const YamlNode* items = n.get("items");
  ASSERT_EQ(items->seq.size(), 2u);
  EXPECT_EQ(items->seq[0].get("name")->scalar, "first");
  EXPECT_EQ(items->seq[0].get("value")->scalar, "1");
  EXPECT_EQ(items->seq[1].get("name")->scalar, "second");
  const YamlNode* flow = n.get("flow");
  ASSERT_EQ(flow->seq.size(), 3u);
  EXPECT_EQ(flow->seq[1].scalar, "b, c");
  EXPECT_EQ(n.get("map")->get("L")->scalar, "w");
  EXPECT_EQ(n.get("empty")->kind, YamlNode::Kind::kNull);
  EXPECT_EQ(n.get("tilde")->kind, YamlNode::Kind::kNull);
  EXPECT_EQ(n.get("url")->scalar, "http://x:1/y#frag");
}

TEST(YamlTest, DecodesDoubleQuotedEscapes) {
  YamlNode n = parse_ok(R"(s: "a\"b\\c\nd\u00e9")");
  EXPECT_EQ(n.get("s")->scalar, "a\"b\\c\nd\xc3\xa9");
}

TEST(YamlTest, KeepsTagsOnScalars) {
  YamlNode n = parse_ok("Role: !GetAtt MyRole.Arn\nRef: !Ref Other\n");
  EXPECT_EQ(n.get("Role")->tag, "!GetAtt");
  EXPECT_EQ(n.get("Role")->scalar, "MyRole.Arn");
  EXPECT_EQ(n.get("Ref")->tag, "!Ref");
}

TEST(YamlTest, ReadsLiteralAndFoldedBlockScalars) {
  YamlNode n = parse_ok("lit: |\n  line one\n\n  line two\nfold: >\n  a\n  b\nnext: 1\n");
  EXPECT_EQ(n.get("lit")->scalar, "line one\n\nline two\n");
  EXPECT_EQ(n.get("fold")->scalar, "a b\n");
  EXPECT_EQ(n.get("next")->scalar, "1");
}

TEST(YamlTest, RejectsWhatTheSubsetDoesNotSupport) {
  const char* bad[] = {
      "a: &anchor 1\n",     // anchors
      "a: *alias\n",        // aliases
      "a:\n\tb: 1\n",       // tabs
      "a: 1\n---\nb: 2\n",  // multiple documents
      "a: \"open\n",        // unterminated quote
      "a: 1\na: 2\n",       // duplicate key
      "a: 1\n  b: 2\n",     // bad indentation
      "just text\nmore\n",  // not a mapping
      "a: [1, 2\n",         // flow over lines
  };
  for (const char* text : bad) {
    auto r = parse_yaml(text);
    EXPECT_FALSE(r.ok()) << text;
    if (!r.ok()) {
      EXPECT_NE(r.error().context.find("line "), std::string::npos) << text;
    }
  }
}

constexpr const char* kTemplate = R"(AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 10
    MemorySize: 256
    Runtime: provided.al2023
    Environment:
      Variables:
        STAGE: dev
        SHARED: global
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Handler: bootstrap
      MemorySize: 512
      Description: says hello
      Role: arn:aws:iam::123456789012:role/r
      Architectures: [arm64]
      Environment:
        Variables:
          SHARED: mine
      Events:
        Api:
          Type: HttpApi
          Properties:
            Path: /hello
            Method: GET
  Named:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: custom-name
      CodeUri: .
      Role: !GetAtt SomeRole.Arn
  Bucket:
    Type: AWS::S3::Bucket
)";

TEST(SamTest, AppliesGlobalsThenFunctionProperties) {
  auto t = parse_sam_template(kTemplate);
  ASSERT_TRUE(t.ok()) << t.error().message();
  ASSERT_EQ(t->functions.size(), 2u);
  const SamFunction& hello = t->functions[0];
  EXPECT_EQ(hello.logical_id, "HelloFunction");
  EXPECT_EQ(hello.function_name, "HelloFunction");
  EXPECT_EQ(hello.code_uri, "hello/");
  EXPECT_EQ(hello.memory_size, 512);  // overrides Globals
  EXPECT_EQ(hello.timeout, 10);       // from Globals
  EXPECT_EQ(hello.runtime, "provided.al2023");
  EXPECT_EQ(hello.description, "says hello");
  EXPECT_EQ(hello.role, "arn:aws:iam::123456789012:role/r");
  EXPECT_EQ(hello.architectures, std::vector<std::string>{"arm64"});
  EXPECT_EQ(hello.environment.at("STAGE"), "dev");
  EXPECT_EQ(hello.environment.at("SHARED"), "mine");
  ASSERT_EQ(hello.events.size(), 1u);
  EXPECT_EQ(hello.events[0].type, "HttpApi");
  EXPECT_EQ(hello.events[0].properties.get("Path")->scalar, "/hello");

  const SamFunction& named = t->functions[1];
  EXPECT_EQ(named.function_name, "custom-name");
  EXPECT_EQ(named.memory_size, 256);
  EXPECT_EQ(named.handler, "bootstrap");  // default
  EXPECT_EQ(named.architectures, std::vector<std::string>{"x86_64"});
  EXPECT_TRUE(named.role.empty());  // !GetAtt is not a usable ARN here
  EXPECT_EQ(t->skipped, std::vector<std::string>{"Bucket (AWS::S3::Bucket)"});
}

TEST(SamTest, RejectsFunctionsWithoutCodeUriOrWithBadTypes) {
  auto no_code = parse_sam_template(
      "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
      "      Handler: bootstrap\n");
  ASSERT_FALSE(no_code.ok());
  EXPECT_NE(no_code.error().context.find("Resources.F.Properties.CodeUri"), std::string::npos);

  auto bad_mem = parse_sam_template(
      "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
      "      CodeUri: .\n      MemorySize: lots\n");
  ASSERT_FALSE(bad_mem.ok());
  EXPECT_NE(bad_mem.error().context.find("MemorySize"), std::string::npos);

  auto inline_code = parse_sam_template(
      "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
      "      InlineCode: x\n");
  EXPECT_FALSE(inline_code.ok());

  EXPECT_FALSE(parse_sam_template("AWSTemplateFormatVersion: x\n").ok());
}

}  // namespace
}  // namespace lambdad::cli
