#include "api/versions_wiring.h"

#include <string>

namespace lambdad::api {

void wire_version_effects(ControlEffects& effects, invoke::Invoker& invoker) {
  effects.version_removed = [&invoker](const std::string& name, const std::string& version) {
    invoker.post_remove_version(name, version);
  };
  effects.alias_upserted = [&invoker](const registry::AliasRecord& a) {
    invoker.post_upsert_alias(a);
  };
  effects.alias_removed = [&invoker](const std::string& function, const std::string& alias) {
    invoker.post_remove_alias(function, alias);
  };
  effects.concurrency_changed = [&invoker](const std::string& name, std::optional<int> n) {
    invoker.post_set_reserved_concurrency(name, n);
  };
}

Result<void> load_versions(registry::Registry& registry, invoke::Invoker& invoker) {
  std::string marker;
  for (;;) {
    auto page = registry.list(marker, 1000);
    if (!page) return page.error();
    for (const auto& fn : page->functions) {
      auto versions = registry.list_versions(fn.name);
      if (!versions) return versions.error();
      for (auto& v : *versions) invoker.upsert(std::move(v));
      auto aliases = registry.list_aliases(fn.name);
      if (!aliases) return aliases.error();
      for (auto& a : *aliases) invoker.upsert_alias(std::move(a));
    }
    if (!page->next_marker) break;
    marker = *page->next_marker;
  }
  auto reserved = registry.reserved_concurrencies();
  if (!reserved) return reserved.error();
  for (const auto& [name, n] : *reserved) invoker.set_reserved_concurrency(name, n);
  return ok();
}

void wire_front_effects(ControlEffects& effects, FrontTable& front) {
  effects.url_upserted = [&front](const registry::FunctionUrlRecord& u) { front.put_url(u); };
  effects.url_removed = [&front](const std::string& function, const std::string& qualifier) {
    front.remove_url(function, qualifier);
  };
  effects.routes_changed = [&front](const std::string& function,
                                    const std::vector<registry::HttpRoute>& routes) {
    front.set_routes(function, routes);
  };
}

Result<void> load_front(registry::Registry& registry, FrontTable& front) {
  auto urls = registry.list_function_urls("");
  if (!urls) return urls.error();
  for (const auto& u : *urls) front.put_url(u);
  auto routes = registry.http_routes();
  if (!routes) return routes.error();
  for (auto& [function, list] : *routes) front.set_routes(function, std::move(list));
  return ok();
}

}  // namespace lambdad::api
