// http: a small REST API over payload 2.0 events (API Gateway HTTP API or a function URL),
// items kept in memory for the life of the execution environment.
//   GET /items        -> 200 [{"id":1,"item":{...}},...]
//   GET /items/{id}   -> 200 {"id":1,"item":{...}} or 404
//   POST /items       -> 201 {"id":N,"item":<the JSON body>}, 400 unless the body is an object
//   ninja -C build http  ->  build/examples/http/bootstrap and http.zip; or `lambdad deploy`
#include <lambdad/http.h>

#include <cstdlib>
#include <map>
#include <string>

using lambdad::http::HttpRequest;
using lambdad::http::HttpResponse;

namespace {

std::map<long, std::string> g_items;  // id -> the item's JSON as posted
long g_next_id = 1;

std::string item_json(long id, const std::string& item) {
  return R"({"id":)" + std::to_string(id) + R"(,"item":)" + item + "}";
}

HttpResponse error(int status, const std::string& message) {
  return HttpResponse::json(status, R"({"message":")" + lambdad::json_escape(message) + "\"}");
}

HttpResponse route(const HttpRequest& req) {
  const std::string& path = req.raw_path;
  if (path == "/items" && req.method == "GET") {
    std::string out = "[";
    for (const auto& [id, item] : g_items) {
      if (out.size() > 1) out += ',';
      out += item_json(id, item);
    }
    return HttpResponse::json(200, out + "]");
  }
  if (path == "/items" && req.method == "POST") {
    // The body is stored as sent, so it must be a JSON object.
    auto first = req.body.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || req.body[first] != '{' ||
        !lambdad::http::is_valid_json(req.body)) {
      return error(400, "body must be a JSON object");
    }
    const long id = g_next_id++;
    g_items[id] = req.body;
    HttpResponse r = HttpResponse::json(201, item_json(id, req.body));
    r.headers["location"] = "/items/" + std::to_string(id);
    return r;
  }
  if (path.starts_with("/items/") && req.method == "GET") {
    // HTTP API routes fill pathParameters; function URLs do not, so fall back to the path.
    std::string id_text = req.path_param("id").value_or(path.substr(7));
    char* end = nullptr;
    long id = std::strtol(id_text.c_str(), &end, 10);
    auto it = (end != nullptr && *end == '\0') ? g_items.find(id) : g_items.end();
    if (id_text.empty() || it == g_items.end()) return error(404, "no item " + id_text);
    return HttpResponse::json(200, item_json(it->first, it->second));
  }
  if (path == "/items" || path.starts_with("/items/")) return error(405, "method not allowed");
  return error(404, "no route for " + req.method + " " + path);
}

}  // namespace

int main() { return lambdad::run(lambdad::http::handler(route)); }
