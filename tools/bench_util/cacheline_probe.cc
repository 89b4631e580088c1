// Prints how long one cache line takes to go from CPU 0 to CPU 1 and back:
// two threads, pinned one to each CPU, hand a counter to and fro.
//
// Every figure of a shared-memory primitive whose two parties sit on
// different CPUs is bounded by this round trip, and on a virtual machine it
// changes with where the host happens to place the vCPUs, while a baseline
// that sleeps in the kernel for each item barely moves. tools/bench prints it
// before and after a run so that a ratio can be read next to the machine it
// was measured on.
//
// Usage: cacheline_probe [round_trips]   (prints `cacheline_roundtrip N ns`)

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

void PinThisThread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
    std::fprintf(stderr, "cacheline_probe: cannot pin a thread to CPU %d\n",
                 cpu);
    std::exit(2);
  }
}

// Its own line, so that nothing else the threads touch travels with it.
struct alignas(64) Line {
  std::atomic<long> turn{0};
};

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  if (n <= 0) {
    std::fprintf(stderr, "usage: cacheline_probe [round_trips > 0]\n");
    return 2;
  }
  if (std::thread::hardware_concurrency() < 2) {
    std::fprintf(stderr, "cacheline_probe: needs two CPUs\n");
    return 2;
  }
  static Line line;
  std::thread other([n] {
    PinThisThread(1);
    for (long i = 0; i < n; ++i) {
      while (line.turn.load(std::memory_order_acquire) != 2 * i + 1) {
      }
      line.turn.store(2 * i + 2, std::memory_order_release);
    }
  });
  PinThisThread(0);
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    line.turn.store(2 * i + 1, std::memory_order_release);
    while (line.turn.load(std::memory_order_acquire) != 2 * i + 2) {
    }
  }
  const std::chrono::duration<double, std::nano> took =
      std::chrono::steady_clock::now() - start;
  other.join();
  std::printf("cacheline_roundtrip %.0f ns\n", took.count() / n);
  return 0;
}
