// RobustMutex on Windows: the word names the holder thread (its id and
// creation time), sleepers wait on a named semaphore and on a handle to the
// holder thread, which the kernel signals when that thread ends, its process
// killed included. See robust_mutex.h.
#include <windows.h>

#include <algorithm>
#include <cstdint>
#include <cwchar>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/internal/cpu_relax.h"
#include "base/internal/wait_word_os.h"
#include "base/os_error.h"
#include "base/status.h"
#include "lock/internal/robust_mutex.h"

namespace mp {
namespace lock_internal {
namespace {

// A sleeper looks at the word at least this often even when nobody wakes
// it: a sleeper killed between being woken and taking the free mutex takes
// its wake-up with it, and the others would sleep on a free mutex.
constexpr DWORD kRecheckMillis = 100;

// Caps the semaphore's count: sleepers killed inside LockSlow() stay
// counted in waiters_, so releases keep adding wake-ups nobody takes; the
// cap bounds the spurious wake-ups a later sleeper goes through.
constexpr LONG kMaxPendingWakes = 1024;

// This process's semaphore handles, by mutex id; closed by
// ForgetInThisProcess().
class ObjectCache {
 public:
  absl::StatusOr<HANDLE> Get(uint64_t id) {
    absl::MutexLock lock(&mu_);
    auto it = objects_.find(id);
    if (it != objects_.end()) return it->second;
    wchar_t name[48];
    std::swprintf(name, sizeof name / sizeof name[0],
                  L"Local\\mp-lock-%016llx-s",
                  static_cast<unsigned long long>(id));
    HANDLE sleepers = CreateSemaphoreW(nullptr, 0, kMaxPendingWakes, name);
    if (sleepers == nullptr) return LastOsError("CreateSemaphoreW(mp-lock)");
    objects_.emplace(id, sleepers);
    return sleepers;
  }

  void Forget(uint64_t id) {
    absl::MutexLock lock(&mu_);
    auto it = objects_.find(id);
    if (it == objects_.end()) return;
    CloseHandle(it->second);
    objects_.erase(it);
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, HANDLE> objects_ ABSL_GUARDED_BY(mu_);
};

ObjectCache& Cache() {
  static ObjectCache* cache = new ObjectCache;
  return *cache;
}

absl::StatusOr<HANDLE> SleepersFor(std::atomic<uint64_t>& id) {
  return Cache().Get(base_internal::SharedObjectId(id));
}

// 32 bits of a thread's creation time: with its id, tells the thread from
// a later one that got the same id.
uint32_t CreationStamp(const FILETIME& created) {
  uint64_t t = (uint64_t{created.dwHighDateTime} << 32) | created.dwLowDateTime;
  return static_cast<uint32_t>(t ^ (t >> 32));
}

uint64_t Key(uint32_t tid, uint32_t stamp) {
  return (uint64_t{tid} << 32) | stamp;
}

// The calling thread's word value. Never 0 (thread ids are not).
uint64_t SelfKey() {
  thread_local uint64_t key = 0;
  if (key == 0) {
    FILETIME created{}, exited, kernel, user;
    // The current thread's times cannot fail to be read; if they somehow
    // did, sleepers would find a stamp mismatch and take the mutex over,
    // which is why the result is checked nowhere else.
    GetThreadTimes(GetCurrentThread(), &created, &exited, &kernel, &user);
    key = Key(GetCurrentThreadId(), CreationStamp(created));
  }
  return key;
}

// A handle to the thread whose key is `key`, to wait for its end; nullptr
// if that thread is gone (no thread has its id, or a later thread does).
absl::StatusOr<HANDLE> OpenHolder(uint64_t key) {
  const DWORD tid = static_cast<DWORD>(key >> 32);
  HANDLE thread =
      OpenThread(SYNCHRONIZE | THREAD_QUERY_LIMITED_INFORMATION, FALSE, tid);
  if (thread == nullptr) {
    DWORD err = GetLastError();
    if (err == ERROR_INVALID_PARAMETER) return nullptr;  // no such thread
    return Win32Error(err, "OpenThread(mp-lock holder)");
  }
  FILETIME created, exited, kernel, user;
  if (!GetThreadTimes(thread, &created, &exited, &kernel, &user)) {
    absl::Status s = LastOsError("GetThreadTimes(mp-lock holder)");
    CloseHandle(thread);
    return s;
  }
  if (Key(tid, CreationStamp(created)) != key) {
    CloseHandle(thread);
    return nullptr;  // the id now names a later thread
  }
  return thread;
}

absl::Status ReleasedTooManyTimes() {
  return absl::FailedPreconditionError(
      "semaphore or lock released too many times");
}

absl::Status NotHeld() {
  return absl::FailedPreconditionError(
      "cannot release a lock the calling thread does not hold");
}

}  // namespace

absl::Status RobustMutex::Lock(Deadline deadline) {
  const uint64_t self = SelfKey();
  uint64_t seen = 0;
  if (word_.compare_exchange_strong(seen, self, std::memory_order_acquire,
                                    std::memory_order_relaxed)) {
    return Acquired();
  }
  return LockSlow(self, seen, deadline);
}

absl::Status RobustMutex::Acquired() {
  return owner_died_.exchange(0) != 0 ? OwnerDiedError() : absl::OkStatus();
}

absl::Status RobustMutex::LockSlow(uint64_t self, uint64_t seen,
                                   Deadline deadline) {
  uint64_t w = seen;
  // The spin (kLockSpins): a kernel sleep and wake-up cost more than most
  // holds.
  if (!deadline.Expired()) {
    for (int i = 0; i < kLockSpins && w != 0 && waiters_.load() == 0; ++i) {
      for (int j = 0; j < kPausesPerLockSpin; ++j) base_internal::CpuRelax();
      w = word_.load(std::memory_order_relaxed);
    }
  }
  for (;;) {
    if (w == 0) {
      if (word_.compare_exchange_weak(w, self, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        return Acquired();
      }
      continue;
    }
    if (deadline.Expired()) return TimeoutError();
    MP_ASSIGN_OR_RETURN(HANDLE sleepers, SleepersFor(id_));
    MP_ASSIGN_OR_RETURN(HANDLE holder, OpenHolder(w));
    bool holder_ended = holder == nullptr;
    if (!holder_ended) {
      waiters_.fetch_add(1);
      // A release after this check sees waiters_ and wakes a sleeper.
      if (word_.load() == w) {
        HANDLE handles[2] = {sleepers, holder};
        DWORD rc = WaitForMultipleObjects(
            2, handles, FALSE,
            std::min<DWORD>(deadline.RemainingMillis(INFINITE),
                            kRecheckMillis));
        DWORD err = GetLastError();
        if (rc == WAIT_FAILED) {
          waiters_.fetch_sub(1);
          CloseHandle(holder);
          return Win32Error(err, "WaitForMultipleObjects(mp-lock)");
        }
        holder_ended = rc == WAIT_OBJECT_0 + 1;
      }
      waiters_.fetch_sub(1);
      CloseHandle(holder);
    }
    if (holder_ended) {
      // The word still naming the ended thread means it ended holding the
      // mutex: ours, with the news. The key holds the thread's creation
      // time, so a later thread with the same id cannot be mistaken for it.
      uint64_t held = w;
      if (word_.compare_exchange_strong(held, self,
                                        std::memory_order_acquire)) {
        owner_died_.store(0);
        return OwnerDiedError();
      }
    }
    w = word_.load();
  }
}

absl::Status RobustMutex::Unlock(bool owner_died) {
  const uint64_t self = SelfKey();
  if (word_.load() != self) return NotHeld();
  return ReleaseHeld(self, owner_died) ? absl::OkStatus() : NotHeld();
}

bool RobustMutex::ReleaseHeld(uint64_t self, bool owner_died) {
  if (owner_died) owner_died_.store(1);
  uint64_t expected = self;
  if (!word_.compare_exchange_strong(expected, 0, std::memory_order_release,
                                     std::memory_order_relaxed)) {
    return false;  // another thread released it first
  }
  WakeOne();
  return true;
}

void RobustMutex::WakeOne() {
  if (waiters_.load() == 0) return;
  absl::StatusOr<HANDLE> sleepers = SleepersFor(id_);
  // Cannot fail short of handle exhaustion, and a full semaphore already
  // holds wake-ups enough; the sleepers' periodic look at the word covers
  // both.
  if (sleepers.ok()) ReleaseSemaphore(*sleepers, 1, nullptr);
}

absl::Status RobustMutex::Release() {
  const uint64_t self = SelfKey();
  uint64_t w = word_.load();
  for (;;) {
    if (w == 0) return ReleasedTooManyTimes();
    if (w == self) {
      if (ReleaseHeld(self, false)) return absl::OkStatus();
      w = word_.load();
      continue;
    }
    // Another thread's hold (Python's Lock allows it).
    if (word_.compare_exchange_weak(w, 0, std::memory_order_release,
                                    std::memory_order_relaxed)) {
      WakeOne();
      return absl::OkStatus();
    }
  }
}

bool RobustMutex::HeldByMe() const {
  return word_.load(std::memory_order_relaxed) == SelfKey();
}

// A holder's death is always noticed (the sleepers wait on its thread).
bool RobustMutex::HeldByMeProtected() const { return HeldByMe(); }

bool RobustMutex::IsLocked() const {
  return word_.load(std::memory_order_relaxed) != 0;
}

bool RobustMutex::PinnedInThisProcess() const {
  // A holder's death is read from the word and the thread's handle, not
  // from anything this process keeps.
  return false;
}

absl::Status RobustMutex::AttachInThisProcess() {
  return SleepersFor(id_).status();
}

void RobustMutex::ForgetInThisProcess() {
  uint64_t id = id_.load();
  if (id != 0) Cache().Forget(id);
}

}  // namespace lock_internal
}  // namespace mp
