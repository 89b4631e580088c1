// mp_wait_wake_latency (us): how long a WaitWord wake takes to get a sleeping
// thread of another process running. Two processes ping-pong over two words
// in MAP_SHARED memory, each sleeping in Wait() until the other changes its
// word; the figure is half a round trip: one wake-up and hand-off.
// BENCH_PIN=same puts both on CPU 0, cross on CPUs 0 and 1. No UseRealTime():
// it would rename the figure "<name>/real_time"; tools/bench reads the wall
// time ("real_time") of each run anyway.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <new>

#include "base/deadline.h"
#include "base/wait_word.h"
#include "benchmark/benchmark.h"
#include "tools/bench_util/bench_util.h"

namespace mp {
namespace {

struct PingPong {
  WaitWord ping;  // parent -> child: the round number, or kStop
  WaitWord pong;  // child -> parent: the round number it answers
};

constexpr uint32_t kStop = 0xFFFFFFFFu;

// Sleeps until `word` is no longer `seen`; returns the new value.
uint32_t AwaitChange(WaitWord& word, uint32_t seen) {
  uint32_t v;
  while ((v = word.value().load()) == seen) {
    if (!word.Wait(seen, Deadline::Never()).ok()) _exit(2);
  }
  return v;
}

void Child(PingPong* pp) {
  bench::Pin(1);
  uint32_t seen = 0;
  for (;;) {
    seen = AwaitChange(pp->ping, seen);
    if (seen == kStop) _exit(0);
    pp->pong.value().store(seen);
    if (!pp->pong.Wake(1).ok()) _exit(2);
  }
}

void BM_WakeLatency(benchmark::State& state) {
  void* mem = mmap(nullptr, sizeof(PingPong), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return state.SkipWithError("mmap failed");
  PingPong* pp = new (mem) PingPong;
  pid_t pid = fork();
  if (pid < 0) return state.SkipWithError("fork failed");
  if (pid == 0) Child(pp);
  bench::Pin(0);
  // Iterations alternate: an odd one wakes the child, the even one after it
  // sleeps until the child's answer wakes us. Two iterations are one round
  // trip, so the time per iteration is one wake-up and hand-off.
  uint32_t round = 0;
  bool outstanding = false;
  for (auto _ : state) {
    if (!outstanding) {
      if (++round == kStop) round = 1;
      pp->ping.value().store(round);
      if (!pp->ping.Wake(1).ok()) state.SkipWithError("wake failed");
    } else {
      for (uint32_t v; (v = pp->pong.value().load()) != round;) {
        AwaitChange(pp->pong, v);
      }
    }
    outstanding = !outstanding;
  }
  for (uint32_t v; outstanding && (v = pp->pong.value().load()) != round;) {
    AwaitChange(pp->pong, v);
  }
  pp->ping.value().store(kStop);
  pp->ping.Wake(1).IgnoreError();
  int status;
  waitpid(pid, &status, 0);
  munmap(mem, sizeof(PingPong));
}
BENCHMARK(BM_WakeLatency)
    ->Name(bench::FigureName("mp_wait_wake_latency"))
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace mp

BENCHMARK_MAIN();
