// `lambdad serve`: wires the registry, package store, invoker and HTTP server together.
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <iostream>

#include "api/console_api.h"
#include "api/control_api.h"
#include "api/server.h"
#include "api/versions_wiring.h"
#include "async/queue.h"
#include "cli/cli.h"
#include "invoke/invoker.h"
#include "metering/log_sink.h"
#include "metering/metrics.h"
#include "metering/usage.h"
#include "packages/package_store.h"
#include "registry/registry.h"
#include "sandbox/spawner.h"
#include "schedule/scheduler.h"

namespace lambdad::cli {

namespace asio = boost::asio;

namespace {
bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  return !ec && addr.is_loopback();
}
}  // namespace

int serve(Args& args) {
  std::string listen = "127.0.0.1:9001";
  std::string data_dir = "./.lambdad";
  invoke::Options iopt;
  bool isolation = true;
  sandbox::IsolationOptions isolation_opt;
  int64_t log_max_bytes = 10 * 1024 * 1024;
  metering::Retention retention{30, 1'000'000};  // --usage-retention-days, --usage-max-rows
  auto price = [](const std::string& flag, const std::string& v) {
    auto p = metering::parse_dollars(v);
    if (!p) {
      std::fprintf(stderr, "lambdad serve: %s wants dollars, e.g. 0.0000166667\n", flag.c_str());
      std::exit(2);
    }
    return *p;
  };
  async::QueueOptions aopt;
  schedule::SchedulerOptions schopt;
  bool insecure = false;
  std::string api_listen;  // --api-listen HOST:PORT: SAM routes on their own port
  std::chrono::milliseconds header_timeout{30'000};
  for (size_t i = 0; i < args.rest.size(); ++i) {
    const std::string& a = args.rest[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.rest.size()) {
        std::fprintf(stderr, "lambdad serve: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return args.rest[++i];
    };
    if (a == "--listen")
      listen = value();
    else if (a == "--data-dir")
      data_dir = value();
    else if (a == "--max-environments")
      iopt.max_environments = std::stoi(value());
    else if (a == "--max-environments-per-function")
      iopt.max_environments_per_function = std::stoi(value());
    else if (a == "--max-queue")
      iopt.max_queue_per_function = std::stoi(value());
    else if (a == "--idle-timeout")
      iopt.idle_timeout = std::chrono::milliseconds(std::stoll(value()) * 1000);
    else if (a == "--region")
      iopt.region = value();
    else if (a == "--price-x86")
      iopt.prices.x86_per_gb_second = price(a, value());
    else if (a == "--price-arm")
      iopt.prices.arm_per_gb_second = price(a, value());
    else if (a == "--price-request")
      iopt.prices.per_request = price(a, value());
    else if (a == "--usage-retention-days")
      retention.max_age_days = std::stoi(value());
    else if (a == "--usage-max-rows")
      retention.max_rows = std::stoll(value());
    else if (a == "--init-timeout")
      iopt.init_timeout = std::chrono::milliseconds(std::stoll(value()) * 1000);
    else if (a == "--api-listen")
      api_listen = value();
    else if (a == "--insecure")
      insecure = true;
    else if (a == "--header-timeout")
      header_timeout = std::chrono::milliseconds(std::stoll(value()) * 1000);
    else if (a == "--no-isolation")
      isolation = false;
    else if (a == "--freeze-idle")
      isolation_opt.freeze_idle = true;
    else if (a == "--network") {
      const std::string v = value();
      auto n = invoke::parse_network(v);
      if (!n) {
        std::fprintf(stderr, "lambdad serve: --network wants host or isolated, not '%s'\n",
                     v.c_str());
        return 2;
      }
      iopt.default_network = *n;
    } else if (a == "--async-retry-base-ms")
      aopt.retry_base = std::chrono::milliseconds(std::stoll(value()));
    else if (a == "--async-max-in-flight")
      aopt.max_in_flight_per_function = std::stoi(value());
    else if (a == "--async-age-unit-ms")  // test hook: see async::QueueOptions::age_unit
      aopt.age_unit = std::chrono::milliseconds(std::stoll(value()));
    else if (a == "--schedule-minute-ms")  // test hook: see schedule::SchedulerOptions::minute
      schopt.minute = std::chrono::milliseconds(std::stoll(value()));
    else {
      std::fprintf(stderr,
                   "usage: lambdad serve [--listen HOST:PORT] [--data-dir DIR] "
                   "[--max-environments N] [--max-environments-per-function N] [--max-queue N] "
                   "[--idle-timeout SECONDS] [--init-timeout SECONDS] [--region R]\n"
                   "       [--no-isolation] [--freeze-idle] [--network host|isolated] "
                   "[--async-retry-base-ms MS] "
                   "[--async-max-in-flight N] [--insecure] [--api-listen HOST:PORT] "
                   "[--header-timeout SECONDS]\n"
                   "       [--price-x86 $/GB-s] [--price-arm $/GB-s] [--price-request $] "
                   "(defaults: %s)\n"
                   "       [--usage-retention-days N] [--usage-max-rows N] "
                   "(default 30, 1000000; 0 = unbounded)\n",
                   metering::kPricesDate);
      return 2;
    }
  }
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "lambdad serve: --listen wants HOST:PORT\n");
    return 2;
  }
  api::ServerOptions sopt;
  sopt.host = listen.substr(0, colon);
  sopt.port = static_cast<uint16_t>(std::stoi(listen.substr(colon + 1)));
  if (!api_listen.empty()) {
    const size_t c = api_listen.rfind(':');
    if (c == std::string::npos) {
      std::fprintf(stderr, "lambdad serve: --api-listen wants HOST:PORT\n");
      return 2;
    }
    sopt.api_host = api_listen.substr(0, c);
    sopt.api_port = static_cast<uint16_t>(std::stoi(api_listen.substr(c + 1)));
    if (!is_loopback(sopt.api_host) && !insecure) {
      std::fprintf(stderr,
                   "lambdad serve: refusing --api-listen on %s: SAM routes are public (no "
                   "auth); pass --insecure to expose them.\n",
                   sopt.api_host.c_str());
      return 2;
    }
  }

  ::mkdir(data_dir.c_str(), 0755);
  // Requests are SigV4-checked once access keys exist (`lambdad keys add`).
  auth::Verifier verifier(data_dir);
  if (std::string e = verifier.load_error(); !e.empty()) {
    std::fprintf(stderr, "lambdad: access keys: %s\n", e.c_str());
    return 1;
  }
  if (!verifier.enabled() && !is_loopback(sopt.host) && !insecure) {
    std::fprintf(stderr,
                 "lambdad serve: refusing to listen on %s without access keys: anyone who can "
                 "reach it could run code. Create a key with `lambdad keys add --data-dir %s` "
                 "(clients then sign requests with it), listen on 127.0.0.1, or pass --insecure.\n",
                 sopt.host.c_str(), data_dir.c_str());
    return 2;
  }
  sopt.verifier = &verifier;
  sopt.header_timeout = header_timeout;
  // Code.Location carries an expiring token (auth/url_signer.h) so it downloads unsigned.
  const auth::UrlSigner url_signer;
  sopt.url_signer = &url_signer;
  auto registry = registry::open_sqlite_registry(data_dir);
  if (!registry) {
    std::fprintf(stderr, "lambdad: %s\n", registry.error().message().c_str());
    return 1;
  }
  auto packages = packages::PackageStore::open(data_dir);
  if (!packages) {
    std::fprintf(stderr, "lambdad: %s\n", packages.error().message().c_str());
    return 1;
  }
  auto usage = metering::UsageRecorder::open(data_dir, retention);
  if (!usage) {
    std::fprintf(stderr, "lambdad: %s\n", usage.error().message().c_str());
    return 1;
  }
  metering::LogSink logs(data_dir + "/logs", log_max_bytes);
  std::unique_ptr<sandbox::Spawner> spawner;
  if (isolation) {
    std::string note;
    spawner = sandbox::make_best_spawner(&note, isolation_opt);
    std::fprintf(stderr, "lambdad: %s\n", note.c_str());
  } else {
    spawner = sandbox::make_process_spawner();
  }
  if (iopt.default_network == sandbox::Network::kIsolated &&
      !spawner->supports_isolated_network()) {
    std::fprintf(stderr,
                 "lambdad serve: --network isolated needs network namespaces; sandbox: %s\n",
                 spawner->describe().c_str());
    return 2;
  }
  // The sandbox uid must not read the registry (environment variables), logs or packages:
  // nothing it needs is in the data dir (its code is bind-mounted at /var/task).
  if (spawner->runs_as_other_user() && ::chmod(data_dir.c_str(), 0700) != 0)
    std::fprintf(stderr, "lambdad: %s\n",
                 Error::from_errno(errno, "chmod 0700 " + data_dir).message().c_str());
  iopt.packages_root = data_dir + "/packages";

  metering::Metrics metrics;
  iopt.metrics = &metrics;
  asio::io_context io(1);
  invoke::Invoker invoker(io, *spawner, logs, usage->get(), iopt);
  api::ControlOptions copt;
  copt.region = iopt.region;
  copt.account = iopt.account;
  copt.base_url = "http://" + listen;
  copt.sign_location = [&url_signer](std::string_view path) {
    return url_signer.sign(path, std::chrono::system_clock::now() + auth::UrlSigner::kTtl);
  };
  api::ControlEffects effects;
  api::FrontTable front;  // function URLs and SAM routes, read by the front server
  effects.upserted = [&invoker](const registry::FunctionRecord& r) { invoker.post_upsert(r); };
  effects.removed = [&invoker, &front](const std::string& n) {
    front.remove_function(n);
    invoker.post_remove(n);
  };
  api::wire_version_effects(effects, invoker);
  api::wire_front_effects(effects, front);
  api::ControlApi control(**registry, *packages, copt, effects);

  // Load every function so the invoke path never touches SQLite.
  std::string marker;
  for (;;) {
    auto page = (*registry)->list(marker, 1000);
    if (!page) {
      std::fprintf(stderr, "lambdad: %s\n", page.error().message().c_str());
      return 1;
    }
    for (auto& f : page->functions) invoker.upsert(f);
    if (!page->next_marker) break;
    marker = *page->next_marker;
  }
  if (auto r = api::load_front(**registry, front); !r) {
    std::fprintf(stderr, "lambdad: %s\n", r.error().message().c_str());
    return 1;
  }
  sopt.front = &front;
  if (auto r = api::load_versions(**registry, invoker); !r) {
    std::fprintf(stderr, "lambdad: %s\n", r.error().message().c_str());
    return 1;
  }

  aopt.data_dir = data_dir;
  aopt.region = iopt.region;
  aopt.account = iopt.account;
  auto queue = async::Queue::open(io, invoker, aopt);
  if (!queue) {
    std::fprintf(stderr, "lambdad: %s\n", queue.error().message().c_str());
    return 1;
  }
  (*queue)->start();
  sopt.async_queue = queue->get();

  schopt.data_dir = data_dir;
  schopt.region = iopt.region;
  schopt.account = iopt.account;
  auto scheduler = schedule::Scheduler::open(io, **queue, invoker, schopt);
  if (!scheduler) {
    std::fprintf(stderr, "lambdad: %s\n", scheduler.error().message().c_str());
    return 1;
  }
  (*scheduler)->start();
  sopt.scheduler = scheduler->get();

  sopt.metrics_text = [&metrics, &invoker, queue_ptr = queue->get()] {
    metering::Gauges g;
    g.live_environments = invoker.stats().environments;
    g.async_queue_depth = queue_ptr->total_depth();
    return metrics.render(g);
  };
  const std::string isolation_text = spawner->describe();
  const bool net_ok = spawner->supports_isolated_network();
  sopt.status_json = [&invoker, &verifier, &isolation_text, &data_dir, net_ok,
                      queue_ptr = queue->get(), scheduler_ptr = scheduler->get()] {
    boost::json::object o;
    o["version"] = LAMBDAD_VERSION;
    o["isolation"] = isolation_text;
    o["networkDefault"] =
        invoker.options().default_network == sandbox::Network::kIsolated ? "isolated" : "host";
    o["networkIsolatedAvailable"] = net_ok;
    o["dataDir"] = data_dir;
    o["auth"] = verifier.enabled() ? "sigv4" : "none";
    const invoke::Stats st = invoker.stats();
    o["environments"] = st.environments;
    o["invocations"] = st.invocations;
    o["coldStarts"] = st.cold_starts;
    o["throttles"] = st.throttles;
    o["asyncQueueDepth"] = queue_ptr->total_depth();
    const schedule::SchedulerStats ss = scheduler_ptr->stats();
    o["schedules"] = ss.schedules;
    o["scheduledFirings"] = ss.fired;
    o["scheduledFiringsSkipped"] = ss.skipped;
    o["scheduleErrors"] = ss.errors;
    return boost::json::serialize(o);
  };
  // The console's usage and tuning endpoints read usage.db and <data_dir>/tune on a control
  // worker (api/console_api.h); the invoke path never waits for them.
  sopt.console_api = [&data_dir](const api::HttpRequest& req) {
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    return api::handle_console_api(data_dir, req, now_ms);
  };
  api::Server server(io, invoker, control, sopt);
  if (auto r = server.listen(); !r) {
    std::fprintf(stderr, "lambdad: %s\n", r.error().message().c_str());
    return 1;
  }
  std::fprintf(stderr,
               "lambdad %s listening on http://%s:%u (data dir %s, sandbox: %s; console: "
               "http://%s:%u/console)\n",
               LAMBDAD_VERSION, sopt.host.c_str(), server.port(), data_dir.c_str(),
               spawner->describe().c_str(), sopt.host.c_str(), server.port());
  if (server.api_port() != 0)
    std::fprintf(stderr, "lambdad: SAM routes on http://%s:%u/\n", sopt.api_host.c_str(),
                 server.api_port());

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int sig) {
    std::fprintf(stderr, "lambdad: signal %d, shutting down\n", sig);
    (*scheduler)->shutdown();
    (*queue)->shutdown();
    invoker.shutdown();
    server.stop();
    io.stop();
  });
  ::signal(SIGPIPE, SIG_IGN);
  io.run();
  (*scheduler)->shutdown();
  (*queue)->shutdown();
  invoker.shutdown();
  logs.flush();
  (*usage)->flush();
  return 0;
}

}  // namespace lambdad::cli
