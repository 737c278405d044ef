// Default implementations of Registry's optional methods (versions, aliases, concurrency).
#include "registry/registry.h"

namespace lambdad::registry {
namespace {
Error unsupported() {
  return Error::make(Code::kUnavailable, "registry: versions/aliases are not supported here");
}
}  // namespace

Result<FunctionRecord> Registry::publish_version(const FunctionRecord&) { return unsupported(); }
// A registry without versions has none: reads answer "absent", writes kUnavailable.
Result<FunctionRecord> Registry::get_version(const std::string& name, const std::string& version) {
  return Error::make(Code::kNotFound, "Function not found: " + name + ":" + version);
}
Result<std::vector<FunctionRecord>> Registry::list_versions(const std::string&) {
  return std::vector<FunctionRecord>{};
}
Result<void> Registry::remove_version(const std::string& name, const std::string& version) {
  return Error::make(Code::kNotFound, "Function not found: " + name + ":" + version);
}
Result<void> Registry::create_alias(const AliasRecord&) { return unsupported(); }
Result<AliasRecord> Registry::get_alias(const std::string&, const std::string& name) {
  return Error::make(Code::kNotFound, "Alias not found: " + name);
}
Result<std::vector<AliasRecord>> Registry::list_aliases(const std::string&) {
  return std::vector<AliasRecord>{};
}
Result<void> Registry::update_alias(const AliasRecord&, const std::optional<std::string>&) {
  return unsupported();
}
Result<void> Registry::remove_alias(const std::string&, const std::string&) {
  return unsupported();
}
Result<void> Registry::set_reserved_concurrency(const std::string&, std::optional<int>) {
  return unsupported();
}
Result<std::optional<int>> Registry::reserved_concurrency(const std::string&) {
  return std::optional<int>();
}
Result<std::map<std::string, int>> Registry::reserved_concurrencies() {
  return std::map<std::string, int>{};
}

Result<void> Registry::create_function_url(const FunctionUrlRecord&) { return unsupported(); }
Result<FunctionUrlRecord> Registry::get_function_url(const std::string& function,
                                                     const std::string&) {
  return Error::make(Code::kNotFound, "Function URL not found: " + function);
}
Result<std::vector<FunctionUrlRecord>> Registry::list_function_urls(const std::string&) {
  return std::vector<FunctionUrlRecord>{};
}
Result<void> Registry::update_function_url(const FunctionUrlRecord&) { return unsupported(); }
Result<void> Registry::remove_function_url(const std::string& function, const std::string&) {
  return Error::make(Code::kNotFound, "Function URL not found: " + function);
}
Result<void> Registry::set_http_routes(const std::string&, const std::vector<HttpRoute>&) {
  return unsupported();
}
Result<std::map<std::string, std::vector<HttpRoute>>> Registry::http_routes() {
  return std::map<std::string, std::vector<HttpRoute>>{};
}

}  // namespace lambdad::registry
