// An in-memory registry::Registry for unit tests, with fault injection: set fail_next_* to
// make the next call of that kind return the error. Thread rules: every method locks mu_.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "registry/registry.h"

namespace lambdad::testing {

class FakeRegistry : public registry::Registry {
 public:
  Result<void> create(const registry::FunctionRecord& fn) override {
    std::lock_guard lock(mu_);
    ++creates;
    if (auto e = take(fail_next_create)) return *e;
    if (functions_.count(fn.name))
      return Error::make(Code::kConflict, "function exists: " + fn.name);
    functions_[fn.name] = fn;
    return ok();
  }

  Result<registry::FunctionRecord> get(const std::string& name) override {
    std::lock_guard lock(mu_);
    const auto it = functions_.find(name);
    if (it == functions_.end()) return Error::make(Code::kNotFound, "no function " + name);
    return it->second;
  }

  Result<registry::ListPage> list(const std::string& marker, int max_items) override {
    std::lock_guard lock(mu_);
    ++lists;
    last_list_max_items = max_items;
    registry::ListPage page;
    auto it = marker.empty() ? functions_.begin() : functions_.upper_bound(marker);
    for (; it != functions_.end(); ++it) {
      if (static_cast<int>(page.functions.size()) == max_items) {
        page.next_marker = page.functions.back().name;
        break;
      }
      page.functions.push_back(it->second);
    }
    return page;
  }

  Result<void> update(const registry::FunctionRecord& fn,
                      const std::optional<std::string>& expected_revision) override {
    std::lock_guard lock(mu_);
    ++updates;
    if (auto e = take(fail_next_update)) return *e;
    const auto it = functions_.find(fn.name);
    if (it == functions_.end()) return Error::make(Code::kNotFound, "no function " + fn.name);
    if (expected_revision && *expected_revision != it->second.revision_id)
      return Error::make(Code::kConflict,
                         "PreconditionFailed: RevisionId " + *expected_revision + " is stale");
    it->second = fn;
    return ok();
  }

  Result<void> remove(const std::string& name) override {
    std::lock_guard lock(mu_);
    if (auto e = take(fail_next_remove)) return *e;
    if (functions_.erase(name) == 0) return Error::make(Code::kNotFound, "no function " + name);
    return ok();
  }

  Result<std::vector<std::string>> referenced_packages() override {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [name, fn] : functions_) out.push_back(fn.package_id);
    return out;
  }

  // Test helpers.
  void put(const registry::FunctionRecord& fn) {
    std::lock_guard lock(mu_);
    functions_[fn.name] = fn;
  }
  std::optional<registry::FunctionRecord> find(const std::string& name) {
    std::lock_guard lock(mu_);
    const auto it = functions_.find(name);
    if (it == functions_.end()) return std::nullopt;
    return it->second;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return functions_.size();
  }

  std::optional<Error> fail_next_create;
  std::optional<Error> fail_next_update;
  std::optional<Error> fail_next_remove;
  int creates = 0;
  int updates = 0;
  int lists = 0;
  int last_list_max_items = 0;

 private:
  static std::optional<Error> take(std::optional<Error>& slot) {
    std::optional<Error> e = std::move(slot);
    slot.reset();
    return e;
  }

  std::mutex mu_;
  std::map<std::string, registry::FunctionRecord> functions_;
};

}  // namespace lambdad::testing
