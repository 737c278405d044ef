#include "api/control_api.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>

#include "common/encoding.h"
#include "support/fake_registry.h"
#include "support/zip_builder.h"

namespace lambdad::api {
namespace {

namespace json = boost::json;
using registry::FunctionRecord;

constexpr char kArnPrefix[] = "arn:aws:lambda:us-east-1:000000000000:function:";

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<absent>";
}

json::object body_of(const HttpResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  EXPECT_FALSE(ec) << r.body;
  return v.is_object() ? v.as_object() : json::object{};
}

// The error message whatever its key's case.
std::string message_of(const HttpResponse& r) {
  const json::object o = body_of(r);
  if (const auto* m = o.if_contains("message")) return std::string(m->as_string());
  if (const auto* m = o.if_contains("Message")) return std::string(m->as_string());
  return "<none>";
}

FunctionRecord record(const std::string& name) {
  FunctionRecord fn;
  fn.name = name;
  fn.runtime = "provided.al2023";
  fn.handler = "bootstrap";
  fn.role = "arn:aws:iam::123456789012:role/r";
  fn.code_sha256 = "YFgDgEKG3ugvF1+pX64gV6tu9qNuIYNUdgJm8nCxsm4=";
  fn.code_size = 1234;
  fn.package_id = std::string(64, 'a');
  fn.last_modified = "2024-12-06T05:15:39.145+0000";
  fn.revision_id = "rev-1";
  fn.generation = 1;
  return fn;
}

class ControlApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/control_api_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = packages::PackageStore::open(dir_);
    ASSERT_TRUE(store.ok()) << store.error().message();
    store_ = std::make_unique<packages::PackageStore>(std::move(store).value());
    ControlOptions options;
    options.base_url = "http://127.0.0.1:9001";
    ControlEffects effects;
    effects.upserted = [this](const FunctionRecord& fn) { upserted_.push_back(fn); };
    effects.removed = [this](const std::string& name) { removed_.push_back(name); };
    api_ = std::make_unique<ControlApi>(registry_, *store_, options, effects);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  HttpResponse call(const std::string& method, const std::string& path,
                    const std::string& body = "", const std::string& query = "") {
    HttpRequest request;
    request.method = method;
    request.path = path;
    request.query = query;
    request.body = body;
    request.headers.emplace_back("content-type", "application/json");
    return api_->handle(request);
  }

  static std::string create_body(const std::string& name, const std::string& extra = "",
                                 const std::string& zip = testing::bootstrap_zip()) {
    return R"({"FunctionName":")" + name +
           R"(","Runtime":"provided.al2023","Role":"arn:aws:iam::123456789012:role/r",)"
           R"("Handler":"bootstrap","Code":{"ZipFile":")" +
           base64_encode(zip) + "\"}" + extra + "}";
  }

  HttpResponse create(const std::string& name, const std::string& extra = "") {
    return call("POST", "/2015-03-31/functions", create_body(name, extra));
  }

  void expect_error(const HttpResponse& r, int status, const std::string& type,
                    const std::string& message) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(header(r, "x-amzn-ErrorType"), type) << r.body;
    EXPECT_EQ(message_of(r), message);
  }

  std::string dir_;
  testing::FakeRegistry registry_;
  std::unique_ptr<packages::PackageStore> store_;
  std::unique_ptr<ControlApi> api_;
  std::vector<FunctionRecord> upserted_;
  std::vector<std::string> removed_;
};

// ---- routing and protocol errors -------------------------------------------------------

TEST_F(ControlApiTest, UnknownPathIs404UnknownOperation) {
  const HttpResponse r = call("GET", "/2015-03-31/nothing");
  expect_error(r, 404, "UnknownOperationException", "Unknown operation GET /2015-03-31/nothing");
  EXPECT_EQ(body_of(r).at("Type").as_string(), "User");
}

TEST_F(ControlApiTest, KnownPathWrongMethodIs405WithAllow) {
  const HttpResponse r = call("POST", "/2015-03-31/functions/f/code");
  expect_error(r, 405, "UnknownOperationException",
               "Unknown operation POST /2015-03-31/functions/f/code");
  EXPECT_EQ(header(r, "Allow"), "PUT");
}

TEST_F(ControlApiTest, BadJsonIsInvalidRequestContent) {
  const HttpResponse r = call("POST", "/2015-03-31/functions", "{\"FunctionName\":");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "InvalidRequestContentException");
  EXPECT_TRUE(message_of(r).starts_with(
      "Could not parse request body into json: Could not parse payload into json: "))
      << message_of(r);
  EXPECT_TRUE(body_of(r).contains("message"));
  const HttpResponse array = call("POST", "/2015-03-31/functions", "[1]");
  EXPECT_EQ(header(array, "x-amzn-ErrorType"), "InvalidRequestContentException");
}

TEST_F(ControlApiTest, WrongJsonTypesAreInvalidRequestContent) {
  for (const char* extra :
       {R"(,"MemorySize":"big")", R"(,"Timeout":1.5)", R"(,"Publish":"yes")", R"(,"Tags":{"a":1})",
        R"(,"Environment":{"Variables":[1]})", R"(,"Architectures":"x86_64")",
        R"(,"EphemeralStorage":{"Size":"1"})"}) {
    SCOPED_TRACE(extra);
    const HttpResponse r = create("f", extra);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(header(r, "x-amzn-ErrorType"), "InvalidRequestContentException");
  }
  EXPECT_EQ(registry_.size(), 0u);
}

TEST_F(ControlApiTest, EveryResponseIsJson) {
  registry_.put(record("f"));
  for (const HttpResponse& r :
       {call("GET", "/2015-03-31/functions/f"), call("GET", "/2015-03-31/functions/nope"),
        call("GET", "/nope"), call("DELETE", "/2015-03-31/functions/f")})
    EXPECT_EQ(header(r, "Content-Type"), "application/json");
}

// ---- rendering -------------------------------------------------------------------------

TEST_F(ControlApiTest, GetFunctionConfigurationRendersEveryField) {
  FunctionRecord fn = record("f");
  fn.description = "d";
  fn.memory_mb = 256;
  fn.timeout_s = 30;
  fn.ephemeral_mb = 1024;
  fn.architecture = "arm64";
  fn.environment = {{"A1", "x"}, {"B2", "y"}};
  registry_.put(fn);
  const HttpResponse r = call("GET", "/2015-03-31/functions/f/configuration");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(
      r.body,
      R"({"FunctionName":"f","FunctionArn":"arn:aws:lambda:us-east-1:000000000000:function:f",)"
      R"("Runtime":"provided.al2023","Role":"arn:aws:iam::123456789012:role/r",)"
      R"("Handler":"bootstrap","CodeSize":1234,"Description":"d","Timeout":30,"MemorySize":256,)"
      R"("LastModified":"2024-12-06T05:15:39.145+0000",)"
      R"("CodeSha256":"YFgDgEKG3ugvF1+pX64gV6tu9qNuIYNUdgJm8nCxsm4=","Version":"$LATEST",)"
      R"("Environment":{"Variables":{"A1":"x","B2":"y"}},"TracingConfig":{"Mode":"PassThrough"},)"
      R"("RevisionId":"rev-1","State":"Active","LastUpdateStatus":"Successful",)"
      R"("PackageType":"Zip","Architectures":["arm64"],"EphemeralStorage":{"Size":1024},)"
      R"("SnapStart":{"ApplyOn":"None","OptimizationStatus":"Off"},)"
      R"("LoggingConfig":{"LogFormat":"Text","LogGroup":"/aws/lambda/f"}})");
}

TEST_F(ControlApiTest, RenderingOmitsEmptyEnvironmentAndUnsetMembersAndNeverNull) {
  FunctionRecord fn = record("f");
  fn.runtime.clear();
  fn.handler.clear();
  registry_.put(fn);
  const HttpResponse r = call("GET", "/2015-03-31/functions/f/configuration");
  const json::object o = body_of(r);
  EXPECT_FALSE(o.contains("Environment"));
  EXPECT_FALSE(o.contains("Runtime"));
  EXPECT_FALSE(o.contains("Handler"));
  EXPECT_FALSE(o.contains("RuntimeVersionConfig"));
  EXPECT_EQ(o.at("Description").as_string(), "");
  EXPECT_EQ(r.body.find("null"), std::string::npos);
}

TEST_F(ControlApiTest, GetFunctionAddsCodeLocationAndTags) {
  FunctionRecord fn = record("f");
  fn.tags = {{"team", "a"}};
  registry_.put(fn);
  const HttpResponse r = call("GET", "/2015-03-31/functions/f");
  ASSERT_EQ(r.status, 200);
  const json::object o = body_of(r);
  EXPECT_EQ(o.at("Configuration").at("FunctionName").as_string(), "f");
  EXPECT_EQ(o.at("Code").at("RepositoryType").as_string(), "S3");
  EXPECT_EQ(o.at("Code").at("Location").as_string(),
            "http://127.0.0.1:9001/lambdad/packages/" + std::string(64, 'a') + ".zip");
  EXPECT_EQ(o.at("Tags").at("team").as_string(), "a");
  registry_.put(record("g"));
  EXPECT_FALSE(body_of(call("GET", "/2015-03-31/functions/g")).contains("Tags"));
}

// ---- names and qualifiers --------------------------------------------------------------

TEST_F(ControlApiTest, AcceptsEveryNameFormPercentEncoded) {
  registry_.put(record("f"));
  for (const char* label :
       {"f", "f%3A%24LATEST", "000000000000%3Afunction%3Af",
        "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af",
        "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af%3A%24LATEST"}) {
    SCOPED_TRACE(label);
    const HttpResponse r = call("GET", std::string("/2015-03-31/functions/") + label);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(body_of(r).at("Configuration").at("FunctionArn").as_string(),
              std::string(kArnPrefix) + "f");
  }
  EXPECT_EQ(call("GET", "/2015-03-31/functions/f", "", "Qualifier=%24LATEST").status, 200);
}

TEST_F(ControlApiTest, VersionOrAliasQualifierIsNotFoundForNow) {
  registry_.put(record("f"));
  expect_error(call("GET", "/2015-03-31/functions/f%3A1"), 404, "ResourceNotFoundException",
               std::string("Function not found: ") + kArnPrefix + "f:1");
  expect_error(call("GET", "/2015-03-31/functions/f/configuration", "", "Qualifier=live"), 404,
               "ResourceNotFoundException",
               std::string("Function not found: ") + kArnPrefix + "f:live");
}

TEST_F(ControlApiTest, ConflictingQualifiersAreInvalidParameter) {
  registry_.put(record("f"));
  expect_error(call("GET", "/2015-03-31/functions/f%3A%24LATEST", "", "Qualifier=1"), 400,
               "InvalidParameterValueException",
               "The derived qualifier from the function name does not match the specified "
               "qualifier.");
}

TEST_F(ControlApiTest, InvalidNameIsValidationException) {
  const HttpResponse r = call("GET", "/2015-03-31/functions/bad%20name");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "ValidationException");
  EXPECT_TRUE(message_of(r).starts_with(
      "1 validation error detected: Value 'bad name' at 'functionName' failed to satisfy "
      "constraint: Member must satisfy regular expression pattern: (arn:"))
      << message_of(r);
}

TEST_F(ControlApiTest, OtherAccountOrRegionIsNotFound) {
  registry_.put(record("f"));
  expect_error(call("GET", "/2015-03-31/functions/111111111111%3Afunction%3Af"), 404,
               "ResourceNotFoundException",
               "Function not found: arn:aws:lambda:us-east-1:111111111111:function:f");
  EXPECT_EQ(
      call("GET",
           "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A000000000000%3Afunction%3Af")
          .status,
      404);
}

TEST_F(ControlApiTest, MissingFunctionIsNotFoundWithCapitalMessage) {
  const HttpResponse r = call("GET", "/2015-03-31/functions/nope");
  expect_error(r, 404, "ResourceNotFoundException",
               std::string("Function not found: ") + kArnPrefix + "nope");
  EXPECT_EQ(r.body, std::string(R"({"Type":"User","Message":"Function not found: )") + kArnPrefix +
                        R"(nope"})");
}

// ---- ListFunctions -----------------------------------------------------------------------

TEST_F(ControlApiTest, ListFunctionsPaginatesWithMarker) {
  for (int i = 0; i < 5; ++i) registry_.put(record("f" + std::to_string(i)));
  HttpResponse r = call("GET", "/2015-03-31/functions/", "", "MaxItems=2");
  ASSERT_EQ(r.status, 200);
  json::object o = body_of(r);
  ASSERT_EQ(o.at("Functions").as_array().size(), 2u);
  EXPECT_EQ(o.at("Functions").as_array()[0].at("FunctionName").as_string(), "f0");
  ASSERT_TRUE(o.contains("NextMarker"));
  const std::string marker(o.at("NextMarker").as_string());
  r = call("GET", "/2015-03-31/functions/", "", "MaxItems=10&Marker=" + marker);
  o = body_of(r);
  ASSERT_EQ(o.at("Functions").as_array().size(), 3u);
  EXPECT_EQ(o.at("Functions").as_array()[0].at("FunctionName").as_string(), "f2");
  EXPECT_FALSE(o.contains("NextMarker"));
}

TEST_F(ControlApiTest, ListFunctionsCapsPagesAtFifty) {
  for (int i = 0; i < 60; ++i) registry_.put(record("f" + std::to_string(100 + i)));
  json::object o = body_of(call("GET", "/2015-03-31/functions/", "", "MaxItems=10000"));
  EXPECT_EQ(o.at("Functions").as_array().size(), 50u);
  EXPECT_TRUE(o.contains("NextMarker"));
  o = body_of(call("GET", "/2015-03-31/functions/"));
  EXPECT_EQ(o.at("Functions").as_array().size(), 50u);
  EXPECT_EQ(registry_.last_list_max_items, 50);
}

TEST_F(ControlApiTest, ListItemsOmitStateFields) {
  registry_.put(record("f"));
  const json::object item =
      body_of(call("GET", "/2015-03-31/functions/")).at("Functions").as_array()[0].as_object();
  EXPECT_FALSE(item.contains("State"));
  EXPECT_FALSE(item.contains("LastUpdateStatus"));
  EXPECT_EQ(item.at("Version").as_string(), "$LATEST");
}

TEST_F(ControlApiTest, ListFunctionsValidatesMaxItems) {
  expect_error(call("GET", "/2015-03-31/functions/", "", "MaxItems=0"), 400, "ValidationException",
               "1 validation error detected: Value '0' at 'maxItems' failed to satisfy "
               "constraint: Member must have value greater than or equal to 1");
  EXPECT_EQ(call("GET", "/2015-03-31/functions/", "", "MaxItems=x").status, 400);
  EXPECT_EQ(call("GET", "/2015-03-31/functions/", "", "FunctionVersion=ALL").status, 200);
}

TEST_F(ControlApiTest, ListOfNothingIsEmptyArray) {
  EXPECT_EQ(call("GET", "/2015-03-31/functions/").body, R"({"Functions":[]})");
}

// ---- CreateFunction ----------------------------------------------------------------------

TEST_F(ControlApiTest, CreateStoresCodeAndRecordAndAnswers201) {
  const std::string zip = testing::bootstrap_zip();
  const HttpResponse r = call(
      "POST", "/2015-03-31/functions",
      create_body(
          "hello",
          R"(,"MemorySize":512,"Timeout":10,"Description":"x",)"
          R"("Environment":{"Variables":{"GREETING":"hi"}},"Architectures":["arm64"],)"
          R"("EphemeralStorage":{"Size":2048},"Tags":{"k":"v"},"TracingConfig":{"Mode":"PassThrough"})",
          zip));
  ASSERT_EQ(r.status, 201) << r.body;
  const json::object o = body_of(r);
  EXPECT_EQ(o.at("FunctionArn").as_string(), std::string(kArnPrefix) + "hello");
  EXPECT_EQ(o.at("CodeSha256").as_string(), sha256_base64(zip));
  EXPECT_EQ(o.at("CodeSize").as_int64(), static_cast<int64_t>(zip.size()));
  EXPECT_EQ(o.at("MemorySize").as_int64(), 512);
  EXPECT_EQ(o.at("Timeout").as_int64(), 10);
  EXPECT_EQ(o.at("Environment").at("Variables").at("GREETING").as_string(), "hi");
  EXPECT_EQ(o.at("Architectures").as_array()[0].as_string(), "arm64");
  EXPECT_EQ(o.at("EphemeralStorage").at("Size").as_int64(), 2048);
  EXPECT_EQ(o.at("Version").as_string(), "$LATEST");

  const auto stored = registry_.find("hello");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->package_id, sha256_hex(zip));
  EXPECT_EQ(stored->tags.at("k"), "v");
  EXPECT_EQ(stored->revision_id, std::string(o.at("RevisionId").as_string()));
  EXPECT_FALSE(stored->last_modified.empty());
  EXPECT_TRUE(store_->exists(stored->package_id));
  ASSERT_EQ(upserted_.size(), 1u);
  EXPECT_EQ(upserted_[0].name, "hello");

  // Code.Location serves the exact bytes.
  const std::string location(
      body_of(call("GET", "/2015-03-31/functions/hello")).at("Code").at("Location").as_string());
  const std::string path = location.substr(std::string("http://127.0.0.1:9001").size());
  const HttpResponse got = call("GET", path);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(header(got, "Content-Type"), "application/zip");
  EXPECT_EQ(got.body, zip);
}

TEST_F(ControlApiTest, CreateAppliesLambdaDefaults) {
  ASSERT_EQ(create("d").status, 201);
  const auto stored = registry_.find("d");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->memory_mb, 128);
  EXPECT_EQ(stored->timeout_s, 3);
  EXPECT_EQ(stored->ephemeral_mb, 512);
  EXPECT_EQ(stored->architecture, "x86_64");
}

TEST_F(ControlApiTest, CreateByArnStoresThePlainName) {
  const HttpResponse r = create(std::string(kArnPrefix) + "byarn");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_TRUE(registry_.find("byarn"));
}

TEST_F(ControlApiTest, CreateExistingIsConflictAndKeepsTheOldRecord) {
  registry_.put(record("f"));
  expect_error(create("f"), 409, "ResourceConflictException", "Function already exist: f");
  EXPECT_EQ(registry_.find("f")->revision_id, "rev-1");
  EXPECT_TRUE(upserted_.empty());
}

TEST_F(ControlApiTest, CreateRaceLostInRegistryIsConflict) {
  registry_.fail_next_create = Error::make(Code::kConflict, "exists");
  expect_error(create("f"), 409, "ResourceConflictException", "Function already exist: f");
  EXPECT_TRUE(upserted_.empty());
}

TEST_F(ControlApiTest, CreateRegistryFailureChangesNothingElse) {
  registry_.fail_next_create = Error::make(Code::kInternal, "disk on fire");
  const HttpResponse r = create("f");
  expect_error(r, 500, "ServiceException", "disk on fire");
  EXPECT_EQ(body_of(r).at("Type").as_string(), "Service");
  EXPECT_EQ(registry_.size(), 0u);
  EXPECT_TRUE(upserted_.empty());
}

struct RangeCase {
  const char* extra;
  const char* message;
};

TEST_F(ControlApiTest, CreateRangeViolationsAreValidationExceptions) {
  const RangeCase cases[] = {
      {R"(,"MemorySize":100)",
       "1 validation error detected: Value '100' at 'memorySize' failed to satisfy constraint: "
       "Member must have value greater than or equal to 128"},
      {R"(,"MemorySize":10241)",
       "1 validation error detected: Value '10241' at 'memorySize' failed to satisfy constraint: "
       "Member must have value less than or equal to 10240"},
      {R"(,"Timeout":901)",
       "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: "
       "Member must have value less than or equal to 900"},
      {R"(,"Timeout":0)",
       "1 validation error detected: Value '0' at 'timeout' failed to satisfy constraint: "
       "Member must have value greater than or equal to 1"},
      {R"(,"EphemeralStorage":{"Size":511})",
       "1 validation error detected: Value '511' at 'ephemeralStorage.size' failed to satisfy "
       "constraint: Member must have value greater than or equal to 512"},
      {R"(,"EphemeralStorage":{"Size":10241})",
       "1 validation error detected: Value '10241' at 'ephemeralStorage.size' failed to satisfy "
       "constraint: Member must have value less than or equal to 10240"},
      {R"(,"EphemeralStorage":{})",
       "1 validation error detected: Value null at 'ephemeralStorage.size' failed to satisfy "
       "constraint: Member must not be null"},
      {R"(,"Architectures":["mips"])",
       "1 validation error detected: Value '[mips]' at 'architectures' failed to satisfy "
       "constraint: Member must satisfy constraint: [Member must satisfy enum value set: "
       "[x86_64, arm64]]"},
      {R"(,"Architectures":["x86_64","arm64"])",
       "1 validation error detected: Value '[x86_64, arm64]' at 'architectures' failed to "
       "satisfy constraint: Member must have length less than or equal to 1"},
      {R"(,"Timeout":901,"MemorySize":64)",
       "2 validation errors detected: Value '901' at 'timeout' failed to satisfy constraint: "
       "Member must have value less than or equal to 900; Value '64' at 'memorySize' failed to "
       "satisfy constraint: Member must have value greater than or equal to 128"},
  };
  for (const RangeCase& c : cases) {
    SCOPED_TRACE(c.extra);
    const HttpResponse r = create("f", c.extra);
    expect_error(r, 400, "ValidationException", c.message);
    EXPECT_TRUE(body_of(r).contains("message"));
  }
  EXPECT_EQ(registry_.size(), 0u);
  EXPECT_EQ(registry_.creates, 0);
}

TEST_F(ControlApiTest, CreateValidatesDescriptionHandlerRuntimeRole) {
  HttpResponse r = create("f", R"(,"Description":")" + std::string(257, 'd') + "\"");
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "ValidationException");
  EXPECT_NE(message_of(r).find("at 'description' failed to satisfy constraint: Member must have "
                               "length less than or equal to 256"),
            std::string::npos);

  r = call(
      "POST", "/2015-03-31/functions",
      R"({"FunctionName":"f","Runtime":"cobol9","Role":"arn:aws:iam::1:role/r","Handler":"h","Code":{"ZipFile":"UEs="}})");
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "ValidationException");
  EXPECT_TRUE(message_of(r).starts_with(
      "1 validation error detected: Value 'cobol9' at 'runtime' failed to satisfy constraint: "
      "Member must satisfy enum value set: ["))
      << message_of(r);

  r = call("POST", "/2015-03-31/functions",
           R"({"FunctionName":"f","Runtime":"provided","Handler":"h","Code":{"ZipFile":"UEs="}})");
  expect_error(r, 400, "ValidationException",
               "1 validation error detected: Value null at 'role' failed to satisfy constraint: "
               "Member must not be null");

  r = call(
      "POST", "/2015-03-31/functions",
      R"({"FunctionName":"f","Runtime":"provided","Role":"r","Handler":"a b","Code":{"ZipFile":"UEs="}})");
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "ValidationException");
  EXPECT_TRUE(message_of(r).starts_with("2 validation errors detected: Value 'r' at 'role'"))
      << message_of(r);
  EXPECT_NE(message_of(r).find("Value 'a b' at 'handler' failed to satisfy constraint: Member "
                               "must satisfy regular expression pattern: [^\\s]+"),
            std::string::npos);
}

TEST_F(ControlApiTest, CreateNeedsRuntimeAndHandlerForZip) {
  const HttpResponse r = call(
      "POST", "/2015-03-31/functions",
      R"({"FunctionName":"f","Role":"arn:aws:iam::123456789012:role/r","Code":{"ZipFile":"UEs="}})");
  expect_error(r, 400, "InvalidParameterValueException",
               "Runtime and Handler are mandatory parameters for functions created with "
               "deployment packages.");
}

TEST_F(ControlApiTest, CreateRejectsInvalidName) {
  const HttpResponse r = create("bad.name");
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "ValidationException");
  EXPECT_NE(message_of(r).find("Value 'bad.name' at 'functionName'"), std::string::npos);
}

TEST_F(ControlApiTest, CreateRejectsUnsupportedFeaturesClearly) {
  struct Case {
    std::string body;
    std::string needle;
  };
  const std::string base =
      R"({"FunctionName":"f","Runtime":"provided","Role":"arn:aws:iam::123456789012:role/r","Handler":"h",)";
  const Case cases[] = {
      {base + R"("Code":{"S3Bucket":"b","S3Key":"k"}})",
       "Code.S3Bucket is not supported by lambdad"},
      {base + R"("Code":{"ImageUri":"x"}})", "Code.ImageUri is not supported by lambdad"},
      {base + R"("Code":{"ZipFile":"UEs="},"PackageType":"Image"})",
       "PackageType Image is not supported by lambdad"},
      {base + R"("Code":{"ZipFile":"UEs="},"Layers":["arn:aws:lambda:us-east-1:1:layer:x:1"]})",
       "Layers is not supported by lambdad"},
      {base + R"("Code":{"ZipFile":"UEs="},"VpcConfig":{"SubnetIds":["s"]}})",
       "VpcConfig is not supported by lambdad"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    const HttpResponse r = call("POST", "/2015-03-31/functions", c.body);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(header(r, "x-amzn-ErrorType"), "InvalidParameterValueException");
    EXPECT_TRUE(message_of(r).starts_with(c.needle)) << message_of(r);
  }
  // Empty Layers / VpcConfig, as some tools send them, are fine.
  EXPECT_EQ(
      create("ok", R"(,"Layers":[],"VpcConfig":{"SubnetIds":[],"SecurityGroupIds":[]})").status,
      201);
}

TEST_F(ControlApiTest, CreateRejectsUnknownPackageType) {
  const HttpResponse r = create("f", R"(,"PackageType":"Jar")");
  expect_error(r, 400, "ValidationException",
               "1 validation error detected: Value 'Jar' at 'packageType' failed to satisfy "
               "constraint: Member must satisfy enum value set: [Zip, Image]");
}

TEST_F(ControlApiTest, CreateRejectsReservedAndOversizeEnvironment) {
  HttpResponse r = create("f", R"(,"Environment":{"Variables":{"AWS_REGION":"x"}})");
  expect_error(r, 400, "InvalidParameterValueException",
               "Lambda was unable to configure your environment variables because the "
               "environment variables you have provided contains reserved keys that are "
               "currently not supported for modification. Reserved keys used in this request: "
               "AWS_REGION");
  r = create("f", R"(,"Environment":{"Variables":{"BIG":")" + std::string(5000, 'x') + "\"}}");
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "InvalidParameterValueException");
  EXPECT_NE(message_of(r).find("exceeded the 4KB limit. String measured: "), std::string::npos);
  EXPECT_EQ(registry_.size(), 0u);
}

TEST_F(ControlApiTest, CreateRejectsBadBase64AndBadZip) {
  HttpResponse r = call(
      "POST", "/2015-03-31/functions",
      R"({"FunctionName":"f","Runtime":"provided","Role":"arn:aws:iam::123456789012:role/r","Handler":"h","Code":{"ZipFile":"***"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "InvalidParameterValueException");
  r = call("POST", "/2015-03-31/functions", create_body("f", "", "this is not a zip file at all"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "InvalidParameterValueException");
  EXPECT_EQ(registry_.size(), 0u);
  EXPECT_TRUE(upserted_.empty());
}

TEST_F(ControlApiTest, OversizeZipIs413) {
  auto small = packages::PackageStore::open(dir_ + "/small", packages::Limits{16, 1 << 20, 10});
  ASSERT_TRUE(small.ok());
  packages::PackageStore store = std::move(small).value();
  ControlApi api(registry_, store, {}, {});
  HttpRequest request;
  request.method = "POST";
  request.path = "/2015-03-31/functions";
  request.body = create_body("f");
  const HttpResponse r = api.handle(request);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "RequestEntityTooLargeException");
  EXPECT_TRUE(body_of(r).contains("Message"));
}

// ---- UpdateFunctionConfiguration ---------------------------------------------------------

TEST_F(ControlApiTest, UpdateConfigurationChangesFieldsAndRevision) {
  registry_.put(record("f"));
  const HttpResponse r =
      call("PUT", "/2015-03-31/functions/f/configuration",
           R"({"MemorySize":1024,"Timeout":60,"Description":"new","Handler":"main",)"
           R"("Runtime":"nodejs20.x","Role":"arn:aws:iam::123456789012:role/other",)"
           R"("EphemeralStorage":{"Size":4096},"Environment":{"Variables":{"X1":"1"}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto stored = registry_.find("f");
  EXPECT_EQ(stored->memory_mb, 1024);
  EXPECT_EQ(stored->timeout_s, 60);
  EXPECT_EQ(stored->description, "new");
  EXPECT_EQ(stored->handler, "main");
  EXPECT_EQ(stored->runtime, "nodejs20.x");
  EXPECT_EQ(stored->role, "arn:aws:iam::123456789012:role/other");
  EXPECT_EQ(stored->ephemeral_mb, 4096);
  EXPECT_EQ(stored->environment, (std::map<std::string, std::string>{{"X1", "1"}}));
  EXPECT_NE(stored->revision_id, "rev-1");
  EXPECT_EQ(stored->generation, 2);
  EXPECT_NE(stored->last_modified, "2024-12-06T05:15:39.145+0000");
  EXPECT_EQ(body_of(r).at("RevisionId").as_string(), stored->revision_id);
  EXPECT_EQ(stored->code_sha256, record("f").code_sha256);  // code untouched
  ASSERT_EQ(upserted_.size(), 1u);
  EXPECT_EQ(upserted_[0].revision_id, stored->revision_id);
}

TEST_F(ControlApiTest, UpdateConfigurationEnvironmentReplacesTheMap) {
  FunctionRecord fn = record("f");
  fn.environment = {{"OLD", "1"}, {"KEEP", "2"}};
  registry_.put(fn);
  ASSERT_EQ(call("PUT", "/2015-03-31/functions/f/configuration",
                 R"({"Environment":{"Variables":{"NEW":"3"}}})")
                .status,
            200);
  EXPECT_EQ(registry_.find("f")->environment, (std::map<std::string, std::string>{{"NEW", "3"}}));
  ASSERT_EQ(call("PUT", "/2015-03-31/functions/f/configuration", R"({"Environment":{}})").status,
            200);
  EXPECT_TRUE(registry_.find("f")->environment.empty());
  // Absent Environment leaves the map alone.
  ASSERT_EQ(call("PUT", "/2015-03-31/functions/f/configuration",
                 R"({"Environment":{"Variables":{"A1":"x"}}})")
                .status,
            200);
  ASSERT_EQ(call("PUT", "/2015-03-31/functions/f/configuration", R"({"Timeout":5})").status, 200);
  EXPECT_EQ(registry_.find("f")->environment.size(), 1u);
}

TEST_F(ControlApiTest, UpdateConfigurationWithStaleRevisionIs412AndKeepsRecord) {
  registry_.put(record("f"));
  const HttpResponse r = call("PUT", "/2015-03-31/functions/f/configuration",
                              R"({"Timeout":10,"RevisionId":"stale"})");
  expect_error(r, 412, "PreconditionFailedException",
               "The Revision Id provided does not match the latest Revision Id. Call the "
               "GetFunction/GetAlias API to retrieve the latest Revision Id");
  EXPECT_EQ(registry_.find("f")->timeout_s, 3);
  EXPECT_TRUE(upserted_.empty());
  EXPECT_EQ(
      call("PUT", "/2015-03-31/functions/f/configuration", R"({"Timeout":10,"RevisionId":"rev-1"})")
          .status,
      200);
}

TEST_F(ControlApiTest, RegistryPreconditionFailureMaps412WhenClientGaveRevision) {
  registry_.put(record("f"));
  registry_.fail_next_update =
      Error::make(Code::kConflict, "PreconditionFailed: revision changed underneath");
  expect_error(call("PUT", "/2015-03-31/functions/f/configuration",
                    R"({"Timeout":10,"RevisionId":"rev-1"})"),
               412, "PreconditionFailedException",
               "The Revision Id provided does not match the latest Revision Id. Call the "
               "GetFunction/GetAlias API to retrieve the latest Revision Id");
}

TEST_F(ControlApiTest, LostRaceWithoutClientRevisionIsRetried) {
  registry_.put(record("f"));
  registry_.fail_next_update = Error::make(Code::kConflict, "PreconditionFailed: raced");
  const HttpResponse r = call("PUT", "/2015-03-31/functions/f/configuration", R"({"Timeout":10})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(registry_.updates, 2);
  EXPECT_EQ(registry_.find("f")->timeout_s, 10);
}

TEST_F(ControlApiTest, UpdateConfigurationValidatesLikeCreate) {
  registry_.put(record("f"));
  expect_error(call("PUT", "/2015-03-31/functions/f/configuration", R"({"Timeout":901})"), 400,
               "ValidationException",
               "1 validation error detected: Value '901' at 'timeout' failed to satisfy "
               "constraint: Member must have value less than or equal to 900");
  EXPECT_EQ(header(call("PUT", "/2015-03-31/functions/f/configuration",
                        R"({"Environment":{"Variables":{"LAMBDA_TASK_ROOT":"/x"}}})"),
                   "x-amzn-ErrorType"),
            "InvalidParameterValueException");
  EXPECT_EQ(header(call("PUT", "/2015-03-31/functions/f/configuration", R"({"MemorySize":"x"})"),
                   "x-amzn-ErrorType"),
            "InvalidRequestContentException");
  EXPECT_EQ(registry_.updates, 0);
  EXPECT_EQ(registry_.find("f")->revision_id, "rev-1");
}

TEST_F(ControlApiTest, UpdateConfigurationOfMissingFunctionIs404) {
  expect_error(call("PUT", "/2015-03-31/functions/nope/configuration", R"({"Timeout":5})"), 404,
               "ResourceNotFoundException",
               std::string("Function not found: ") + kArnPrefix + "nope");
}

TEST_F(ControlApiTest, UpdateRegistryFailureKeepsPreviousRecord) {
  registry_.put(record("f"));
  registry_.fail_next_update = Error::make(Code::kInternal, "io error");
  EXPECT_EQ(call("PUT", "/2015-03-31/functions/f/configuration", R"({"Timeout":5})").status, 500);
  EXPECT_EQ(registry_.find("f")->timeout_s, 3);
  EXPECT_TRUE(upserted_.empty());
}

// ---- UpdateFunctionCode ------------------------------------------------------------------

std::string code_body(const std::string& zip, const std::string& extra = "") {
  return R"({"ZipFile":")" + base64_encode(zip) + "\"" + extra + "}";
}

TEST_F(ControlApiTest, UpdateCodeStoresNewPackage) {
  registry_.put(record("f"));
  const std::string zip = testing::bootstrap_zip("#!/bin/sh\necho v2\n");
  const HttpResponse r = call("PUT", "/2015-03-31/functions/f/code",
                              code_body(zip, R"(,"Publish":false,"Architectures":["arm64"])"));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto stored = registry_.find("f");
  EXPECT_EQ(stored->package_id, sha256_hex(zip));
  EXPECT_EQ(stored->code_sha256, sha256_base64(zip));
  EXPECT_EQ(stored->code_size, static_cast<int64_t>(zip.size()));
  EXPECT_EQ(stored->architecture, "arm64");
  EXPECT_EQ(stored->generation, 2);
  EXPECT_NE(stored->revision_id, "rev-1");
  EXPECT_TRUE(store_->exists(stored->package_id));
  EXPECT_EQ(body_of(r).at("CodeSha256").as_string(), sha256_base64(zip));
  ASSERT_EQ(upserted_.size(), 1u);
}

TEST_F(ControlApiTest, UpdateCodeDryRunChangesNothing) {
  registry_.put(record("f"));
  const std::string zip = testing::bootstrap_zip("#!/bin/sh\necho dry\n");
  const HttpResponse r =
      call("PUT", "/2015-03-31/functions/f/code", code_body(zip, R"(,"DryRun":true)"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("CodeSha256").as_string(), sha256_base64(zip));
  EXPECT_EQ(registry_.find("f")->revision_id, "rev-1");
  EXPECT_EQ(registry_.updates, 0);
  EXPECT_FALSE(store_->exists(sha256_hex(zip)));
  EXPECT_TRUE(upserted_.empty());
}

TEST_F(ControlApiTest, UpdateCodeStaleRevisionIs412BeforeStoringCode) {
  registry_.put(record("f"));
  const std::string zip = testing::bootstrap_zip("#!/bin/sh\necho stale\n");
  const HttpResponse r =
      call("PUT", "/2015-03-31/functions/f/code", code_body(zip, R"(,"RevisionId":"old")"));
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(header(r, "x-amzn-ErrorType"), "PreconditionFailedException");
  EXPECT_FALSE(store_->exists(sha256_hex(zip)));
  EXPECT_EQ(registry_.find("f")->package_id, std::string(64, 'a'));
}

TEST_F(ControlApiTest, UpdateCodeErrors) {
  registry_.put(record("f"));
  EXPECT_EQ(header(call("PUT", "/2015-03-31/functions/f/code", "{}"), "x-amzn-ErrorType"),
            "InvalidParameterValueException");
  EXPECT_EQ(header(call("PUT", "/2015-03-31/functions/f/code", R"({"ZipFile":"!!"})"),
                   "x-amzn-ErrorType"),
            "InvalidParameterValueException");
  EXPECT_TRUE(
      message_of(call("PUT", "/2015-03-31/functions/f/code", R"({"S3Bucket":"b","S3Key":"k"})"))
          .starts_with("S3Bucket is not supported by lambdad"));
  EXPECT_EQ(
      call("PUT", "/2015-03-31/functions/nope/code", code_body(testing::bootstrap_zip())).status,
      404);
  EXPECT_EQ(registry_.find("f")->revision_id, "rev-1");
  EXPECT_TRUE(upserted_.empty());
}

// ---- DeleteFunction ----------------------------------------------------------------------

TEST_F(ControlApiTest, DeleteAnswers204EmptyAndNotifies) {
  registry_.put(record("f"));
  const HttpResponse r = call("DELETE", "/2015-03-31/functions/f");
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(registry_.find("f"));
  EXPECT_EQ(removed_, (std::vector<std::string>{"f"}));
  expect_error(call("DELETE", "/2015-03-31/functions/f"), 404, "ResourceNotFoundException",
               std::string("Function not found: ") + kArnPrefix + "f");
  EXPECT_EQ(removed_.size(), 1u);
}

TEST_F(ControlApiTest, DeleteByArnWorks) {
  registry_.put(record("f"));
  EXPECT_EQ(
      call("DELETE",
           "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af")
          .status,
      204);
}

TEST_F(ControlApiTest, DeleteOfLatestQualifierIsRefused) {
  registry_.put(record("f"));
  EXPECT_EQ(header(call("DELETE", "/2015-03-31/functions/f", "", "Qualifier=%24LATEST"),
                   "x-amzn-ErrorType"),
            "InvalidParameterValueException");
  EXPECT_EQ(call("DELETE", "/2015-03-31/functions/f", "", "Qualifier=3").status, 404);
  EXPECT_TRUE(registry_.find("f"));
  EXPECT_TRUE(removed_.empty());
}

TEST_F(ControlApiTest, DeleteRegistryFailureDoesNotNotify) {
  registry_.put(record("f"));
  registry_.fail_next_remove = Error::make(Code::kInternal, "locked");
  EXPECT_EQ(call("DELETE", "/2015-03-31/functions/f").status, 500);
  EXPECT_TRUE(removed_.empty());
}

TEST_F(ControlApiTest, EffectsAreOptional) {
  ControlApi api(registry_, *store_, {}, {});
  HttpRequest request;
  request.method = "POST";
  request.path = "/2015-03-31/functions";
  request.body = create_body("quiet");
  EXPECT_EQ(api.handle(request).status, 201);
  request.method = "DELETE";
  request.path = "/2015-03-31/functions/quiet";
  request.body.clear();
  EXPECT_EQ(api.handle(request).status, 204);
}

// ---- tags --------------------------------------------------------------------------------

const std::string kTagPath =
    "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af";

TEST_F(ControlApiTest, TagUntagListRoundTrip) {
  registry_.put(record("f"));
  EXPECT_EQ(call("GET", kTagPath).body, R"({"Tags":{}})");
  HttpResponse r = call("POST", kTagPath, R"({"Tags":{"a":"1","b":"2","c":"3"}})");
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
  r = call("DELETE", kTagPath, "", "tagKeys=a&tagKeys=c");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(call("GET", kTagPath).body, R"({"Tags":{"b":"2"}})");
  // Tags are not a code/config change: same revision, no invoker notification.
  EXPECT_EQ(registry_.find("f")->revision_id, "rev-1");
  EXPECT_TRUE(upserted_.empty());
}

TEST_F(ControlApiTest, TagErrors) {
  registry_.put(record("f"));
  EXPECT_EQ(header(call("GET", "/2017-03-31/tags/f"), "x-amzn-ErrorType"), "ValidationException");
  expect_error(call("POST", kTagPath, "{}"), 400, "ValidationException",
               "1 validation error detected: Value null at 'tags' failed to satisfy constraint: "
               "Member must not be null");
  EXPECT_EQ(header(call("DELETE", kTagPath), "x-amzn-ErrorType"), "ValidationException");
  EXPECT_EQ(
      call("GET", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Ag")
          .status,
      404);
  EXPECT_EQ(header(call("POST", kTagPath, R"({"Tags":[]})"), "x-amzn-ErrorType"),
            "InvalidRequestContentException");
}

// ---- account settings and packages -------------------------------------------------------

TEST_F(ControlApiTest, AccountSettingsReportLimitsAndUsage) {
  FunctionRecord a = record("a");
  a.code_size = 100;
  FunctionRecord b = record("b");
  b.code_size = 23;
  registry_.put(a);
  registry_.put(b);
  const HttpResponse r = call("GET", "/2016-08-19/account-settings/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"AccountLimit":{"TotalCodeSize":80530636800,"CodeSizeUnzipped":262144000,)"
                    R"("CodeSizeZipped":52428800,"ConcurrentExecutions":1000,)"
                    R"("UnreservedConcurrentExecutions":1000},)"
                    R"("AccountUsage":{"TotalCodeSize":123,"FunctionCount":2}})");
}

TEST_F(ControlApiTest, UnknownPackageIs404) {
  EXPECT_EQ(call("GET", "/lambdad/packages/" + std::string(64, 'b') + ".zip").status, 404);
  EXPECT_EQ(call("GET", "/lambdad/packages/..%2F..%2Fetc%2Fpasswd.zip").status, 404);
  EXPECT_EQ(call("GET", "/lambdad/packages/abc").status, 404);
}

}  // namespace
}  // namespace lambdad::api
