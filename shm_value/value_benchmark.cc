// Figure of the `value` group (tools/bench), shaped like the lock baselines:
//   mp_value_locked_incr (incr/s)  two processes (this one and a forked
//                                  child, parties 0 and 1 for BENCH_PIN)
//                                  each doing n Update(+1) on one
//                                  Value<int> with its own lock; total
//                                  increments per second (Python's
//                                  `with v.get_lock(): v.value += 1`)
#include <cstdint>

#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "shm_value/value.h"
#include "tools/bench_util/bench_util.h"
#include "tools/bench_util/two_party.h"

namespace mp {
namespace {

constexpr int64_t kBatch = 200000;  // increments per party per iteration

void Increments(Value<int>& v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    v.Update([](int& x) { x += 1; }).IgnoreError();
  }
}

void BM_LockedIncrement(benchmark::State& state) {
  absl::StatusOr<Value<int>> v = Value<int>::Create(0);
  if (!v.ok()) return state.SkipWithError("Value::Create failed");
  double seconds = bench::RunTwoParties(state, kBatch,
                                        [&](int64_t n) { Increments(*v, n); });
  if (state.error_occurred()) return;
  // A C int: compare modulo 2^32, as the Python baseline does.
  uint32_t total = static_cast<uint32_t>(*v->Get());
  uint64_t expected = 2 * kBatch * static_cast<uint64_t>(state.iterations());
  if (total != static_cast<uint32_t>(expected)) {
    return state.SkipWithError("lost increments");
  }
  state.counters["incr/s"] =
      benchmark::Counter(static_cast<double>(expected) / seconds);
}
BENCHMARK(BM_LockedIncrement)
    ->Name(bench::FigureName("mp_value_locked_incr"))
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mp

BENCHMARK_MAIN();
