// RobustMutex on Windows: the word holds the holder's thread id; sleepers
// wait on a named semaphore; a named kernel mutex, owned by the holder while
// it holds the RobustMutex, turns the holder's death into WAIT_ABANDONED for
// a sleeper. See robust_mutex.h.
#include <windows.h>

#include <climits>
#include <cstdint>
#include <cwchar>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/os_error.h"
#include "base/status.h"
#include "base/wait.h"
#include "lock/internal/robust_mutex.h"

namespace mp {
namespace lock_internal {
namespace {

struct KernelObjects {
  HANDLE sleepers;  // semaphore
  HANDLE owner;     // mutex
};

// This process's handles, by mutex id; closed by ForgetInThisProcess().
class ObjectCache {
 public:
  absl::StatusOr<KernelObjects> Get(uint64_t id) {
    absl::MutexLock lock(&mu_);
    auto it = objects_.find(id);
    if (it != objects_.end()) return it->second;
    wchar_t name[48];
    std::swprintf(name, sizeof name / sizeof name[0],
                  L"Local\\mp-lock-%016llx-s",
                  static_cast<unsigned long long>(id));
    HANDLE sleepers = CreateSemaphoreW(nullptr, 0, LONG_MAX, name);
    if (sleepers == nullptr) return LastOsError("CreateSemaphoreW(mp-lock)");
    name[std::wcslen(name) - 1] = L'm';
    HANDLE owner = CreateMutexW(nullptr, FALSE, name);
    if (owner == nullptr) {
      absl::Status s = LastOsError("CreateMutexW(mp-lock)");
      CloseHandle(sleepers);
      return s;
    }
    KernelObjects objects{sleepers, owner};
    objects_.emplace(id, objects);
    return objects;
  }

  void Forget(uint64_t id) {
    absl::MutexLock lock(&mu_);
    auto it = objects_.find(id);
    if (it == objects_.end()) return;
    CloseHandle(it->second.sleepers);
    CloseHandle(it->second.owner);
    objects_.erase(it);
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, KernelObjects> objects_ ABSL_GUARDED_BY(mu_);
};

ObjectCache& Cache() {
  static ObjectCache* cache = new ObjectCache;
  return *cache;
}

absl::StatusOr<KernelObjects> ObjectsFor(std::atomic<uint64_t>& id) {
  return Cache().Get(wait_internal::SharedObjectId(id));
}

absl::Status ReleasedTooManyTimes() {
  return absl::FailedPreconditionError(
      "semaphore or lock released too many times");
}

}  // namespace

absl::Status RobustMutex::Lock(Deadline deadline) {
  const uint32_t self = GetCurrentThreadId();
  uint32_t seen = 0;
  if (word_.compare_exchange_strong(seen, self, std::memory_order_acquire,
                                    std::memory_order_relaxed)) {
    return TakeOver(self);
  }
  return LockSlow(self, seen, deadline);
}

absl::Status RobustMutex::TakeOver(uint32_t self) {
  bool died = owner_died_.exchange(0) != 0;
  ProtectHold(self);
  return died ? OwnerDiedError() : absl::OkStatus();
}

void RobustMutex::ProtectHold(uint32_t self) {
  const uint32_t pid = GetCurrentProcessId();
  if (kmutex_tid_.load() == self && kmutex_pid_.load() == pid) {
    return;  // still ours from an earlier hold released by another thread
  }
  absl::StatusOr<KernelObjects> objects = ObjectsFor(id_);
  if (!objects.ok()) return;  // no kernel mutex: an unprotected hold
  for (int attempt = 0; attempt < 1000; ++attempt) {
    DWORD rc = WaitForSingleObject(objects->owner, 0);
    if (rc == WAIT_OBJECT_0 || rc == WAIT_ABANDONED) {
      // Abandoned here means a stale owner (released by another thread,
      // then died): the word was free, so nobody died holding *this* hold.
      kmutex_pid_.store(pid);
      kmutex_tid_.store(self);
      return;
    }
    if (rc != WAIT_TIMEOUT) return;
    // Owned by a live thread: a stale owner (recorded: this hold stays
    // unprotected), or a sleeper that got it for an instant from the last
    // holder and is about to give it back.
    if (kmutex_tid_.load() != 0) return;
    SwitchToThread();
  }
}

absl::Status RobustMutex::LockSlow(uint32_t self, uint32_t seen,
                                   Deadline deadline) {
  uint32_t w = seen;
  for (;;) {
    if (w == 0) {
      if (word_.compare_exchange_weak(w, self, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        return TakeOver(self);
      }
      continue;
    }
    if (deadline.Expired()) return TimeoutError();
    absl::StatusOr<KernelObjects> objects = ObjectsFor(id_);
    if (!objects.ok()) return objects.status();
    waiters_.fetch_add(1);
    if (word_.load() != w) {
      waiters_.fetch_sub(1);
      w = word_.load();
      continue;
    }
    // Watch the holder's kernel mutex too if it owns it: its abandonment is
    // the news of the holder's death.
    HANDLE handles[2] = {objects->sleepers, objects->owner};
    DWORD count = kmutex_tid_.load() == w ? 2 : 1;
    DWORD rc = WaitForMultipleObjects(count, handles, FALSE,
                                      deadline.RemainingMillis(INFINITE));
    DWORD err = GetLastError();
    waiters_.fetch_sub(1);
    if (rc == WAIT_OBJECT_0 + 1 || rc == WAIT_ABANDONED_0 + 1) {
      // This thread owns the kernel mutex now.
      const uint32_t pid = GetCurrentProcessId();
      uint32_t holder = w;
      if (rc == WAIT_ABANDONED_0 + 1 && kmutex_tid_.load() == holder &&
          word_.compare_exchange_strong(holder, self)) {
        // The holder died holding it: ours, with the news.
        kmutex_pid_.store(pid);
        kmutex_tid_.store(self);
        owner_died_.store(0);
        return OwnerDiedError();
      }
      uint32_t free_word = 0;
      if (word_.compare_exchange_strong(free_word, self)) {
        // Released meanwhile: take it, keeping the kernel mutex.
        kmutex_pid_.store(pid);
        kmutex_tid_.store(self);
        bool died = owner_died_.exchange(0) != 0;
        return died ? OwnerDiedError() : absl::OkStatus();
      }
      // Not a takeover. Either the mutex's owner was a stale holder that
      // died, or the holder no longer owns it (the object was made anew):
      // nobody owns it once we let go, so stop watching it.
      uint32_t recorded = kmutex_tid_.load();
      if (recorded != 0 &&
          (rc == WAIT_ABANDONED_0 + 1 || recorded == word_.load())) {
        kmutex_tid_.compare_exchange_strong(recorded, 0);
      }
      ReleaseMutex(objects->owner);
    } else if (rc == WAIT_TIMEOUT) {
      if (deadline.Expired()) return TimeoutError();
    } else if (rc != WAIT_OBJECT_0) {
      return Win32Error(err, "WaitForMultipleObjects(mp-lock)");
    }
    w = word_.load();
  }
}

absl::Status RobustMutex::Unlock(bool owner_died) {
  const uint32_t self = GetCurrentThreadId();
  if (word_.load() != self) {
    return absl::FailedPreconditionError(
        "cannot release a lock the calling thread does not hold");
  }
  return ReleaseHeld(self, owner_died)
             ? absl::OkStatus()
             : absl::FailedPreconditionError(
                   "cannot release a lock the calling thread does not hold");
}

bool RobustMutex::ReleaseHeld(uint32_t self, bool owner_died) {
  if (kmutex_tid_.load() == self &&
      kmutex_pid_.load() == GetCurrentProcessId()) {
    kmutex_tid_.store(0);
    kmutex_pid_.store(0);
    absl::StatusOr<KernelObjects> objects = ObjectsFor(id_);
    if (objects.ok()) ReleaseMutex(objects->owner);
  }
  if (owner_died) owner_died_.store(1);
  uint32_t expected = self;
  if (!word_.compare_exchange_strong(expected, 0, std::memory_order_release,
                                     std::memory_order_relaxed)) {
    return false;  // another thread released it first
  }
  WakeOne();
  return true;
}

void RobustMutex::WakeOne() {
  if (waiters_.load() == 0) return;
  absl::StatusOr<KernelObjects> objects = ObjectsFor(id_);
  // Cannot fail for a sleeper's semaphore short of handle exhaustion, in
  // which case the sleeper sees the free word at its deadline.
  if (objects.ok()) ReleaseSemaphore(objects->sleepers, 1, nullptr);
}

absl::Status RobustMutex::Release() {
  const uint32_t self = GetCurrentThreadId();
  uint32_t w = word_.load();
  for (;;) {
    if (w == 0) return ReleasedTooManyTimes();
    if (w == self) {
      if (ReleaseHeld(self, false)) return absl::OkStatus();
      w = word_.load();
      continue;
    }
    // Another thread's hold: free the word; its kernel mutex stays with it
    // (only its owner can release it).
    if (word_.compare_exchange_weak(w, 0, std::memory_order_release,
                                    std::memory_order_relaxed)) {
      WakeOne();
      return absl::OkStatus();
    }
  }
}

bool RobustMutex::HeldByMe() const {
  return word_.load(std::memory_order_relaxed) == GetCurrentThreadId();
}

bool RobustMutex::IsLocked() const {
  return word_.load(std::memory_order_relaxed) != 0;
}

bool RobustMutex::PinnedInThisProcess() const {
  // A thread of this process owns the kernel mutex: keep this process's
  // handle open, so the object (and its abandonment) outlives the owner.
  return kmutex_tid_.load() != 0 && kmutex_pid_.load() == GetCurrentProcessId();
}

absl::Status RobustMutex::AttachInThisProcess() {
  return ObjectsFor(id_).status();
}

void RobustMutex::ForgetInThisProcess() {
  uint64_t id = id_.load();
  if (id != 0) Cache().Forget(id);
}

}  // namespace lock_internal
}  // namespace mp
