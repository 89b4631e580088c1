// RobustMutex: the mutex under Lock, RLock, Condition and Barrier. It lives in
// shared memory (zero-filled memory is an unlocked RobustMutex), knows which
// thread holds it, and tells the next acquirer when the holder died holding
// it (mp::OwnerDiedError(), the mutex then being held by the caller).
//
// Like Python's multiprocessing.Lock, a holder may be released by any thread
// of any process (Release()); RLock and Condition use Unlock(), which only
// the holder may call.
//
// Linux. The word is a robust futex in the kernel's FUTEX_OWNER_DIED
// protocol: the holder's TID, plus FUTEX_WAITERS while someone sleeps. The
// holder puts the mutex on its thread's robust list, glibc's own list
// (get_robust_list gives the head; glibc registers one for every thread), in
// glibc's entry layout: prev/next pointers 24 and 32 bytes after the word,
// futex_offset -32, the head's prev slot just before it. When a thread
// exits or its process dies (SIGKILL included), the kernel walks that list
// and, for every word still holding that thread's TID, sets FUTEX_OWNER_DIED
// and wakes a sleeper. The fast paths are one compare-and-swap each plus a
// few plain stores into the mutex's cache line and the thread's list head,
// with list_op_pending covering the instants between the two (the
// kernel's protocol for a death in mid-operation). glibc's robust pthread
// mutex does the same through a slower general path.
//
// The mutex records whose list its entry is on. A new holder finds it on
// no list (put it on its own), on its own list (nothing to do), or on the
// list of a thread that died holding the mutex: the kernel read the
// entry's link before it freed the word, so that list is done with, and the
// new holder takes the entry over at once, while the dead thread may still
// be exiting. A release by another thread cannot take the entry off the
// holder's list (only the list's thread may touch it): it marks the entry
// "parked" instead, and there it stays until that thread takes the mutex
// again (and then releases it) or is gone. Until then a new holder holds it
// "unprotected", out of the kernel's sight (so too a thread without a
// usable robust list): its sleepers look every few milliseconds whether its
// thread is gone, and the first to see it takes the mutex over with
// OwnerDiedError. (A TID the system has handed to a new thread meanwhile
// hides the death until that thread is gone too.)
// Processes must be created by fork() or exec (fork's atfork handler
// renews the per-thread cache) and share a PID namespace (the word holds
// TIDs).
//
// Windows. The word names the holder thread: its id, and 32 bits of its
// creation time so that a later thread given the same id is not taken for
// it. Sleepers wait on a named semaphore and on a handle to the holder
// thread (OpenThread), which the kernel signals when that thread ends, its
// process killed or crashed included; a sleeper that sees it signalled, or
// finds the thread gone, while the word still names it takes the mutex
// over with OwnerDiedError. Taking the mutex is one compare-and-swap of the
// word, so there is no instant at which a holder's death goes unnoticed, and
// a release by another thread leaves no hold unprotected. The semaphore's
// name derives from a random id kept in the shared memory.
//
// macOS (plan, not built). There is no robust list and no robust pthread
// mutex. The plan: the word holds the holder's identity (a per-thread
// index into a small table of (pid, thread id) in the shared memory), waits
// use os_sync_wait_on_address with OS_SYNC_WAIT_ON_ADDRESS_SHARED (see
// base/wait_word.h), and a sleeper that has waited a while registers a kqueue
// EVFILT_PROC/NOTE_EXIT filter on the holder's pid; when it fires and the
// word still names that holder, the sleeper takes the mutex over with
// OwnerDiedError. That notices process death (what multiprocessing needs),
// not the end of a single thread.
#ifndef MP_LOCK_INTERNAL_ROBUST_MUTEX_H_
#define MP_LOCK_INTERNAL_ROBUST_MUTEX_H_

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "base/deadline.h"

namespace mp {
namespace lock_internal {

#ifndef _WIN32
struct ThreadState;  // robust_mutex_linux.cc: this thread's TID, list, ...
#endif

// A contended Lock() watches the word this many times, kPausesPerLockSpin
// PAUSEs apart (some microseconds in all), before it sleeps in the kernel,
// unless someone sleeps already or the deadline has passed: most holds are
// shorter than a sleep and a wake-up, and between two CPUs the spin raised
// the rate of two processes taking turns on a Value's lock by far
// (mp_value_locked_incr_pincross in shm_value/value_benchmark.cc; recorded
// figures in docs/performance.md).
inline constexpr int kLockSpins = 20;
inline constexpr int kPausesPerLockSpin = 4;

// Not aligned to a cache line of its own: its users put it in the line of
// what it guards (a Value's lock sits with the value), so that a hand-over
// between CPUs moves one line, not two or three.
class RobustMutex {
 public:
  RobustMutex() = default;
  RobustMutex(const RobustMutex&) = delete;
  RobustMutex& operator=(const RobustMutex&) = delete;

  // Takes the mutex by `deadline`. Returns OK, or mp::OwnerDiedError() when
  // the previous holder died holding it (the caller now holds it), or
  // mp::TimeoutError() (not held), or an OS error (not held). A thread that
  // already holds it waits for someone else to release it, like Python's
  // Lock.
  absl::Status Lock(Deadline deadline);

  // Releases a mutex the calling thread holds; kFailedPrecondition if it
  // does not. With `owner_died` the next acquirer gets OwnerDiedError again,
  // for a caller that took the mutex from a dead owner but did not repair
  // what it guards. The release is an atomic read-modify-write of the word
  // on every path, so a fence after it may be SeqCstFenceAfterAtomicRmw()
  // (queue/internal/spin.h), as in Queue's Put.
  absl::Status Unlock(bool owner_died = false);

  // Python's Lock.release(): releases the mutex whoever holds it;
  // kFailedPrecondition ("semaphore or lock released too many times") if
  // nobody does.
  absl::Status Release();

  bool HeldByMe() const;
  bool IsLocked() const;
  // Whether the calling thread holds the mutex and its death would be
  // noticed: the next acquirer told OwnerDiedError. Not so on Linux for a
  // hold that is unprotected (see above), so a caller that relies on it
  // checks.
  bool HeldByMeProtected() const;

  // Whether a thread of this process has the mutex on its robust list (Linux;
  // never on Windows). While it does, the memory holding
  // the mutex must stay mapped in this process: the kernel reads the list
  // when the thread exits.
  bool PinnedInThisProcess() const;

  // Opens this process's kernel objects for the mutex (Windows; nothing on
  // Linux). Every process that maps the mutex calls it first: the sleepers'
  // semaphore lives only as long as some process has it open.
  absl::Status AttachInThisProcess();

  // Forgets this process's cached kernel objects (Windows); call when the
  // memory is about to be unmapped for good and no thread of this process
  // is using the mutex.
  void ForgetInThisProcess();

 private:
#ifdef _WIN32
  absl::Status LockSlow(uint64_t self, uint64_t seen, Deadline deadline);
  // After winning the word: the owner-died news, if any.
  absl::Status Acquired();
  // The holder's release; false if another thread released it first.
  bool ReleaseHeld(uint64_t self, bool owner_died);
  void WakeOne();

  // The holder (thread id << 32 | creation-time bits), 0 when free.
  std::atomic<uint64_t> word_{0};
  std::atomic<uint32_t> waiters_{0};     // threads inside LockSlow()
  std::atomic<uint32_t> owner_died_{0};  // the next acquirer is told
  std::atomic<uint64_t> id_{0};          // names the semaphore
#else
  friend struct RobustLayout;
  static absl::Status NotHeld();
  absl::Status LockSlow(uint32_t seen, Deadline deadline);
  // Releases the calling thread's hold (the robust-list entry already off
  // its list) once the fast compare-and-swap failed: wakes a sleeper, or
  // finds that another thread released it first (false, the word in
  // `*seen`).
  bool ReleaseContended(uint32_t new_value, uint32_t* seen);
  absl::Status ReleaseOther(uint32_t seen);
  // The calling thread's hold: the entry comes off its robust list, if on
  // it, before the word is released.
  bool ReleaseMine(uint32_t new_value, uint32_t* seen);
  // A new holder's robust-list work: puts the entry on its list unless it
  // is there already.
  void Protect(const ThreadState& t);
  // Puts the entry on the calling thread's robust list.
  void Link(const ThreadState& t);
  // Protect() past its common cases: the entry is on a list, not as this
  // thread's own protected hold; `token` says whose (see node_token_).
  void ProtectStale(const ThreadState& t, uint64_t token);
  // Whether thread `holder`'s hold is on its robust list, where the kernel
  // finds it if the thread dies.
  bool HoldProtected(uint32_t holder) const;

  // The robust futex: holder TID | FUTEX_WAITERS | FUTEX_OWNER_DIED.
  std::atomic<uint32_t> word_{0};
  // Which thread's robust list holds `next_`: that thread's token (its TID
  // in the high half, random bits below, bit 0 clear), with kParked set
  // while that thread does not hold the mutex (another thread released its
  // hold); 0 when on no list (prev_/next_ are then meaningless). Without
  // kParked, a token other than the holder's names a thread that died
  // holding the mutex.
  std::atomic<uint64_t> node_token_{0};
  // Puts prev_ / next_ 24 / 32 bytes after the word, where glibc's entries
  // have them (checked in robust_mutex_linux.cc).
  char glibc_layout_padding_[8] = {};
  // The robust-list entry.
  void* prev_ = nullptr;
  void* next_ = nullptr;
#endif
};

static_assert(sizeof(RobustMutex) <= 40,
              "leaves a cache line room for what it guards");

}  // namespace lock_internal
}  // namespace mp

#ifndef _WIN32
#include "lock/internal/robust_mutex_linux.h"  // the inline fast paths
#endif

#endif  // MP_LOCK_INTERNAL_ROBUST_MUTEX_H_
