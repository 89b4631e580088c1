// Figure of the `value` group (tools/bench), as in ../shared/baselines:
//   mp_value_locked_incr (incr/s)  two processes (this one and a forked
//                                  child, parties 0 and 1 for BENCH_PIN)
//                                  each doing n Update(+1) on one
//                                  Value<int> with its own lock; total
//                                  increments per second (Python's
//                                  `with v.get_lock(): v.value += 1`)
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>

#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "shm_value/value.h"
#include "tools/bench_util/bench_util.h"

namespace mp {
namespace {

constexpr int64_t kBatch = 200000;  // increments per party per iteration

void Increments(Value<int>& v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    v.Update([](int& x) { x += 1; }).IgnoreError();
  }
}

bool ReadFull(int fd, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

void BM_LockedIncrement(benchmark::State& state) {
  absl::StatusOr<Value<int>> v = Value<int>::Create(0);
  if (!v.ok()) return state.SkipWithError("Value::Create failed");
  int go[2], done[2];
  if (pipe(go) != 0 || pipe(done) != 0) return state.SkipWithError("pipe");
  pid_t pid = fork();
  if (pid < 0) return state.SkipWithError("fork failed");
  if (pid == 0) {
    close(go[1]);  // so that the parent's close ends the loop below
    close(done[0]);
    bench::Pin(1);
    int64_t n;
    while (ReadFull(go[0], &n, sizeof n)) {
      Increments(*v, n);
      if (write(done[1], "k", 1) != 1) _exit(2);
    }
    _exit(0);
  }
  close(go[0]);
  close(done[1]);
  bench::Pin(0);
  double seconds = 0;
  int before = *v->Get();
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    if (write(go[1], &kBatch, sizeof kBatch) != sizeof kBatch) {
      state.SkipWithError("write");
      break;
    }
    Increments(*v, kBatch);
    char k;
    if (!ReadFull(done[0], &k, 1)) {
      state.SkipWithError("child died");
      break;
    }
    seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  }
  close(go[1]);
  int status;
  waitpid(pid, &status, 0);
  close(done[0]);
  // A C int: compare modulo 2^32, as the Python baseline does.
  uint32_t total =
      static_cast<uint32_t>(*v->Get()) - static_cast<uint32_t>(before);
  uint64_t expected = 2 * kBatch * static_cast<uint64_t>(state.iterations());
  if (total != static_cast<uint32_t>(expected)) {
    return state.SkipWithError("lost increments");
  }
  // Wall-clock rate, measured here: Google Benchmark's own rates divide by
  // this process's CPU time.
  state.counters["incr/s"] =
      benchmark::Counter(static_cast<double>(expected) / seconds);
}
BENCHMARK(BM_LockedIncrement)
    ->Name(bench::FigureName("mp_value_locked_incr"))
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mp

BENCHMARK_MAIN();
