// `lambdad deploy [DIR]`: build the project, package each AWS::Serverless::Function of
// DIR/template.yaml, and create or update it through the control API.
//
// Where a function's code comes from (CodeUri is relative to DIR):
//   1. CodeUri is a .zip file: uploaded as is.
//   2. CodeUri is a directory with a `bootstrap` at its root: the directory is zipped.
//   3. Otherwise BUILD/CodeUri/bootstrap, BUILD being the CMake build dir (default DIR/build):
//      lambdad_add_function() puts `bootstrap` in the binary dir of the CMakeLists.txt that
//      declares it, which mirrors the source dir. So CodeUri: . means BUILD/bootstrap and
//      CodeUri: fns/a means the function declared in fns/a/CMakeLists.txt.
//
// Each Events entry of Type Schedule (Properties.Schedule, Input, Enabled or State) becomes the
// lambdad schedule <FunctionName>-<EventKey> (PUT /lambdad/schedules/..., ManagedBy "sam");
// schedules deploy made for a function that its template no longer lists are removed.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/commands_dev.h"
#include "cli/http_client.h"
#include "cli/sam.h"
#include "cli/signing.h"
#include "common/encoding.h"

namespace lambdad::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace fs = std::filesystem;
namespace json = boost::json;

// lambdad has no IAM; CreateFunction still requires a role ARN.
constexpr const char* kDefaultRole = "arn:aws:iam::000000000000:role/lambdad-deploy";
constexpr auto kActiveTimeout = std::chrono::seconds(60);

struct Reply {
  int status = 0;
  std::string body;
  std::string error_type;  // x-amzn-ErrorType
};

Result<Reply> call(const std::string& url, bhttp::verb method, const std::string& target,
                   const std::string& body) {
  if (url.starts_with("https://")) {
    return Error::make(Code::kInvalidArgument, "https endpoints are not supported: " + url);
  }
  HttpReply r = http_call(url, std::string(bhttp::to_string(method)), target,
                          {{"User-Agent", "lambdad-cli/" LAMBDAD_VERSION " deploy"},
                           {"Content-Type", "application/json"}},
                          body);
  if (r.status == 0) return Error::make(Code::kUnavailable, "cannot reach " + url + ": " + r.error);
  const auto type = r.headers.find("x-amzn-errortype");
  return Reply{r.status, std::move(r.body), type == r.headers.end() ? "" : type->second};
}

// "ResourceConflictException: Function already exist: x" from an error body.
std::string describe(const Reply& r) {
  std::string type = r.error_type, message;
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.as_object();
    // Lambda's body says "Type":"User"|"Service"; the exception name is in the header.
    for (const char* k : {"__type", "Type", "type"}) {
      if (auto* t = o.if_contains(k); t && t->is_string() && type.empty() &&
                                      t->as_string() != "User" && t->as_string() != "Service")
        type = t->as_string().c_str();
    }
    for (const char* k : {"message", "Message"}) {
      if (auto* m = o.if_contains(k); m && m->is_string()) message = m->as_string().c_str();
    }
  }
  if (message.empty()) message = r.body.substr(0, 300);
  return "HTTP " + std::to_string(r.status) + (type.empty() ? "" : " " + type) + ": " + message;
}

// Runs argv with stdout and stderr appended to `log`. Returns the exit status (or -1).
int run_logged(const std::vector<std::string>& argv, const std::string& log) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    ::execvp(cargv[0], cargv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<void> build(const std::string& dir, const std::string& build_dir) {
  std::error_code ec;
  fs::create_directories(build_dir, ec);
  const std::string log = (fs::path(build_dir) / "lambdad-build.log").string();
  std::ofstream(log, std::ios::trunc).close();
  std::vector<std::string> configure = {"cmake", "-S", dir, "-B", build_dir};
  if (!fs::exists(fs::path(build_dir) / "CMakeCache.txt", ec)) {
    configure.push_back("-DCMAKE_BUILD_TYPE=Release");
  }
  std::vector<std::string> compile = {"cmake", "--build", build_dir};
  if (std::getenv("CMAKE_BUILD_PARALLEL_LEVEL") == nullptr) {
    compile.push_back("--parallel");
    compile.push_back(std::to_string(std::max(1u, std::thread::hardware_concurrency())));
  }
  for (const auto* argv : {&configure, &compile}) {
    if (int rc = run_logged(*argv, log); rc != 0) {
      std::fputs(slurp(log).c_str(), stderr);
      return Error::make(Code::kInternal, "`" + (*argv)[0] + " " + (*argv)[1] +
                                              " ...` failed (exit " + std::to_string(rc) +
                                              "); log: " + log);
    }
  }
  return ok();
}

// The zip for one function, by the rules at the top of this file.
Result<std::string> package_function(const SamFunction& fn, const std::string& dir,
                                     const std::string& build_dir) {
  std::error_code ec;
  const fs::path code = (fs::path(dir) / fn.code_uri).lexically_normal();
  if (fs::is_regular_file(code, ec) && code.extension() == ".zip") return slurp(code.string());
  if (fs::is_regular_file(code / "bootstrap", ec)) return zip_directory(code.string());
  const fs::path built = (fs::path(build_dir) / fn.code_uri / "bootstrap").lexically_normal();
  if (fs::is_regular_file(built, ec)) return zip_bootstrap(built.string());
  return Error::make(Code::kNotFound, fn.logical_id + ": no code: " + code.string() +
                                          " is not a .zip and has no bootstrap, and " +
                                          built.string() + " was not built");
}

json::object environment(const SamFunction& fn) {
  json::object vars;
  for (const auto& [k, v] : fn.environment) vars[k] = v;
  return json::object{{"Variables", std::move(vars)}};
}

json::object configuration(const SamFunction& fn) {
  return json::object{{"Runtime", fn.runtime},
                      {"Handler", fn.handler},
                      {"Description", fn.description},
                      {"Timeout", fn.timeout},
                      {"MemorySize", fn.memory_size},
                      {"Environment", environment(fn)},
                      {"Role", fn.role.empty() ? kDefaultRole : fn.role}};
}

json::array architectures(const SamFunction& fn) {
  json::array a;
  for (const auto& x : fn.architectures) a.emplace_back(x);
  return a;
}

// Polls GetFunctionConfiguration until State is Active and no update is in progress.
Result<void> wait_ready(const std::string& url, const std::string& name) {
  const auto deadline = std::chrono::steady_clock::now() + kActiveTimeout;
  for (;;) {
    auto r = call(url, bhttp::verb::get, "/2015-03-31/functions/" + name + "/configuration", "");
    if (!r) return r.error();
    if (r->status != 200) {
      return Error::make(Code::kInternal, "get configuration of " + name + ": " + describe(*r));
    }
    boost::system::error_code ec;
    json::value v = json::parse(r->body, ec);
    std::string state, update;
    if (!ec && v.is_object()) {
      if (auto* s = v.as_object().if_contains("State"); s && s->is_string()) {
        state = s->as_string().c_str();
      }
      if (auto* s = v.as_object().if_contains("LastUpdateStatus"); s && s->is_string()) {
        update = s->as_string().c_str();
      }
    }
    if (state == "Failed" || update == "Failed") {
      return Error::make(Code::kInternal, name + " failed: " + r->body.substr(0, 500));
    }
    if ((state.empty() || state == "Active") && update != "InProgress") return ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return Error::make(Code::kTimeout, name + " not ready (State " + state +
                                             ", LastUpdateStatus " + update + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// Create, or on 409 update code then configuration. Returns "created" or "updated".
Result<std::string> create_or_update(const std::string& url, const SamFunction& fn,
                                     const std::string& zip) {
  const std::string zip64 = base64_encode(zip);
  json::object create = configuration(fn);
  create["FunctionName"] = fn.function_name;
  create["Code"] = json::object{{"ZipFile", zip64}};
  create["Architectures"] = architectures(fn);
  const std::string base = "/2015-03-31/functions";
  auto r = call(url, bhttp::verb::post, base, json::serialize(create));
  if (!r) return r.error();
  if (r->status == 201 || r->status == 200) {
    auto w = wait_ready(url, fn.function_name);
    if (!w) return w.error();
    return std::string("created");
  }
  if (r->status != 409) {
    return Error::make(Code::kInternal, "create " + fn.function_name + ": " + describe(*r));
  }
  json::object code{{"ZipFile", zip64}, {"Architectures", architectures(fn)}};
  r = call(url, bhttp::verb::put, base + "/" + fn.function_name + "/code", json::serialize(code));
  if (!r) return r.error();
  if (r->status != 200) {
    return Error::make(Code::kInternal, "update code of " + fn.function_name + ": " + describe(*r));
  }
  auto w = wait_ready(url, fn.function_name);
  if (!w) return w.error();
  r = call(url, bhttp::verb::put, base + "/" + fn.function_name + "/configuration",
           json::serialize(configuration(fn)));
  if (!r) return r.error();
  if (r->status != 200) {
    return Error::make(Code::kInternal,
                       "update configuration of " + fn.function_name + ": " + describe(*r));
  }
  w = wait_ready(url, fn.function_name);
  if (!w) return w.error();
  return std::string("updated");
}

// HttpApi/Api events -> lambdad's route table (PUT /lambdad/routes/{F}); the server serves
// them at http://api.localhost:<port>/ and on `serve --api-listen`. A function without such
// events gets an empty list, which drops routes an earlier deploy made.
Result<size_t> put_routes(const std::string& url, const SamFunction& fn) {
  json::array routes;
  for (const auto& ev : fn.events) {
    if (ev.type != "HttpApi" && ev.type != "Api") continue;
    const YamlNode* path = ev.properties.get("Path");
    const YamlNode* method = ev.properties.get("Method");
    const YamlNode* format = ev.properties.get("PayloadFormatVersion");
    std::string m = method && method->kind == YamlNode::Kind::kScalar ? method->scalar : "ANY";
    for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string version = ev.type == "Api" ? "1.0" : "2.0";
    if (ev.type == "HttpApi" && format && format->kind == YamlNode::Kind::kScalar)
      version = format->scalar;
    const std::string p =
        path && path->kind == YamlNode::Kind::kScalar ? path->scalar : "/{proxy+}";
    routes.push_back(json::object{{"Method", m}, {"Path", p}, {"PayloadFormatVersion", version}});
    std::printf("route %s %s -> %s (payload %s)\n", m.c_str(), p.c_str(), fn.function_name.c_str(),
                version.c_str());
  }
  const size_t n = routes.size();
  auto r = call(url, bhttp::verb::put, "/lambdad/routes/" + fn.function_name,
                json::serialize(json::object{{"Routes", std::move(routes)}}));
  if (!r) return r.error();
  // A server without the route table (older lambdad) is fine when there is nothing to route.
  if (r->status != 200 && n > 0)
    return Error::make(Code::kInternal, "routes of " + fn.function_name + ": " + describe(*r));
  return n;
}

// One schedule the template asks for (a Schedule event of a function).
struct WantedSchedule {
  std::string name;  // <FunctionName>-<EventKey>
  json::object body;
};

Result<std::vector<WantedSchedule>> wanted_schedules(const SamFunction& fn) {
  std::vector<WantedSchedule> out;
  for (const auto& ev : fn.events) {
    if (ev.type != "Schedule") continue;
    const std::string where = fn.logical_id + ".Events." + ev.name + ".Properties";
    const YamlNode* expr = ev.properties.get("Schedule");
    if (expr == nullptr || expr->kind != YamlNode::Kind::kScalar || expr->scalar.empty())
      return Error::make(Code::kInvalidArgument, where + ".Schedule is required");
    json::object body{{"FunctionName", fn.function_name},
                      {"ScheduleExpression", expr->scalar},
                      {"ManagedBy", "sam"}};
    if (const YamlNode* in = ev.properties.get("Input")) {
      if (in->kind != YamlNode::Kind::kScalar)
        return Error::make(Code::kInvalidArgument, where + ".Input must be a JSON string");
      body["Input"] = in->scalar;
    }
    bool enabled = true;
    if (const YamlNode* en = ev.properties.get("Enabled")) {
      if (en->scalar == "false" || en->scalar == "False" || en->scalar == "FALSE")
        enabled = false;
      else if (en->scalar != "true" && en->scalar != "True" && en->scalar != "TRUE")
        return Error::make(Code::kInvalidArgument, where + ".Enabled must be true or false");
    }
    if (const YamlNode* st = ev.properties.get("State")) {  // SAM's newer spelling
      if (st->scalar == "DISABLED")
        enabled = false;
      else if (st->scalar != "ENABLED")
        return Error::make(Code::kInvalidArgument, where + ".State must be ENABLED or DISABLED");
    }
    body["Enabled"] = enabled;
    out.push_back({fn.function_name + "-" + ev.name, std::move(body)});
  }
  return out;
}

// Creates or updates a schedule per Schedule event of `fn` (lambdad's /lambdad/schedules) and
// removes the schedules deploy made earlier for `fn` that the template no longer has.
Result<void> sync_schedules(const std::string& url, const SamFunction& fn) {
  auto wanted = wanted_schedules(fn);
  if (!wanted) return wanted.error();
  for (const auto& w : *wanted) {
    auto r = call(url, bhttp::verb::put, "/lambdad/schedules/" + w.name, json::serialize(w.body));
    if (!r) return r.error();
    if (r->status != 200)
      return Error::make(Code::kInternal, "schedule " + w.name + ": " + describe(*r));
    std::printf("schedule %s: %s\n", w.name.c_str(),
                std::string(w.body.at("ScheduleExpression").as_string()).c_str());
  }
  auto r = call(url, bhttp::verb::get, "/lambdad/schedules?FunctionName=" + fn.function_name, "");
  if (!r) return r.error();
  if (r->status != 200) {
    if (wanted->empty()) return ok();  // an endpoint without lambdad's schedule API
    return Error::make(Code::kInternal, "list schedules: " + describe(*r));
  }
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("Schedules") ||
      !v.as_object().at("Schedules").is_array())
    return Error::make(Code::kInternal, "list schedules: unreadable reply");
  for (const auto& item : v.as_object().at("Schedules").as_array()) {
    if (!item.is_object()) continue;
    const auto& o = item.as_object();
    const auto* name = o.if_contains("Name");
    const auto* by = o.if_contains("ManagedBy");
    if (name == nullptr || !name->is_string() || by == nullptr || !by->is_string() ||
        by->as_string() != "sam")
      continue;
    const std::string n(name->as_string());
    bool keep = false;
    for (const auto& w : *wanted) keep = keep || w.name == n;
    if (keep) continue;
    auto d = call(url, bhttp::verb::delete_, "/lambdad/schedules/" + n, "");
    if (!d) return d.error();
    if (d->status != 204 && d->status != 404)
      return Error::make(Code::kInternal, "remove schedule " + n + ": " + describe(*d));
    std::printf("removed schedule %s\n", n.c_str());
  }
  return ok();
}

void usage() {
  std::fprintf(stderr,
               "usage: lambdad deploy [DIR] [--endpoint-url URL] [--build-dir D] [--no-build]\n"
               "  builds DIR (default .) with CMake into D (default DIR/build), packages each\n"
               "  AWS::Serverless::Function of DIR/template.yaml and creates or updates it\n");
}

int fail(const std::string& what) {
  std::fprintf(stderr, "lambdad deploy: %s\n", what.c_str());
  return 1;
}

}  // namespace

int deploy(Args& args) {
  const std::string url = endpoint_url(args);
  std::string dir, build_dir;
  bool do_build = true;
  for (size_t i = 0; i < args.rest.size(); ++i) {
    const std::string& a = args.rest[i];
    if (a == "--build-dir" && i + 1 < args.rest.size()) {
      build_dir = args.rest[++i];
    } else if (a == "--no-build") {
      do_build = false;
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else if (dir.empty() && !a.starts_with("-")) {
      dir = a;
    } else {
      usage();
      return 2;
    }
  }
  if (dir.empty()) dir = ".";
  dir = fs::absolute(dir).lexically_normal().string();
  build_dir = build_dir.empty() ? (fs::path(dir) / "build").string()
                                : fs::absolute(build_dir).lexically_normal().string();

  std::string tpl_path;
  for (const char* name : {"template.yaml", "template.yml"}) {
    std::error_code ec;
    if (fs::is_regular_file(fs::path(dir) / name, ec)) {
      tpl_path = (fs::path(dir) / name).string();
      break;
    }
  }
  if (tpl_path.empty()) return fail("no template.yaml in " + dir);
  auto tpl = parse_sam_template(slurp(tpl_path));
  if (!tpl) return fail(tpl_path + ": " + tpl.error().message());
  for (const auto& s : tpl->skipped) std::printf("skipping %s: not a function\n", s.c_str());
  if (tpl->functions.empty()) return fail(tpl_path + " has no AWS::Serverless::Function");

  std::error_code ec;
  if (do_build && fs::exists(fs::path(dir) / "CMakeLists.txt", ec)) {
    std::printf("building %s...\n", dir.c_str());
    std::fflush(stdout);
    auto b = build(dir, build_dir);
    if (!b) return fail(b.error().message());
  }
  size_t routes = 0;
  for (const auto& fn : tpl->functions) {
    auto zip = package_function(fn, dir, build_dir);
    if (!zip) return fail(zip.error().message());
    std::printf("packaging %s (%zu bytes)\n", fn.function_name.c_str(), zip->size());
    std::fflush(stdout);
    auto done = create_or_update(url, fn, *zip);
    if (!done) return fail(done.error().message());
    std::printf("%s %s\n", done->c_str(), fn.function_name.c_str());
    auto routed = put_routes(url, fn);
    if (!routed) return fail(routed.error().message());
    routes += *routed;
    std::fflush(stdout);
    if (auto sch = sync_schedules(url, fn); !sch) return fail(sch.error().message());
    std::fflush(stdout);
  }
  std::printf("deployed %zu function%s to %s\n", tpl->functions.size(),
              tpl->functions.size() == 1 ? "" : "s", url.c_str());
  if (routes > 0) {
    std::string host = url.starts_with("http://") ? url.substr(7) : url;
    if (size_t slash = host.find('/'); slash != std::string::npos) host.resize(slash);
    const size_t colon = host.rfind(':');
    std::printf("API routes: http://api.localhost%s/ (or `lambdad serve --api-listen`)\n",
                colon == std::string::npos ? "" : host.substr(colon).c_str());
  }
  return 0;
}

}  // namespace lambdad::cli
