// `lambdad new` project layout (src/cli/scaffold.cc); the e2e test builds and deploys one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/commands_dev.h"
#include "cli/sam.h"

namespace lambdad::cli {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ScaffoldTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "lambdad-new-test-XXXXXX").string();
    root_ = ::mkdtemp(tmpl.data());
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(ScaffoldTest, EchoProjectHasBuildTestAndSamTemplate) {
  const fs::path dir = root_ / "demo";
  auto files = scaffold_project(dir.string(), "my-demo", "echo", "/opt/lambdad/sdk");
  ASSERT_TRUE(files.ok()) << files.error().message();
  for (const char* f : {"CMakeLists.txt", "template.yaml", "src/main.cc", "src/handler.cc",
                        "src/handler.h", "test/handler_test.cc", ".gitignore"}) {
    EXPECT_TRUE(fs::is_regular_file(dir / f)) << f;
  }
  const std::string cmake = read(dir / "CMakeLists.txt");
  EXPECT_NE(cmake.find(R"(set(LAMBDAD_SDK_DIR "/opt/lambdad/sdk" CACHE PATH)"), std::string::npos);
  EXPECT_NE(cmake.find("lambdad_add_function(my-demo SOURCES"), std::string::npos);
  EXPECT_NE(cmake.find("add_test(NAME my-demo_test"), std::string::npos);
  EXPECT_EQ(cmake.find('@'), std::string::npos) << "unfilled placeholder";

  auto tpl = parse_sam_template(read(dir / "template.yaml"));
  ASSERT_TRUE(tpl.ok()) << tpl.error().message();
  ASSERT_EQ(tpl->functions.size(), 1u);
  const SamFunction& fn = tpl->functions[0];
  EXPECT_EQ(fn.logical_id, "MyDemoFunction");
  EXPECT_EQ(fn.function_name, "my-demo");
  EXPECT_EQ(fn.code_uri, ".");
  EXPECT_EQ(fn.handler, "bootstrap");
  EXPECT_EQ(fn.runtime, "provided.al2023");
  EXPECT_EQ(fn.memory_size, 128);
  EXPECT_EQ(fn.timeout, 3);
  EXPECT_EQ(fn.architectures, std::vector<std::string>{"x86_64"});
  EXPECT_TRUE(fn.events.empty());
}

TEST_F(ScaffoldTest, HttpTemplateUsesHttpHelpersAndDeclaresAnHttpApiEvent) {
  const fs::path dir = root_ / "web";
  ASSERT_TRUE(scaffold_project(dir.string(), "web", "http", "/sdk").ok());
  EXPECT_NE(read(dir / "src/main.cc").find("lambdad::http::handler(handle)"), std::string::npos);
  EXPECT_NE(read(dir / "src/handler.cc").find("hello from web"), std::string::npos);
  auto tpl = parse_sam_template(read(dir / "template.yaml"));
  ASSERT_TRUE(tpl.ok()) << tpl.error().message();
  ASSERT_EQ(tpl->functions.at(0).events.size(), 1u);
  EXPECT_EQ(tpl->functions[0].events[0].type, "HttpApi");
}

TEST_F(ScaffoldTest, RefusesBadNameUnknownTemplateAndNonEmptyDir) {
  EXPECT_EQ(scaffold_project((root_ / "a").string(), "bad name", "echo", "/sdk").error().code,
            Code::kInvalidArgument);
  EXPECT_EQ(scaffold_project((root_ / "b").string(), "ok", "rust", "/sdk").error().code,
            Code::kInvalidArgument);
  std::ofstream(root_ / "keep.txt") << "x";
  EXPECT_EQ(scaffold_project(root_.string(), "ok", "echo", "/sdk").error().code, Code::kConflict);
  EXPECT_EQ(read(root_ / "keep.txt"), "x");
}

TEST(ScaffoldDefaultsTest, DefaultSdkDirIsThisCheckoutsSdk) {
  EXPECT_TRUE(fs::is_regular_file(fs::path(default_sdk_dir()) / "include/lambdad/runtime.h"))
      << default_sdk_dir();
}

}  // namespace
}  // namespace lambdad::cli
