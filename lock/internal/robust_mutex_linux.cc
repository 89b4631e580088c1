// RobustMutex on Linux: a robust futex on glibc's per-thread robust list.
// See robust_mutex.h for the protocol; the fast paths are inline in
// robust_mutex_linux.h.
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "absl/time/time.h"
#include "base/internal/cpu_relax.h"
#include "base/internal/wait_word_os.h"
#include "base/os_error.h"
#include "base/status.h"
#include "lock/internal/robust_mutex.h"

namespace mp {
namespace lock_internal {

__thread ThreadState tls_state __attribute__((tls_model("initial-exec")));

namespace {

constexpr uint32_t kWaiters = FUTEX_WAITERS;
constexpr uint32_t kOwnerDied = FUTEX_OWNER_DIED;
constexpr uint32_t kTidMask = FUTEX_TID_MASK;

// glibc's entries: the futex word sits 32 bytes before the `next` pointer
// (pthread_mutex_t's __lock and __list.__next on every 64-bit glibc), and a
// `prev` pointer sits just before `next` (also before the head: glibc's
// robust_prev), which glibc's own enqueue/dequeue write through.
constexpr long kFutexOffset = -32;

// How often a sleeper looks whether an unprotected holder is gone: the
// kernel does not tell it (robust_mutex.h).
constexpr absl::Duration kWatchInterval = absl::Milliseconds(10);

// A head of our own, for a thread that has none registered (one not made by
// glibc). Laid out like glibc's: the prev slot first.
struct OwnHead {
  void* prev;
  RobustHead head;
};

thread_local OwnHead tls_own_head;

uint32_t RandomBits(uint32_t tid) {
  uint32_t bits = 0;
  if (getrandom(&bits, sizeof bits, GRND_NONBLOCK) != sizeof bits) {
    // No entropy yet: the clock, mixed with the tid (splitmix64).
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t z = (uint64_t{tid} << 32) ^ static_cast<uint64_t>(ts.tv_nsec) ^
                 (static_cast<uint64_t>(ts.tv_sec) << 20);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    bits = static_cast<uint32_t>(z ^ (z >> 31));
  }
  return bits;
}

uint32_t TokenTid(uint64_t token) { return static_cast<uint32_t>(token >> 32); }

void ForgetThreadStateAfterFork() { tls_state.tid = 0; }

// base_internal's futex calls are shared ones: the word is in MAP_SHARED
// memory, and the kernel's owner-death wake-up is a shared wake.
void FutexWakeOne(std::atomic<uint32_t>* word) {
  // Can only fail for a bad address, which the word is not.
  base_internal::FutexWake(word, 1);
}

void ClearPending() {
  RobustHead* head = tls_state.head;
  if (head == nullptr) return;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  head->list_op_pending = nullptr;
}

absl::Status ReleasedTooManyTimes() {
  return absl::FailedPreconditionError(
      "semaphore or lock released too many times");
}

// Whether thread `tid` has finished exiting (its robust list is done with):
// gone, or a zombie (a killed process not yet reaped by its parent).
bool ThreadGone(uint32_t tid) {
  if (kill(static_cast<pid_t>(tid), 0) != 0) return errno == ESRCH;
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%u/stat", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT;
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  // "tid (comm) S ...": the state follows the last ')'.
  const char* paren = std::strrchr(buf, ')');
  if (paren == nullptr || paren[1] != ' ') return false;
  return paren[2] == 'Z' || paren[2] == 'X';
}

}  // namespace

void InitThreadState() {
  ThreadState& s = tls_state;
  // A forked child's thread has a new TID and a fresh (empty) robust list,
  // which glibc registers again; the handler makes the child start over.
  static const bool registered =
      pthread_atfork(nullptr, nullptr, &ForgetThreadStateAfterFork) == 0;
  static_cast<void>(registered);
  uint32_t tid = static_cast<uint32_t>(syscall(SYS_gettid));
  s.token = (uint64_t{tid} << 32) | (RandomBits(tid) & ~uint32_t{kParked});
  s.head = nullptr;
  RobustHead* head = nullptr;
  size_t len = 0;
  if (syscall(SYS_get_robust_list, 0, &head, &len) == 0) {
    if (head == nullptr) {
      OwnHead& own = tls_own_head;
      own.prev = &own.head;
      own.head.list = &own.head;
      own.head.futex_offset = kFutexOffset;
      own.head.list_op_pending = nullptr;
      if (syscall(SYS_set_robust_list, &own.head, sizeof own.head) == 0) {
        s.head = &own.head;
      }
    } else if (len == sizeof(RobustHead) &&
               head->futex_offset == kFutexOffset) {
      s.head = head;
    }
    // Otherwise someone else's list with another entry layout: ours cannot
    // join it, and holds stay unprotected.
  }
  s.tid = tid;  // last: marks the state initialised
}

// glibc's layout, checked where the members are visible.
struct RobustLayout {
  static_assert(offsetof(RobustMutex, next_) - offsetof(RobustMutex, word_) ==
                    static_cast<size_t>(-kFutexOffset),
                "the futex word must sit 32 bytes before the list entry");
  static_assert(offsetof(RobustMutex, next_) - offsetof(RobustMutex, prev_) ==
                    sizeof(void*),
                "prev must sit just before next, as in glibc");
};

absl::Status RobustMutex::LockSlow(uint32_t seen, Deadline deadline) {
  const uint32_t self = tls_state.tid;
  uint32_t w = seen;
  // Once this thread has slept, others may be asleep too: it takes the word
  // with FUTEX_WAITERS so that its release wakes the next one.
  uint32_t slept = 0;
  absl::Status status;
  // The spin (kLockSpins): a futex sleep and wake-up, page-table walks for
  // the shared futex's key included, cost more than most holds.
  if ((w & kWaiters) == 0 && !deadline.Expired()) {
    for (int i = 0;
         i < kLockSpins && (w & kTidMask) != 0 && (w & kWaiters) == 0; ++i) {
      for (int j = 0; j < kPausesPerLockSpin; ++j) base_internal::CpuRelax();
      w = word_.load(std::memory_order_relaxed);
    }
  }
  // Whether to look if an unprotected holder is gone: after a sleep that
  // watched it, and before giving up.
  bool look = false;
  for (;;) {
    const uint32_t holder = w & kTidMask;
    // Free, or held by a thread that died out of the kernel's sight: then
    // nothing else will change the word, and the first to see it takes the
    // mutex over.
    const bool gone = holder != 0 && (look || deadline.Expired()) &&
                      !HoldProtected(holder) && ThreadGone(holder);
    look = false;
    if (holder == 0 || gone) {
      if (word_.compare_exchange_strong(w, self | (w & kWaiters) | slept,
                                        std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
        const ThreadState& t = tls_state;
        if (t.head != nullptr) Protect(t);
        if (gone || (w & kOwnerDied) != 0) status = OwnerDiedError();
        break;
      }
      continue;
    }
    if (deadline.Expired()) {
      status = TimeoutError();
      break;
    }
    if ((w & kWaiters) == 0) {
      if (!word_.compare_exchange_weak(w, w | kWaiters,
                                       std::memory_order_relaxed,
                                       std::memory_order_relaxed)) {
        continue;
      }
      w |= kWaiters;
    }
    // The kernel wakes the sleepers when a protected holder dies; an
    // unprotected one they watch themselves.
    const bool watch = !HoldProtected(holder);
    if (base_internal::FutexWait(
            &word_, w,
            watch ? Earlier(deadline, Deadline::After(kWatchInterval))
                  : deadline) != 0) {
      int err = errno;
      if (err != EAGAIN && err != EINTR && err != ETIMEDOUT) {
        status = ErrnoError(err, "futex(FUTEX_WAIT_BITSET)");
        break;
      }
    }
    slept = kWaiters;
    w = word_.load(std::memory_order_relaxed);
    // Only the holder it watched: a new one has not been watched yet.
    look = watch && (w & kTidMask) == holder;
  }
  ClearPending();
  return status;
}

void RobustMutex::ProtectStale(const ThreadState& t, uint64_t token) {
  if (token == (t.token | kParked)) {
    // On this thread's list already, left there when another thread
    // released this thread's earlier hold: protected again.
    node_token_.store(t.token, std::memory_order_relaxed);
    return;
  }
  if ((token & kParked) == 0) {
    // Its thread died holding the mutex: the kernel freed the word after
    // reading the entry's link, so nothing reads that list any more, even
    // if the thread has not finished exiting (its waiters are woken while
    // it exits).
    Link(t);
    return;
  }
  // Parked on another thread's list, which only that thread may change:
  // take it over once that thread is gone; until then this hold is
  // unprotected. An earlier thread with our TID is gone, since we have it.
  const uint32_t tid = TokenTid(token);
  if (tid == t.tid || ThreadGone(tid)) Link(t);
}

bool RobustMutex::ReleaseContended(uint32_t new_value, uint32_t* seen) {
  const uint32_t self = tls_state.tid;
  uint32_t w = *seen;
  bool released = false;
  while ((w & kTidMask) == self) {
    // FUTEX_WAITERS is set: release and wake one sleeper.
    if (word_.compare_exchange_weak(w, new_value, std::memory_order_release,
                                    std::memory_order_relaxed)) {
      if (w & kWaiters) FutexWakeOne(&word_);
      released = true;
      break;
    }
  }
  // Otherwise another thread released it meanwhile (Lock.release from
  // anyone): `w` is what is there now.
  *seen = w;
  ClearPending();
  return released;
}

absl::Status RobustMutex::ReleaseOther(uint32_t seen) {
  const uint32_t self = Self().tid;
  uint32_t w = seen;
  for (;;) {
    uint32_t holder = w & kTidMask;
    if (holder == 0) return ReleasedTooManyTimes();
    if (holder == self) {
      if (ReleaseMine(0, &w)) return absl::OkStatus();
      continue;
    }
    // Another thread's hold: free the word and leave the entry on that
    // thread's list, parked first so that no new holder takes it for the
    // entry of a dead thread (see robust_mutex.h).
    uint64_t token = node_token_.load(std::memory_order_relaxed);
    if (TokenTid(token) == holder && (token & kParked) == 0) {
      // Fails only if the entry moved meanwhile: its holder took it off its
      // list, or another releaser parked it first.
      node_token_.compare_exchange_strong(token, token | kParked,
                                          std::memory_order_relaxed);
    }
    if (word_.compare_exchange_weak(w, 0, std::memory_order_release,
                                    std::memory_order_relaxed)) {
      if (w & kWaiters) FutexWakeOne(&word_);
      return absl::OkStatus();
    }
  }
}

bool RobustMutex::HoldProtected(uint32_t holder) const {
  const uint64_t token = node_token_.load(std::memory_order_relaxed);
  return TokenTid(token) == holder && (token & kParked) == 0;
}

absl::Status RobustMutex::NotHeld() {
  return absl::FailedPreconditionError(
      "cannot release a lock the calling thread does not hold");
}

bool RobustMutex::IsLocked() const {
  return (word_.load(std::memory_order_relaxed) & kTidMask) != 0;
}

bool RobustMutex::PinnedInThisProcess() const {
  uint64_t token = node_token_.load(std::memory_order_acquire);
  if (token == 0) return false;
  // On the list of a live thread of this process?
  return syscall(SYS_tgkill, getpid(), TokenTid(token), 0) == 0;
}

absl::Status RobustMutex::AttachInThisProcess() { return absl::OkStatus(); }

void RobustMutex::ForgetInThisProcess() {}

}  // namespace lock_internal
}  // namespace mp
