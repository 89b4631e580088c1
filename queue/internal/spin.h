// Busy-wait helpers for the queue's spin-then-sleep waits. The figures
// recorded when the constants were chosen are in docs/performance.md.
#ifndef MP_QUEUE_INTERNAL_SPIN_H_
#define MP_QUEUE_INTERNAL_SPIN_H_

#include <atomic>

#include "base/internal/cpu_relax.h"

namespace mp {
namespace queue_internal {

// How many pauses a waiter spends re-checking its condition before it
// yields and then sleeps. Across CPUs a hand-off seen while spinning costs
// well under a microsecond, and a sleeper woken by the kernel can cost tens
// of microseconds, on a virtual machine above all, where the wake-up goes
// through the hypervisor (mp_wait_wake_latency_pincross); a PAUSE takes some
// tens of nanoseconds (Intel documents about 140 cycles since Skylake; other
// CPUs differ), so this spins for some microseconds.
inline constexpr int kSpinPauses = 100;
// It re-checks only every so many pauses: each look at the other side's
// line takes it away from the other CPU, whose next store then waits for
// it, and a consumer that looks less often finds a batch of items waiting
// and takes them back to back. Looking every 8 pauses streamed clearly
// fewer 64-byte items between two processes on two CPUs than every 32
// (mp_queue_1p1c_pincross), and every 64 only a little more. The price is
// at most this much more latency on a hand-off to a spinning consumer, far
// below a sleeper's.
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
// processes on one CPU (mp_queue_1p1c_pinsame), yielding every 1024 items
// streamed more than not yielding, and every 4096 more still. A yield costs
// a context switch each way, some microseconds, shared by the batch.
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
