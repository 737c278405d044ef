#include "schedule/scheduler.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <map>

#include "common/encoding.h"

namespace lambdad::schedule {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

int64_t real_now_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Time to_time(int64_t ms) {
  return Time(std::chrono::floor<std::chrono::seconds>(milliseconds(ms)));
}

int64_t to_ms(Time t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string scheduled_event(const std::string& id, Time time, const std::string& region,
                            const std::string& account, const std::string& rule_arn) {
  json::object o;
  o["version"] = "0";
  o["id"] = id;
  o["detail-type"] = "Scheduled Event";
  o["source"] = "aws.events";
  o["account"] = account;
  o["time"] = format_time(time);
  o["region"] = region;
  o["resources"] = json::array{json::value(rule_arn)};
  o["detail"] = json::object();
  return json::serialize(o);
}

struct Scheduler::Impl : std::enable_shared_from_this<Scheduler::Impl> {
  Impl(asio::io_context& io, async::Queue& queue, invoke::Invoker& invoker, SchedulerOptions o,
       std::unique_ptr<Store> store)
      : io(io),
        queue(queue),
        invoker(invoker),
        options(std::move(o)),
        store(std::move(store)),
        timer(io),
        origin_ms(real_now_ms()) {}

  asio::io_context& io;
  async::Queue& queue;
  invoke::Invoker& invoker;
  SchedulerOptions options;
  std::unique_ptr<Store> store;  // store thread only (after open)
  asio::thread_pool store_thread{1};
  asio::steady_timer timer;
  int64_t origin_ms;  // real epoch ms when the schedule clock started
  std::map<std::string, Entry> entries;
  SchedulerStats counters;
  bool started = false;
  bool stopped = false;

  int64_t now() const {
    const int64_t real = real_now_ms();
    const int64_t minute = options.minute.count();
    if (minute == 60000) return real;
    return origin_ms + (real - origin_ms) * 60000 / minute;
  }

  // Runs `work` on the store thread and `then` with its result on the io thread.
  template <class T>
  void on_store(std::function<Result<T>(Store&)> work, std::function<void(Result<T>)> then) {
    asio::post(store_thread, [self = shared_from_this(), work = std::move(work),
                              then = std::move(then)]() mutable {
      Result<T> r = work(*self->store);
      asio::post(self->io, [then = std::move(then), r = std::move(r)]() mutable {
        if (then) then(std::move(r));
      });
    });
  }

  // The next firing after schedule-clock `after_ms` (nullopt when disabled).
  std::optional<Time> next_after(const Entry& e, int64_t after_ms) const {
    if (!e.schedule.enabled) return std::nullopt;
    return e.expression.next_fire(to_time(after_ms), to_time(e.schedule.created_ms));
  }

  void arm() {
    if (stopped || !started) return;
    std::optional<Time> earliest;
    for (const auto& [name, e] : entries)
      if (e.next && (!earliest || *e.next < *earliest)) earliest = e.next;
    if (!earliest) {
      timer.cancel();
      return;
    }
    // Schedule-clock ms until the firing, scaled to real time, rounded up.
    const int64_t ahead = std::max<int64_t>(0, to_ms(*earliest) - now());
    const int64_t minute = options.minute.count();
    const int64_t real = (ahead * minute + 59999) / 60000;
    timer.expires_after(milliseconds(std::max<int64_t>(1, real)));
    timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->stopped) return;
      self->on_timer();
    });
  }

  void on_timer() {
    const int64_t now_ms = now();
    for (auto& [name, e] : entries) {
      if (!e.next || to_ms(*e.next) > now_ms) continue;
      const Time due = *e.next;
      fire(e, due);
      // After a late wake-up the missed firings are skipped, not replayed.
      e.next = next_after(e, std::max(to_ms(due), now_ms));
    }
    arm();
  }

  void fire(Entry& e, Time due) {
    const std::string& fn = e.schedule.function;
    const std::optional<std::string> version = invoker.resolve_qualifier(fn, e.schedule.qualifier);
    if (!version) {
      ++counters.skipped;
      std::fprintf(stderr, "lambdad: schedule %s: function %s%s not found; firing skipped\n",
                   e.schedule.name.c_str(), fn.c_str(),
                   e.schedule.qualifier.empty() ? "" : (":" + e.schedule.qualifier).c_str());
      return;
    }
    const std::string arn =
        "arn:aws:events:" + options.region + ":" + options.account + ":rule/" + e.schedule.name;
    async::Event ev;
    ev.request_id = uuid4();
    ev.function = fn;
    ev.qualifier = *version;
    ev.payload = e.schedule.input
                     ? *e.schedule.input
                     : scheduled_event(uuid4(), due, options.region, options.account, arn);
    const int64_t fired_ms = to_ms(due);
    e.schedule.last_fired_ms = fired_ms;
    queue.enqueue(std::move(ev), [self = shared_from_this(), name = e.schedule.name,
                                  fired_ms](Result<void> r) {
      if (!r) {
        ++self->counters.errors;
        std::fprintf(stderr, "lambdad: schedule %s: %s\n", name.c_str(),
                     r.error().message().c_str());
        return;
      }
      ++self->counters.fired;
      if (self->stopped) return;
      self->on_store<void>([name, fired_ms](Store& s) { return s.set_last_fired(name, fired_ms); },
                           [self](Result<void> w) {
                             if (!w) {
                               ++self->counters.errors;
                               std::fprintf(stderr, "lambdad: %s\n", w.error().message().c_str());
                             }
                           });
    });
  }

  // Caches a committed schedule and re-arms.
  void install(Schedule s) {
    Entry e;
    auto parsed = Expression::parse(s.expression);
    if (parsed) e.expression = std::move(*parsed);
    e.schedule = std::move(s);
    if (parsed && started) e.next = next_after(e, now());
    entries[e.schedule.name] = std::move(e);
    arm();
  }
};

Result<std::unique_ptr<Scheduler>> Scheduler::open(asio::io_context& io, async::Queue& queue,
                                                   invoke::Invoker& invoker,
                                                   SchedulerOptions options) {
  if (options.minute.count() <= 0)
    return Error::make(Code::kInvalidArgument, "the schedule minute must be positive");
  auto store = Store::open(options.data_dir);
  if (!store) return store.error();
  auto all = (*store)->all();
  if (!all) return all.error();
  auto impl = std::make_shared<Impl>(io, queue, invoker, std::move(options), std::move(*store));
  for (auto& s : *all) {
    Entry e;
    auto parsed = Expression::parse(s.expression);
    if (parsed) {
      e.expression = std::move(*parsed);
    } else {
      std::fprintf(stderr, "lambdad: schedule %s is not armed: %s\n", s.name.c_str(),
                   parsed.error().message().c_str());
    }
    e.schedule = std::move(s);
    impl->entries[e.schedule.name] = std::move(e);
  }
  return std::unique_ptr<Scheduler>(new Scheduler(std::move(impl)));
}

Scheduler::~Scheduler() { shutdown(); }

void Scheduler::start() {
  if (impl_->started) return;
  impl_->started = true;
  const int64_t now = impl_->now();
  for (auto& [name, e] : impl_->entries) {
    if (Expression::parse(e.schedule.expression)) e.next = impl_->next_after(e, now);
  }
  impl_->arm();
}

void Scheduler::shutdown() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->timer.cancel();
  impl_->store_thread.join();
}

int64_t Scheduler::now_ms() const { return impl_->now(); }

const Entry* Scheduler::find(const std::string& name) const {
  auto it = impl_->entries.find(name);
  return it == impl_->entries.end() ? nullptr : &it->second;
}

std::vector<const Entry*> Scheduler::list() const {
  std::vector<const Entry*> out;
  out.reserve(impl_->entries.size());
  for (const auto& [name, e] : impl_->entries) out.push_back(&e);
  return out;
}

void Scheduler::put(Schedule schedule, bool create_only, std::function<void(Result<void>)> done) {
  if (impl_->stopped) {
    done(Error::make(Code::kUnavailable, "the scheduler is shutting down"));
    return;
  }
  if (const Entry* old = find(schedule.name)) {
    if (create_only) {
      done(Error::make(Code::kConflict, "Schedule already exists: " + schedule.name));
      return;
    }
    schedule.last_fired_ms = old->schedule.last_fired_ms;
    schedule.created_ms =
        old->schedule.expression == schedule.expression ? old->schedule.created_ms : impl_->now();
  } else {
    schedule.created_ms = impl_->now();
  }
  auto s = std::make_shared<Schedule>(std::move(schedule));
  impl_->on_store<void>(
      [s, create_only](Store& st) { return create_only ? st.insert(*s) : st.upsert(*s); },
      [self = impl_, s, done = std::move(done)](Result<void> r) {
        if (r && !self->stopped) self->install(*s);
        if (!r) ++self->counters.errors;
        done(std::move(r));
      });
}

void Scheduler::remove(std::string name, std::function<void(Result<bool>)> done) {
  if (impl_->stopped) {
    done(Error::make(Code::kUnavailable, "the scheduler is shutting down"));
    return;
  }
  auto n = std::make_shared<std::string>(std::move(name));
  impl_->on_store<bool>([n](Store& st) { return st.remove(*n); },
                        [self = impl_, n, done = std::move(done)](Result<bool> r) {
                          if (r) {
                            self->entries.erase(*n);
                            self->arm();
                          }
                          done(std::move(r));
                        });
}

std::string Scheduler::rule_arn(const std::string& name) const {
  return "arn:aws:events:" + impl_->options.region + ":" + impl_->options.account + ":rule/" + name;
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats s = impl_->counters;
  s.schedules = static_cast<int64_t>(impl_->entries.size());
  return s;
}

}  // namespace lambdad::schedule
