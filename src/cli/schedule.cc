// `lambdad schedule add|ls|rm`: EventBridge-style schedules that invoke a function, as a
// client of the server's /lambdad/schedules API (api/schedules_api.h).
#include <boost/json.hpp>
#include <cstdio>

#include "cli/cli.h"
#include "cli/http_client.h"
#include "common/encoding.h"

namespace lambdad::cli {

namespace {

namespace json = boost::json;

constexpr const char* kUsage =
    "usage: lambdad schedule add NAME --function F --expression EXPR [--input JSON]\n"
    "                            [--qualifier Q] [--disabled] [--replace]\n"
    "       lambdad schedule ls [--function F]\n"
    "       lambdad schedule rm NAME...\n"
    "  EXPR is an EventBridge expression (UTC): 'rate(5 minutes)', 'rate(1 hour)',\n"
    "  'cron(0 12 * * ? *)', 'cron(0/15 8-17 ? * MON-FRI *)'. Each firing invokes F\n"
    "  asynchronously with a scheduled event, or with --input's JSON instead.\n"
    "  [--endpoint-url URL] as for every client command.\n";

// "HTTP 400 ValidationException: message" from an error reply.
std::string describe(const HttpReply& r) {
  if (r.status == 0) return r.error;
  std::string type, message;
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.as_object();
    if (const auto* t = o.if_contains("Type"); t && t->is_string() && t->as_string() != "User")
      type = std::string(t->as_string());
    if (auto it = r.headers.find("x-amzn-errortype"); it != r.headers.end()) type = it->second;
    for (const char* k : {"message", "Message"})
      if (const auto* m = o.if_contains(k); m && m->is_string()) message = m->as_string().c_str();
  }
  if (message.empty()) message = r.body.substr(0, 300);
  return "HTTP " + std::to_string(r.status) + (type.empty() ? "" : " " + type) + ": " + message;
}

std::string str(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int add(const std::string& url, std::vector<std::string>& rest) {
  std::string name, function, expression, qualifier;
  std::optional<std::string> input;
  bool enabled = true, replace = false;
  for (size_t i = 0; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    const bool has_value = i + 1 < rest.size();
    if (a == "--function" && has_value)
      function = rest[++i];
    else if (a == "--expression" && has_value)
      expression = rest[++i];
    else if (a == "--input" && has_value)
      input = rest[++i];
    else if (a == "--qualifier" && has_value)
      qualifier = rest[++i];
    else if (a == "--disabled")
      enabled = false;
    else if (a == "--replace")
      replace = true;
    else if (name.empty() && !a.starts_with("-"))
      name = a;
    else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  if (name.empty() || function.empty() || expression.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  json::object body{
      {"FunctionName", function}, {"ScheduleExpression", expression}, {"Enabled", enabled}};
  if (!qualifier.empty()) body["Qualifier"] = qualifier;
  if (input) body["Input"] = *input;
  HttpReply r;
  if (replace) {
    r = http_call(url, "PUT", "/lambdad/schedules/" + name, {{"Content-Type", "application/json"}},
                  json::serialize(body));
  } else {
    body["Name"] = name;
    r = http_call(url, "POST", "/lambdad/schedules", {{"Content-Type", "application/json"}},
                  json::serialize(body));
  }
  if (r.status != 200 && r.status != 201) {
    std::fprintf(stderr, "lambdad schedule add: %s\n", describe(r).c_str());
    if (r.status == 409)
      std::fprintf(stderr, "(use --replace to overwrite it, or `lambdad schedule rm %s`)\n",
                   name.c_str());
    return 1;
  }
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  std::string next = "-";
  if (!ec && v.is_object()) {
    const std::string n = str(v.as_object(), "NextFire");
    if (!n.empty()) next = n;
  }
  std::printf("%s schedule %s: %s -> %s (next firing %s)\n",
              r.status == 201 ? "created" : "updated", name.c_str(), expression.c_str(),
              function.c_str(), enabled ? next.c_str() : "none: disabled");
  return 0;
}

int list(const std::string& url, std::vector<std::string>& rest) {
  std::string function;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == "--function" && i + 1 < rest.size()) {
      function = rest[++i];
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  HttpReply r = http_call(
      url, "GET", "/lambdad/schedules" + (function.empty() ? "" : "?FunctionName=" + function));
  if (r.status != 200) {
    std::fprintf(stderr, "lambdad schedule ls: %s\n", describe(r).c_str());
    return 1;
  }
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  const json::array* items = nullptr;
  if (!ec && v.is_object())
    if (const auto* s = v.as_object().if_contains("Schedules"); s && s->is_array())
      items = &s->as_array();
  if (items == nullptr) {
    std::fprintf(stderr, "lambdad schedule ls: unreadable reply\n");
    return 1;
  }
  std::printf("%-32s %-32s %-28s %-20s %-20s\n", "NAME", "FUNCTION", "EXPRESSION", "NEXT", "LAST");
  for (const auto& item : *items) {
    if (!item.is_object()) continue;
    const auto& o = item.as_object();
    std::string fn = str(o, "FunctionName");
    if (const std::string q = str(o, "Qualifier"); !q.empty()) fn += ":" + q;
    std::string next = str(o, "NextFire");
    const auto* enabled = o.if_contains("Enabled");
    if (enabled && enabled->is_bool() && !enabled->as_bool()) next = "disabled";
    const std::string last = str(o, "LastFired");
    std::printf("%-32s %-32s %-28s %-20s %-20s\n", str(o, "Name").c_str(), fn.c_str(),
                str(o, "ScheduleExpression").c_str(), next.empty() ? "-" : next.c_str(),
                last.empty() ? "-" : last.c_str());
  }
  return 0;
}

int remove(const std::string& url, std::vector<std::string>& rest) {
  if (rest.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  int rc = 0;
  for (const auto& name : rest) {
    HttpReply r = http_call(url, "DELETE", "/lambdad/schedules/" + name);
    if (r.status == 204) {
      std::printf("removed schedule %s\n", name.c_str());
    } else {
      std::fprintf(stderr, "lambdad schedule rm %s: %s\n", name.c_str(), describe(r).c_str());
      rc = 1;
    }
  }
  return rc;
}

}  // namespace

int schedule(Args& args) {
  const std::string url = endpoint_url(args);
  if (args.rest.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string sub = args.rest.front();
  std::vector<std::string> rest(args.rest.begin() + 1, args.rest.end());
  if (sub == "add") return add(url, rest);
  if (sub == "ls" || sub == "list") return list(url, rest);
  if (sub == "rm" || sub == "remove") return remove(url, rest);
  if (sub == "-h" || sub == "--help" || sub == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace lambdad::cli
