// EventBridge schedule expressions on hostile input: the parser must answer every input with
// an Expression or a kInvalidArgument error (no crash, no hang), and a parsed expression's
// next_fire() must honour its contract: strictly later, on a whole minute for cron(), and a
// fixed point (asking again from just before a firing gives that firing).
#include <cstdlib>
#include <string_view>

#include "schedule/expression.h"

using namespace lambdad;

namespace {
void check(bool cond) {
  if (!cond) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto e = schedule::Expression::parse(text);
  if (!e) {
    check(e.error().code == Code::kInvalidArgument);
    return 0;
  }
  using std::chrono::seconds;
  // 2024-02-29T12:34:56Z and 2199-12-31T23:00:00Z.
  for (const schedule::Time after :
       {schedule::Time(seconds(1709210096)), schedule::Time(seconds(7258114800))}) {
    const auto next = e->next_fire(after, schedule::Time(seconds(1700000000)));
    if (!next) {
      check(!e->is_rate());
      continue;
    }
    check(*next > after);
    if (!e->is_rate()) check(next->time_since_epoch().count() % 60 == 0);
    check(e->next_fire(*next - seconds(1), schedule::Time(seconds(1700000000))) == next);
  }
  return 0;
}
