// The two-party driver behind mp_lock_contended (lock/lock_benchmark.cc) and
// mp_value_locked_incr (shm_value/value_benchmark.cc), shaped like the lock
// baselines tools/bench runs beside them: in every benchmark iteration this
// process (party 0 for BENCH_PIN) and a child forked once (party 1) each run
// one batch of work, started together through a pipe. Linux only (fork).
//
// Example:
//
//   void BM_Contended(benchmark::State& state) {
//     ... a Lock and a counter in shared memory ...
//     double seconds = mp::bench::RunTwoParties(
//         state, kBatch, [&](int64_t n) { Increments(lock, counter, n); });
//     if (state.error_occurred()) return;
//     ... check the counter, report 2 * kBatch * iterations / seconds ...
//   }
#ifndef MP_TOOLS_BENCH_UTIL_TWO_PARTY_H_
#define MP_TOOLS_BENCH_UTIL_TWO_PARTY_H_

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "benchmark/benchmark.h"

namespace mp {
namespace bench {

// Runs `work(batch)` in both parties once per iteration of `state`. Returns
// the wall-clock seconds the iterations took (Google Benchmark's own rates
// would divide by this process's CPU time), or 0 after
// state.SkipWithError().
double RunTwoParties(benchmark::State& state, int64_t batch,
                     absl::FunctionRef<void(int64_t)> work);

}  // namespace bench
}  // namespace mp

#endif  // MP_TOOLS_BENCH_UTIL_TWO_PARTY_H_
