#include "async/queue.h"

#include <time.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/encoding.h"

namespace lambdad::async {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2019-11-14T18:16:05.568Z"
std::string iso_ms(int64_t ms) {
  const time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

// JSON text embedded as a value; text that is not JSON is embedded as a string.
json::value embed(const std::string& text) {
  if (text.empty()) return nullptr;
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return json::value(text);
  return v;
}

// "arn:aws:lambda:<r>:<a>:function:<name>[:<q>]" -> name, or "" when not a function ARN.
std::string function_of_arn(const std::string& arn) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t c = arn.find(':', start);
    parts.push_back(arn.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  if (parts.size() < 7 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function")
    return "";
  return parts[6];
}

struct Op {
  std::function<Result<void>(Store&)> apply;  // inside the group transaction
  std::function<void(Result<void>)> done;     // on the io thread after the commit; may be empty
};

}  // namespace

std::string destination_record(const Event& event, const std::string& function_arn,
                               const std::string& condition, bool ran, int status,
                               const std::string& executed_version,
                               const std::string& function_error, const std::string& response_body,
                               int64_t now) {
  json::object rec;
  rec["version"] = "1.0";
  rec["timestamp"] = iso_ms(now);
  json::object ctx;
  ctx["requestId"] = event.request_id;
  ctx["functionArn"] = function_arn + ":" + event.qualifier;
  ctx["condition"] = condition;
  ctx["approximateInvokeCount"] = event.attempts;
  rec["requestContext"] = std::move(ctx);
  rec["requestPayload"] = embed(event.payload);
  if (ran) {
    json::object rc;
    rc["statusCode"] = status;
    rc["executedVersion"] = executed_version;
    if (!function_error.empty()) rc["functionError"] = function_error;
    rec["responseContext"] = std::move(rc);
    rec["responsePayload"] = embed(response_body);
  }
  return json::serialize(rec);
}

struct Queue::Impl : std::enable_shared_from_this<Queue::Impl> {
  // An event held in memory, with what only this run knows about it.
  struct Live {
    Event ev;
    int throttles = 0;
    bool counted_redelivery = false;
    bool ran = false;
    int status = 0;
    std::string executed_version = "$LATEST";
    std::string function_error;
    std::string body;
  };
  using LivePtr = std::shared_ptr<Live>;
  static LivePtr make_live(Event ev) {
    auto live = std::make_shared<Live>();
    live->ev = std::move(ev);
    return live;
  }

  struct FnState {
    std::deque<LivePtr> ready;
    int in_flight = 0;
    int64_t depth = 0;                // events stored for this function
    std::multiset<int64_t> enqueued;  // enqueue times of events held in memory
  };

  Impl(asio::io_context& io, invoke::Invoker& invoker, QueueOptions o, std::unique_ptr<Store> s)
      : io(io), invoker(invoker), opt(std::move(o)), store(std::move(s)), timer(io) {}

  asio::io_context& io;
  invoke::Invoker& invoker;
  QueueOptions opt;
  std::unique_ptr<Store> store;  // writer thread only, once started

  // Writer thread.
  std::thread writer;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Op> ops;    // GUARDED_BY(mu)
  bool closing = false;  // GUARDED_BY(mu)

  // io thread.
  std::map<std::string, FnState> fns;
  std::multimap<int64_t, LivePtr> delayed;
  asio::steady_timer timer;
  int64_t timer_at = 0;
  int64_t cursor = 0;     // every stored event with seq <= cursor is in memory or finished
  int64_t known_max = 0;  // the largest seq known to be committed
  bool fetching = false;
  int loaded = 0;
  bool started = false;
  bool stopped = false;
  std::map<std::pair<std::string, std::string>, EventInvokeConfig> configs;
  struct Counters {
    int64_t enqueued = 0, delivered = 0, succeeded = 0, retries = 0, throttles = 0, drops = 0,
            expired = 0, destination_records = 0, recovered = 0, redelivered = 0, store_errors = 0;
  } counters;

  void submit(Op op) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ops.push_back(std::move(op));
    }
    cv.notify_one();
  }

  void writer_loop() {
    std::vector<Op> batch;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return closing || !ops.empty(); });
        if (ops.empty()) return;  // closing and drained
        const size_t n = std::min(ops.size(), static_cast<size_t>(opt.commit_batch));
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(ops.front()));
          ops.pop_front();
        }
      }
      std::vector<Result<void>> results;
      results.reserve(batch.size());
      if (auto b = store->begin(); !b) {
        for (size_t i = 0; i < batch.size(); ++i) results.push_back(b.error());
      } else {
        for (auto& op : batch) results.push_back(op.apply(*store));
        if (auto c = store->commit(); !c) {
          store->rollback();
          for (auto& r : results) r = c.error();
        }
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        if (!batch[i].done) continue;
        asio::post(io, [d = std::move(batch[i].done), r = std::move(results[i])]() { d(r); });
      }
      batch.clear();
    }
  }

  Limits limits_for(const std::string& fn, const std::string& q) const {
    Limits l;
    auto it = configs.find({fn, q});
    if (it == configs.end()) return l;
    if (it->second.max_retry_attempts) l.max_retry_attempts = *it->second.max_retry_attempts;
    if (it->second.max_event_age_s) l.max_event_age_s = *it->second.max_event_age_s;
    return l;
  }

  std::string arn(const std::string& fn) const {
    return "arn:aws:lambda:" + opt.region + ":" + opt.account + ":function:" + fn;
  }

  void load(LivePtr live) {
    ++loaded;
    auto& st = fns[live->ev.function];
    st.enqueued.insert(live->ev.enqueued_ms);
    if (live->ev.next_ms > now_ms()) {
      delay(std::move(live));
    } else {
      st.ready.push_back(std::move(live));
    }
  }

  void delay(LivePtr live) {
    const int64_t at = live->ev.next_ms;
    delayed.emplace(at, std::move(live));
    arm_timer();
  }

  void arm_timer() {
    if (delayed.empty() || stopped) return;
    const int64_t earliest = delayed.begin()->first;
    if (timer_at != 0 && timer_at <= earliest) return;
    timer_at = earliest;
    timer.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, earliest - now_ms())));
    timer.async_wait([w = weak_from_this()](boost::system::error_code ec) {
      auto self = w.lock();
      if (!self || ec == asio::error::operation_aborted || self->stopped) return;
      self->timer_at = 0;
      const int64_t now = now_ms();
      while (!self->delayed.empty() && self->delayed.begin()->first <= now) {
        LivePtr live = std::move(self->delayed.begin()->second);
        self->delayed.erase(self->delayed.begin());
        self->fns[live->ev.function].ready.push_back(std::move(live));
      }
      self->arm_timer();
      self->pump();
    });
  }

  // Events committed by this run (accepted or destination records).
  void on_committed(const Event& ev) {
    ++fns[ev.function].depth;
    if (!fetching && cursor == known_max && loaded < opt.memory_events) {
      load(make_live(ev));
      cursor = ev.seq;
    }
    known_max = std::max(known_max, ev.seq);
    pump();
  }

  void maybe_fetch() {
    if (fetching || stopped || !started || cursor >= known_max || loaded > opt.memory_events / 2)
      return;
    fetching = true;
    auto rows = std::make_shared<std::vector<Event>>();
    auto top = std::make_shared<int64_t>(0);
    const int64_t after = cursor;
    const int limit = opt.read_batch;
    submit(Op{[rows, top, after, limit](Store& s) -> Result<void> {
                auto r = s.read_after(after, limit);
                if (!r) return r.error();
                *rows = std::move(*r);
                auto m = s.max_seq();
                if (!m) return m.error();
                *top = *m;
                return ok();
              },
              [self = shared_from_this(), rows, top, limit](Result<void> r) {
                self->fetching = false;
                if (self->stopped) return;
                if (!r) {
                  ++self->counters.store_errors;
                  std::fprintf(stderr, "lambdad: async: %s\n", r.error().message().c_str());
                  return;
                }
                for (auto& ev : *rows) {
                  self->cursor = std::max(self->cursor, ev.seq);
                  self->load(make_live(std::move(ev)));
                }
                if (static_cast<int>(rows->size()) < limit)
                  self->cursor = std::max(self->cursor, *top);
                self->known_max = std::max(self->known_max, *top);
                self->pump();
              }});
  }

  void pump() {
    if (stopped) return;
    for (auto& [name, st] : fns) {
      while (!st.ready.empty() && st.in_flight < opt.max_in_flight_per_function) {
        LivePtr live = std::move(st.ready.front());
        st.ready.pop_front();
        dispatch(std::move(live), st);
      }
    }
    maybe_fetch();
  }

  void dispatch(LivePtr live, FnState& st) {
    const Event& ev = live->ev;
    const Limits lim = limits_for(ev.function, ev.qualifier);
    if (expired(ev.enqueued_ms, now_ms(), lim.max_event_age_s, opt.age_unit.count())) {
      ++counters.expired;
      ++counters.drops;
      finish(std::move(live), false, "EventAgeExceeded");
      return;
    }
    ++st.in_flight;
    if (live->ev.started && !live->counted_redelivery) {
      // Began in an earlier run that died before deleting it: the function may see it twice.
      ++counters.redelivered;
      live->counted_redelivery = true;
    } else if (!live->ev.started) {
      // The mark commits (group-committed) before the function can see the event, so after
      // a crash `duplicates` bounds what functions saw twice.
      live->ev.started = true;
      const int64_t seq = live->ev.seq;
      submit(Op{[seq](Store& s) { return s.mark_started(seq); },
                [self = shared_from_this(), live](Result<void>) mutable {
                  if (!self->stopped) self->start_invoke(std::move(live));
                }});
      return;
    }
    start_invoke(std::move(live));
  }

  void start_invoke(LivePtr live) {
    const Event& ev = live->ev;
    invoke::InvokeRequest req;
    req.function = ev.function;
    req.qualifier = ev.qualifier;
    req.invoked_arn = arn(ev.function);
    req.payload = ev.payload;
    req.request_id = ev.request_id;
    invoker.invoke(std::move(req),
                   [self = shared_from_this(), live](invoke::InvokeResult r) mutable {
                     self->on_result(std::move(live), std::move(r));
                   });
  }

  void on_result(LivePtr live, invoke::InvokeResult r) {
    if (stopped) return;  // stays stored; delivered again after a restart
    auto& st = fns[live->ev.function];
    --st.in_flight;
    const Outcome outcome = classify(r.status, r.function_error);
    if (outcome == Outcome::kSuccess || outcome == Outcome::kFunctionError) {
      ++counters.delivered;
      ++live->ev.attempts;
      live->ran = true;
      live->status = r.status;
      live->executed_version = r.executed_version;
      live->function_error = r.function_error;
      live->body = std::move(r.body);
    }
    const Limits lim = limits_for(live->ev.function, live->ev.qualifier);
    switch (outcome) {
      case Outcome::kSuccess:
        ++counters.succeeded;
        finish(std::move(live), true, "Success");
        break;
      case Outcome::kFunctionError:
        if (retries_exhausted(live->ev.attempts, lim.max_retry_attempts)) {
          ++counters.drops;
          finish(std::move(live), false, "RetriesExhausted");
        } else {
          ++counters.retries;
          live->ev.next_ms = now_ms() + retry_delay(opt.retry_base, live->ev.attempts).count();
          const int64_t seq = live->ev.seq;
          const int attempts = live->ev.attempts;
          const int64_t next = live->ev.next_ms;
          // Not awaited: a lost update only means one more attempt after a crash.
          submit(Op{[seq, attempts, next](Store& s) { return s.reschedule(seq, attempts, next); },
                    {}});
          delay(std::move(live));
        }
        break;
      case Outcome::kThrottle:
        ++counters.throttles;
        ++live->throttles;
        live->ev.next_ms = now_ms() + throttle_delay(opt.retry_base, live->throttles).count();
        delay(std::move(live));
        break;
      case Outcome::kGone:
        ++counters.drops;
        finish(std::move(live), false, "");
        break;
    }
    pump();
  }

  // The outcome is final: send the destination record (if configured) and delete the event,
  // in one transaction.
  void finish(LivePtr live, bool success, const std::string& condition) {
    const Event& ev = live->ev;
    auto& st = fns[ev.function];
    --loaded;
    if (auto it = st.enqueued.find(ev.enqueued_ms); it != st.enqueued.end()) st.enqueued.erase(it);
    --st.depth;
    std::shared_ptr<Event> dest;
    if (!condition.empty()) {
      std::string dest_arn;
      if (auto it = configs.find({ev.function, ev.qualifier}); it != configs.end())
        dest_arn = success ? it->second.on_success : it->second.on_failure;
      const std::string dest_fn = function_of_arn(dest_arn);
      if (!dest_fn.empty()) {
        dest = std::make_shared<Event>();
        dest->request_id = uuid4();
        dest->function = dest_fn;
        dest->enqueued_ms = dest->next_ms = now_ms();
        dest->payload =
            destination_record(ev, arn(ev.function), condition, live->ran, live->status,
                               live->executed_version, live->function_error, live->body, now_ms());
      }
    }
    const int64_t seq = ev.seq;
    submit(Op{[dest, seq](Store& s) -> Result<void> {
                if (dest) {
                  if (auto r = s.insert(*dest); !r) return r;
                }
                return s.remove(seq);
              },
              [self = shared_from_this(), dest](Result<void> r) {
                if (!r) {
                  ++self->counters.store_errors;
                  return;
                }
                if (dest && !self->stopped) {
                  ++self->counters.destination_records;
                  self->on_committed(*dest);
                }
              }});
  }
};

Result<std::unique_ptr<Queue>> Queue::open(asio::io_context& io, invoke::Invoker& invoker,
                                           QueueOptions options) {
  auto store = Store::open(options.data_dir);
  if (!store) return store.error();
  auto configs = (*store)->configs();
  if (!configs) return configs.error();
  auto depths = (*store)->depths();
  if (!depths) return depths.error();
  auto top = (*store)->max_seq();
  if (!top) return top.error();
  auto impl = std::make_shared<Impl>(io, invoker, std::move(options), std::move(*store));
  for (auto& c : *configs) impl->configs[{c.function, c.qualifier}] = c;
  for (auto& d : *depths) {
    impl->fns[d.function].depth = d.depth;
    impl->counters.recovered += d.depth;
  }
  impl->known_max = *top;
  return std::unique_ptr<Queue>(new Queue(std::move(impl)));
}

Queue::~Queue() { shutdown(); }

void Queue::start() {
  if (impl_->started) return;
  impl_->started = true;
  impl_->writer = std::thread([impl = impl_.get()] { impl->writer_loop(); });
  impl_->pump();
}

void Queue::shutdown() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->timer.cancel();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->closing = true;
  }
  impl_->cv.notify_one();
  if (impl_->writer.joinable()) impl_->writer.join();
}

void Queue::enqueue(Event event, std::function<void(Result<void>)> done) {
  if (impl_->stopped) {
    done(Error::make(Code::kUnavailable, "async queue is shutting down"));
    return;
  }
  auto ev = std::make_shared<Event>(std::move(event));
  const int64_t now = now_ms();
  ev->enqueued_ms = now;
  ev->next_ms = now;
  impl_->submit(Op{[ev](Store& s) { return s.insert(*ev); },
                   [self = impl_, ev, done = std::move(done)](Result<void> r) {
                     if (r) {
                       ++self->counters.enqueued;
                       if (!self->stopped) self->on_committed(*ev);
                     }
                     done(r);
                   }});
}

void Queue::put_config(EventInvokeConfig config, std::function<void(Result<void>)> done) {
  auto c = std::make_shared<EventInvokeConfig>(std::move(config));
  impl_->submit(Op{[c](Store& s) { return s.put_config(*c); },
                   [self = impl_, c, done = std::move(done)](Result<void> r) {
                     if (r) self->configs[{c->function, c->qualifier}] = *c;
                     done(r);
                   }});
}

void Queue::delete_config(std::string function, std::string qualifier,
                          std::function<void(Result<bool>)> done) {
  auto found = std::make_shared<bool>(false);
  auto key = std::make_shared<std::pair<std::string, std::string>>(std::move(function),
                                                                   std::move(qualifier));
  impl_->submit(Op{[found, key](Store& s) -> Result<void> {
                     auto r = s.delete_config(key->first, key->second);
                     if (!r) return r.error();
                     *found = *r;
                     return ok();
                   },
                   [self = impl_, found, key, done = std::move(done)](Result<void> r) {
                     if (!r) {
                       done(r.error());
                       return;
                     }
                     self->configs.erase(*key);
                     done(*found);
                   }});
}

const EventInvokeConfig* Queue::find_config(const std::string& function,
                                            const std::string& qualifier) const {
  auto it = impl_->configs.find({function, qualifier});
  return it == impl_->configs.end() ? nullptr : &it->second;
}

std::vector<EventInvokeConfig> Queue::configs_of(const std::string& function) const {
  std::vector<EventInvokeConfig> out;
  for (auto& [k, c] : impl_->configs)
    if (k.first == function) out.push_back(c);
  return out;
}

const QueueOptions& Queue::options() const { return impl_->opt; }

int64_t Queue::total_depth() const {
  int64_t depth = 0;
  for (auto& [name, st] : impl_->fns) depth += st.depth;
  return depth;
}

std::string Queue::status_json() const {
  const int64_t now = now_ms();
  json::array fns;
  int64_t depth = 0;
  for (auto& [name, st] : impl_->fns) {
    if (st.depth == 0 && st.in_flight == 0) continue;
    json::object f;
    f["name"] = name;
    f["depth"] = st.depth;
    f["inFlight"] = st.in_flight;
    f["oldestEventAgeSeconds"] =
        st.enqueued.empty() ? 0.0 : static_cast<double>(now - *st.enqueued.begin()) / 1000.0;
    depth += st.depth;
    fns.push_back(std::move(f));
  }
  const auto& c = impl_->counters;
  json::object totals;
  totals["depth"] = depth;
  totals["inMemory"] = impl_->loaded;
  totals["enqueued"] = c.enqueued;
  totals["delivered"] = c.delivered;
  totals["succeeded"] = c.succeeded;
  totals["retries"] = c.retries;
  totals["throttles"] = c.throttles;
  totals["drops"] = c.drops;
  totals["expired"] = c.expired;
  totals["destinationRecords"] = c.destination_records;
  totals["recoveredAtStart"] = c.recovered;
  // Events delivered again after a restart although a delivery had begun before it: an
  // upper bound on duplicates the functions saw (at-least-once).
  totals["duplicates"] = c.redelivered;
  totals["storeErrors"] = c.store_errors;
  json::object out;
  out["functions"] = std::move(fns);
  out["totals"] = std::move(totals);
  return json::serialize(out);
}

}  // namespace lambdad::async
