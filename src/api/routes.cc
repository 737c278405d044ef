#include "api/routes.h"

#include <algorithm>
#include <array>

namespace lambdad::api {
namespace {

// One row per (method, path template). "{}" is the single label segment. Templates come from
// the botocore model's requestUri for each operation.
struct Route {
  const char* method;
  std::array<const char*, 5> segments;  // nullptr-terminated when shorter
  Operation operation;
};

constexpr Route kRoutes[] = {
    {"POST", {"2015-03-31", "functions", nullptr, nullptr}, Operation::kCreateFunction},
    {"GET", {"2015-03-31", "functions", nullptr, nullptr}, Operation::kListFunctions},
    {"GET", {"2015-03-31", "functions", "{}", nullptr}, Operation::kGetFunction},
    {"DELETE", {"2015-03-31", "functions", "{}", nullptr}, Operation::kDeleteFunction},
    {"GET",
     {"2015-03-31", "functions", "{}", "configuration"},
     Operation::kGetFunctionConfiguration},
    {"PUT",
     {"2015-03-31", "functions", "{}", "configuration"},
     Operation::kUpdateFunctionConfiguration},
    {"PUT", {"2015-03-31", "functions", "{}", "code"}, Operation::kUpdateFunctionCode},
    {"POST", {"2017-03-31", "tags", "{}", nullptr}, Operation::kTagResource},
    {"DELETE", {"2017-03-31", "tags", "{}", nullptr}, Operation::kUntagResource},
    {"GET", {"2017-03-31", "tags", "{}", nullptr}, Operation::kListTags},
    {"GET", {"2016-08-19", "account-settings", nullptr, nullptr}, Operation::kGetAccountSettings},
    {"GET", {"lambdad", "packages", "{}", nullptr}, Operation::kGetPackage},
    {"POST", {"2015-03-31", "functions", "{}", "versions"}, Operation::kPublishVersion},
    {"GET", {"2015-03-31", "functions", "{}", "versions"}, Operation::kListVersionsByFunction},
    {"POST", {"2015-03-31", "functions", "{}", "aliases"}, Operation::kCreateAlias},
    {"GET", {"2015-03-31", "functions", "{}", "aliases"}, Operation::kListAliases},
    {"GET", {"2015-03-31", "functions", "{}", "aliases", "{}"}, Operation::kGetAlias},
    {"PUT", {"2015-03-31", "functions", "{}", "aliases", "{}"}, Operation::kUpdateAlias},
    {"DELETE", {"2015-03-31", "functions", "{}", "aliases", "{}"}, Operation::kDeleteAlias},
    {"PUT", {"2017-10-31", "functions", "{}", "concurrency"}, Operation::kPutFunctionConcurrency},
    {"GET", {"2019-09-30", "functions", "{}", "concurrency"}, Operation::kGetFunctionConcurrency},
    {"DELETE",
     {"2017-10-31", "functions", "{}", "concurrency"},
     Operation::kDeleteFunctionConcurrency},
    {"POST", {"2021-10-31", "functions", "{}", "url"}, Operation::kCreateFunctionUrlConfig},
    {"GET", {"2021-10-31", "functions", "{}", "url"}, Operation::kGetFunctionUrlConfig},
    {"PUT", {"2021-10-31", "functions", "{}", "url"}, Operation::kUpdateFunctionUrlConfig},
    {"DELETE", {"2021-10-31", "functions", "{}", "url"}, Operation::kDeleteFunctionUrlConfig},
    {"GET", {"2021-10-31", "functions", "{}", "urls"}, Operation::kListFunctionUrlConfigs},
    {"PUT", {"lambdad", "routes", "{}", nullptr}, Operation::kPutHttpRoutes},
    {"GET", {"lambdad", "routes", "{}", nullptr}, Operation::kGetHttpRoutes},
    {"DELETE", {"lambdad", "routes", "{}", nullptr}, Operation::kDeleteHttpRoutes},
    {"GET", {"lambdad", "routes", nullptr, nullptr}, Operation::kListHttpRoutes},
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits on '/', dropping the leading empty segment and one trailing empty segment.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return out;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

// Matches `segments` against a template; fills `label` with the decoded label segment.
bool matches(const Route& route, const std::vector<std::string_view>& segments, std::string& label,
             std::string& label2) {
  bool first = true;
  size_t n = 0;
  while (n < route.segments.size() && route.segments[n] != nullptr) ++n;
  if (segments.size() != n) return false;
  for (size_t i = 0; i < n; ++i) {
    const std::string_view want = route.segments[i];
    if (want == "{}") {
      if (segments[i].empty()) return false;
      (first ? label : label2) = percent_decode(segments[i]);
      first = false;
    } else if (segments[i] != want) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

RouteResult match_route(std::string_view method, std::string_view raw_path) {
  const auto segments = split_path(raw_path);
  RouteResult result;
  for (const Route& route : kRoutes) {
    std::string label;
    std::string label2;
    if (!matches(route, segments, label, label2)) continue;
    if (method == route.method) {
      result.match = RouteMatch{route.operation, std::move(label), std::move(label2)};
      result.allowed_methods.clear();
      return result;
    }
    result.allowed_methods.emplace_back(route.method);
  }
  std::sort(result.allowed_methods.begin(), result.allowed_methods.end());
  return result;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= raw_query.size()) {
    size_t amp = raw_query.find('&', start);
    if (amp == std::string_view::npos) amp = raw_query.size();
    const std::string_view item = raw_query.substr(start, amp - start);
    if (!item.empty()) {
      const size_t eq = item.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(percent_decode(item), std::string());
      } else {
        out.emplace_back(percent_decode(item.substr(0, eq)), percent_decode(item.substr(eq + 1)));
      }
    }
    start = amp + 1;
  }
  return out;
}

std::optional<std::string> query_value(const std::vector<std::pair<std::string, std::string>>& q,
                                       std::string_view name) {
  for (const auto& [k, v] : q)
    if (k == name) return v;
  return std::nullopt;
}

}  // namespace lambdad::api
