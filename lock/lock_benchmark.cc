// Figures of the `lock` group (tools/bench), shaped like its lock baselines:
//   mp_lock_uncontended (ns)   Lock::Acquire() + Release() in one thread,
//                              owner-death detection included
//   mp_lock_contended (incr/s) two processes (this one and a forked child,
//                              parties 0 and 1 for BENCH_PIN) each doing n
//                              increments of one shared counter under one
//                              Lock; total increments per second
#include <cstdint>

#include "absl/status/statusor.h"
#include "base/shared_memory.h"
#include "benchmark/benchmark.h"
#include "lock/lock.h"
#include "tools/bench_util/bench_util.h"
#include "tools/bench_util/two_party.h"

namespace mp {
namespace {

void BM_Uncontended(benchmark::State& state) {
  absl::StatusOr<Lock> created = Lock::Create();
  if (!created.ok()) return state.SkipWithError("Lock::Create failed");
  Lock& lock = *created;
  for (auto _ : state) {
    lock.Acquire().IgnoreError();
    lock.Release().IgnoreError();
  }
}
BENCHMARK(BM_Uncontended)
    ->Name(bench::FigureName("mp_lock_uncontended"))
    ->Unit(benchmark::kNanosecond);

constexpr int64_t kBatch = 200000;  // increments per party per iteration

void Increments(Lock& lock, volatile int64_t* counter, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    lock.Acquire().IgnoreError();
    *counter = *counter + 1;
    lock.Release().IgnoreError();
  }
}

void BM_Contended(benchmark::State& state) {
  absl::StatusOr<Lock> lock = Lock::Create();
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(sizeof(int64_t));
  if (!lock.ok() || !shm.ok()) return state.SkipWithError("setup failed");
  volatile int64_t* counter = static_cast<int64_t*>(shm->data());
  double seconds = bench::RunTwoParties(
      state, kBatch, [&](int64_t n) { Increments(*lock, counter, n); });
  if (state.error_occurred()) return;
  int64_t total = *counter;
  if (total != 2 * kBatch * static_cast<int64_t>(state.iterations())) {
    return state.SkipWithError("lost increments");
  }
  state.counters["incr/s"] = benchmark::Counter(total / seconds);
}
BENCHMARK(BM_Contended)
    ->Name(bench::FigureName("mp_lock_contended"))
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mp

BENCHMARK_MAIN();
