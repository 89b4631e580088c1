// Figures of the `lock` group (tools/bench), as in ../shared/baselines:
//   mp_lock_uncontended (ns)   Lock::Acquire() + Release() in one thread,
//                              owner-death detection included
//   mp_lock_contended (incr/s) two processes (this one and a forked child,
//                              parties 0 and 1 for BENCH_PIN) each doing n
//                              increments of one shared counter under one
//                              Lock; total increments per second
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>

#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "lock/lock.h"
#include "shm_value/shared_memory.h"
#include "tools/bench_util/bench_util.h"

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

void BM_Contended(benchmark::State& state) {
  absl::StatusOr<Lock> lock = Lock::Create();
  absl::StatusOr<SharedMemory> shm = SharedMemory::Create(sizeof(int64_t));
  if (!lock.ok() || !shm.ok()) return state.SkipWithError("setup failed");
  volatile int64_t* counter = static_cast<int64_t*>(shm->data());
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
      Increments(*lock, counter, n);
      if (write(done[1], "k", 1) != 1) _exit(2);
    }
    _exit(0);
  }
  bench::Pin(0);
  double seconds = 0;
  int64_t before = *counter;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    if (write(go[1], &kBatch, sizeof kBatch) != sizeof kBatch) {
      state.SkipWithError("write");
      break;
    }
    Increments(*lock, counter, kBatch);
    char k;
    if (!ReadFull(done[0], &k, 1)) {
      state.SkipWithError("child died");
      break;
    }
    seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  }
  close(go[0]);
  close(done[1]);
  close(go[1]);
  int status;
  waitpid(pid, &status, 0);
  close(done[0]);
  int64_t total = *counter - before;
  if (total != 2 * kBatch * static_cast<int64_t>(state.iterations())) {
    return state.SkipWithError("lost increments");
  }
  // Wall-clock rate, measured here: Google Benchmark's own rates divide by
  // this process's CPU time.
  state.counters["incr/s"] = benchmark::Counter(total / seconds);
}
BENCHMARK(BM_Contended)
    ->Name(bench::FigureName("mp_lock_contended"))
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mp

BENCHMARK_MAIN();
