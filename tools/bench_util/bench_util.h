// Helpers shared by every package's Google Benchmark target, so that the
// figures `tools/bench` prints line up with those of the baseline programs
// it runs with --baselines.
//
// Placement follows the baselines' BENCH_PIN: unset, the scheduler decides;
// "same" pins every party to CPU 0; "cross" pins party 0 (the parent, the
// first worker, the producer) to CPU 0 and party 1 to CPU 1. A pin-aware
// benchmark calls Pin(party) in each process it runs in and registers its
// figure under FigureName(...), which appends "_pinsame" / "_pincross".
//
// Example:
//
//   static void BM_PingPong(benchmark::State& state) {
//     ... fork a child that calls mp::bench::Pin(1) ...
//     mp::bench::Pin(0);
//     for (auto _ : state) { ... }
//   }
//   BENCHMARK(BM_PingPong)
//       ->Name(mp::bench::FigureName("mp_pipe_pingpong64"))
//       ->Unit(benchmark::kMicrosecond)->UseRealTime();

#ifndef MP_TOOLS_BENCH_UTIL_BENCH_UTIL_H_
#define MP_TOOLS_BENCH_UTIL_BENCH_UTIL_H_

#include <string>

namespace mp {
namespace bench {

// `figure` plus "_pin<BENCH_PIN>" when BENCH_PIN is set.
std::string FigureName(const std::string& figure);

// Pins the calling process (all its threads) as BENCH_PIN says for `party`.
// Does nothing when BENCH_PIN is unset; aborts the benchmark binary (exit 2)
// when pinning was asked for and failed, since the figure would be a lie.
void Pin(int party);

}  // namespace bench
}  // namespace mp

#endif  // MP_TOOLS_BENCH_UTIL_BENCH_UTIL_H_
