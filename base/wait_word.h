// WaitWord: a 32-bit word in shared memory that threads of every process
// mapping it can sleep on until another thread changes it and wakes them.
//
// This is the building block under mp's locks, semaphores, events and queues:
// Python's multiprocessing gets the same service from POSIX semaphores
// (sem_timedwait) and Windows kernel objects; mp wants a bare word instead so
// that the state those primitives keep (a count, a ticket, a flag) and the
// thing to sleep on are one and the same, and the fast paths stay in user
// space.
//
// Contract:
//   - Wait(expected, deadline) sleeps only while value() == expected, so a
//     change made before the call (or before the sleep) is never missed: the
//     comparison and the sleep are atomic with respect to Wake().
//   - Wait() may return OK spuriously (a signal, a stale wake-up, a finite
//     deadline too long for the OS call). Callers re-check their condition in
//     a loop, with one mp::Deadline for the whole loop. It returns
//     mp::TimeoutError() only when the deadline has passed.
//   - Wake() costs one atomic load when nobody sleeps: waiters announce
//     themselves in a count next to the word before they sleep. To close the
//     lost-wake-up race, change value() with a sequentially consistent
//     operation (the default memory order, or any read-modify-write) before
//     calling Wake().
//   - Zero-filled memory is a valid WaitWord holding 0, so a WaitWord can sit
//     in freshly created shared memory without construction. Its address may
//     differ between processes (each maps the memory where it likes).
//
// Backends:
//   Linux    futex(2) without FUTEX_PRIVATE_FLAG (the word is in MAP_SHARED
//            memory, so the kernel keys it by page, not by address space);
//            FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC time, the
//            clock mp::Deadline uses.
//   Windows  WaitOnAddress only wakes threads of the same process, so a
//            sleeper takes a ticket (two counters in the word) and sleeps on
//            an event of its own, "Local\mp-wait-<id>-<ticket>", where <id>
//            is a random 64-bit id kept in the word (picked by the first
//            Wait); Wake(n) signals the oldest n tickets still wanted. The
//            tickets change under a named kernel mutex of the word, which
//            each process opens once and caches; the kernel releases it and
//            the events of a process that dies. Wait() costs a few system
//            calls more than on Linux, Wake() with nobody asleep the same
//            one load. A ticket whose sleeper left without its wake-up is
//            skipped, or hands the wake-up on, so a wake-up never goes to a
//            thread that is already waiting for the next change (a shared
//            counting semaphore would let one, and strand a sleeper).
//   macOS    (plan, not built) macOS 14.4+ has os_sync_wait_on_address /
//            os_sync_wake_by_address_{any,all} with
//            OS_SYNC_WAIT_ON_ADDRESS_SHARED and OS_SYNC_WAKE_BY_ADDRESS_SHARED,
//            the cross-process futex, with a timeout on the Mach absolute
//            clock (os_sync_wait_on_address_with_timeout, OS_CLOCK_MACH_
//            ABSOLUTE_TIME). Before 14.4 the same kernel service is the
//            private __ulock_wait2 / __ulock_wake with UL_COMPARE_AND_WAIT_
//            SHARED (and ULF_WAKE_ALL), which libc++ and Chromium use; it
//            takes a relative timeout in nanoseconds, so a wait recomputes it
//            from the Deadline on every loop. The layout stays {value,
//            waiters}, as on Linux.
//
// Example (a one-shot flag in shared memory):
//
//   mp::WaitWord* flag = ...;                  // in a MAP_SHARED mapping
//   // waiter, any process:
//   mp::Deadline deadline = mp::Deadline::After(absl::Seconds(1));
//   while (flag->value().load() == 0) {
//     absl::Status s = flag->Wait(0, deadline);
//     if (mp::IsTimeout(s)) return s;          // a second passed, still 0
//     if (!s.ok()) return s;                   // the OS refused
//   }
//   // setter, any process:
//   flag->value().store(1);
//   flag->WakeAll().IgnoreError();             // or report it

#ifndef MP_BASE_WAIT_WORD_H_
#define MP_BASE_WAIT_WORD_H_

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "base/deadline.h"

namespace mp {

class WaitWord {
 public:
  // A word holding `initial`. Memory filled with zero bytes is a WaitWord
  // holding 0 as well.
  constexpr explicit WaitWord(uint32_t initial = 0) : value_(initial) {}
  WaitWord(const WaitWord&) = delete;
  WaitWord& operator=(const WaitWord&) = delete;

  // The word itself. Change it with a sequentially consistent operation
  // before Wake()/WakeAll() (see the contract above).
  std::atomic<uint32_t>& value() { return value_; }
  const std::atomic<uint32_t>& value() const { return value_; }

  // Sleeps while value() == expected, until woken, until `deadline`, or
  // spuriously. Returns OK at once if value() != expected. Returns
  // mp::TimeoutError() only if the deadline has passed (at once for
  // Deadline::Now() when the value is still `expected`), or the OS error if
  // the wait could not be made.
  absl::Status Wait(uint32_t expected, Deadline deadline);

  // Wakes up to `count` sleepers, or all of them. Nearly free when
  // nobody sleeps. Fails only if the OS refuses (on Windows: the mutex
  // could not be opened), in which case sleepers may stay asleep until their
  // deadline.
  absl::Status Wake(uint32_t count);
  absl::Status WakeAll();

  // How many threads are inside Wait() right now (about to sleep, asleep or
  // returning). For diagnostics and tests; stale as soon as it is read.
  uint32_t num_waiters() const {
    return waiters_.load(std::memory_order_relaxed);
  }

  // Releases what this process holds for the word (the Windows backend's
  // cached mutex handle; nothing on Linux). Call it when the memory is
  // about to be unmapped for good in this process and no thread of it is
  // waiting; a later Wait() would simply open the mutex again.
  void ForgetInThisProcess();

 private:
  std::atomic<uint32_t> value_;
  std::atomic<uint32_t> waiters_{0};
#ifdef _WIN32
  // Signals up to `count` tickets from head_, skipping those whose sleeper
  // left; the caller holds the word's kernel mutex.
  absl::Status WakeLocked(uint64_t id, uint32_t count);

  // Names the kernel objects; 0 until the first Wait() picks one.
  std::atomic<uint64_t> id_{0};
  // Sleepers' tickets: [head_, tail_) are not woken yet. Both change only
  // under the kernel mutex.
  std::atomic<uint64_t> head_{0};
  std::atomic<uint64_t> tail_{0};
#endif
};

static_assert(std::atomic<uint32_t>::is_always_lock_free,
              "WaitWord needs lock-free 32-bit atomics to live in shared "
              "memory");
#ifdef _WIN32
static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "WaitWord needs lock-free 64-bit atomics to live in shared "
              "memory");
#endif

}  // namespace mp

#endif  // MP_BASE_WAIT_WORD_H_
