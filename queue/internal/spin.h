// Busy-wait helpers for the queue's spin-then-sleep waits.
#ifndef MP_QUEUE_INTERNAL_SPIN_H_
#define MP_QUEUE_INTERNAL_SPIN_H_

#include <atomic>

#include "base/internal/cpu_relax.h"

namespace mp {
namespace queue_internal {

// How many pauses a waiter spends re-checking its condition before it
// yields and then sleeps. Across CPUs a hand-off seen while spinning costs well
// under a microsecond, a sleeper woken by the kernel 20-30 us on a VM; a
// PAUSE costs 25 ns on this project's EPYC VM (Intel documents about 140
// cycles since Skylake, some 45 ns), so this spins for some microseconds.
inline constexpr int kSpinPauses = 100;
// It re-checks only every so many pauses (0.8-1.5 us): each look at the
// other side's line takes it away from the other CPU, whose next store then
// waits for it, and a consumer that looks less often finds a batch of items
// waiting and takes them back to back. Between two processes streaming
// 64-byte items on two CPUs, 70 runs each, interleaved: looking every 8
// pauses gave a median of 23.4 M items/s, every 32 pauses 32.1 M/s (every
// 64, 35-36 M/s in a shorter trial). The price is at most this much more
// latency on a hand-off to a spinning consumer, far below a sleeper's.
inline constexpr int kPausesPerCheck = 32;
// Then it yields the CPU this many times before it sleeps: when the other
// side runs on the same CPU, yielding lets it run on without a wake-up per
// item (a sleeper woken on its own CPU preempts the waker at once).
inline constexpr int kSpinYields = 50;

// A producer that shares its CPU with a yielding consumer yields to it
// after every this many items, so that the consumer takes them while they
// are still in the CPU's caches: otherwise the producer runs on for its time
// slice (milliseconds; 100k and more 64-byte items, megabytes beyond L2) and
// the consumer then reads them all back from memory farther away. With both
// processes on one CPU of this project's VM, streaming 64-byte items
// (interleaved, 4 runs each, with a lock-free test build of the producer
// side): 30.2 M items/s without, 35.3 M/s yielding every 1024 items, 41.5
// M/s every 4096. A yield costs a context switch each way, some
// microseconds, shared by the batch.
inline constexpr uint64_t kHandOffItems = 4096;

// The CPU the calling thread runs on, or -1 if unknown
// (current_cpu_linux.cc, current_cpu_win.cc).
int CurrentCpu();

using base_internal::CpuRelax;

// A sequentially consistent fence for a place right after an atomic
// read-modify-write. On x86-64 every such operation is a locked instruction
// and so already a full barrier, and only the compiler needs holding back
// (Linux's smp_mb__after_atomic()); a fence there would cost as much as the
// read-modify-write again. Elsewhere it is the fence.
inline void SeqCstFenceAfterAtomicRmw() {
#if defined(__x86_64__) || defined(__i386__)
  std::atomic_signal_fence(std::memory_order_seq_cst);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_SPIN_H_
