// Busy-wait helpers for the queue's spin-then-sleep waits.
#ifndef MP_QUEUE_INTERNAL_SPIN_H_
#define MP_QUEUE_INTERNAL_SPIN_H_

namespace mp {
namespace queue_internal {

// How many times a waiter re-checks its condition, pausing in between,
// before it sleeps. Across CPUs a hand-off seen while spinning costs well
// under a microsecond, a sleeper woken by the kernel 20-30 us on a VM; a
// PAUSE costs about 50 ns there, so this spins for some microseconds.
inline constexpr int kSpinPauses = 100;
// Then it yields the CPU this many times before it sleeps: when the other
// side runs on the same CPU, yielding lets it run on without a wake-up per
// item (a sleeper woken on its own CPU preempts the waker at once).
inline constexpr int kSpinYields = 50;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_SPIN_H_
