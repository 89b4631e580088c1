// WaitWord on Windows, where WaitOnAddress cannot wake a thread of another
// process. Every sleeper takes a ticket and sleeps on an event of its own,
// named after the word and the ticket; a waker signals tickets in order. A
// sleeper that leaves without its wake-up (the word changed first, or its
// deadline passed) closes its event, which makes a waker skip the ticket, or,
// if the waker got there first, hands the wake-up on to the next ticket. So
// no wake-up is ever spent on a thread that did not need it, which a
// shared counting semaphore cannot promise: a woken thread that waits again
// at once could take a token meant for a sleeper that had not reached the
// kernel yet, and that sleeper would stay asleep.
//
// The tickets are two counters in the word, changed only under a named
// kernel mutex of the word. The kernel releases that mutex (and the events)
// of a process that dies, and the counters are never half-written, so a
// killed process cannot wedge the word; its tickets are skipped.
#include <windows.h>
// windows.h first: bcrypt.h needs its types.
#include <bcrypt.h>

#include <cstdint>
#include <cwchar>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/internal/wait_word_os.h"
#include "base/os_error.h"
#include "base/status.h"
#include "base/wait_word.h"

namespace mp {
namespace {

// This process's handles of the words' mutexes, by word id. They stay open
// until ForgetInThisProcess().
class MutexCache {
 public:
  absl::StatusOr<HANDLE> Get(uint64_t id) {
    absl::MutexLock lock(&mu_);
    auto it = handles_.find(id);
    if (it != handles_.end()) return it->second;
    wchar_t name[48];
    std::swprintf(name, sizeof name / sizeof name[0],
                  L"Local\\mp-wait-%016llx-lock",
                  static_cast<unsigned long long>(id));
    HANDLE h = CreateMutexW(nullptr, FALSE, name);
    if (h == nullptr) return LastOsError("CreateMutexW(mp-wait)");
    handles_.emplace(id, h);
    return h;
  }

  void Forget(uint64_t id) {
    absl::MutexLock lock(&mu_);
    auto it = handles_.find(id);
    if (it == handles_.end()) return;
    CloseHandle(it->second);
    handles_.erase(it);
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, HANDLE> handles_ ABSL_GUARDED_BY(mu_);
};

MutexCache& Cache() {
  static MutexCache* cache = new MutexCache;
  return *cache;
}

// Holds a word's kernel mutex. A mutex abandoned by a dead process is ours
// all the same: what it guards is whole at every instant.
class ScopedKernelLock {
 public:
  static absl::StatusOr<ScopedKernelLock> Acquire(uint64_t id) {
    MP_ASSIGN_OR_RETURN(HANDLE mutex, Cache().Get(id));
    DWORD rc = WaitForSingleObject(mutex, INFINITE);
    if (rc != WAIT_OBJECT_0 && rc != WAIT_ABANDONED) {
      return LastOsError("WaitForSingleObject(mp-wait lock)");
    }
    return ScopedKernelLock(mutex);
  }
  ScopedKernelLock(ScopedKernelLock&& other) : mutex_(other.mutex_) {
    other.mutex_ = nullptr;
  }
  ScopedKernelLock& operator=(ScopedKernelLock&&) = delete;
  ~ScopedKernelLock() {
    if (mutex_ != nullptr) ReleaseMutex(mutex_);
  }

 private:
  explicit ScopedKernelLock(HANDLE mutex) : mutex_(mutex) {}
  HANDLE mutex_;
};

void EventName(uint64_t id, uint64_t ticket, wchar_t (&name)[64]) {
  std::swprintf(name, sizeof name / sizeof name[0],
                L"Local\\mp-wait-%016llx-%016llx",
                static_cast<unsigned long long>(id),
                static_cast<unsigned long long>(ticket));
}

uint64_t NewId() {
  uint64_t id = 0;
  while (id == 0) {
    if (!BCRYPT_SUCCESS(BCryptGenRandom(nullptr, reinterpret_cast<PUCHAR>(&id),
                                        sizeof id,
                                        BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
      // No CSPRNG: fall back to the process id, the clock and a counter,
      // mixed (splitmix64), which is still unique among live words.
      static std::atomic<uint64_t> counter{0};
      LARGE_INTEGER now;
      QueryPerformanceCounter(&now);
      uint64_t z = (static_cast<uint64_t>(GetCurrentProcessId()) << 32) ^
                   static_cast<uint64_t>(now.QuadPart) ^
                   (counter.fetch_add(1) * 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      id = z ^ (z >> 31);
    }
  }
  return id;
}

}  // namespace

namespace base_internal {

uint64_t SharedObjectId(std::atomic<uint64_t>& id) {
  uint64_t current = id.load();
  if (current != 0) return current;
  uint64_t fresh = NewId();
  // Whoever wins names the word for every process; a loser gets the
  // winner's id in `current`.
  return id.compare_exchange_strong(current, fresh) ? fresh : current;
}

}  // namespace base_internal

absl::Status WaitWord::Wait(uint32_t expected, Deadline deadline) {
  if (value_.load() != expected) return absl::OkStatus();
  if (deadline.Expired()) return TimeoutError();
  const uint64_t id = base_internal::SharedObjectId(id_);
  uint64_t ticket;
  HANDLE event;
  {
    // The event exists before the lock is released, so a waker (who takes
    // the lock) finds one for every ticket that is still wanted.
    MP_ASSIGN_OR_RETURN(ScopedKernelLock lock, ScopedKernelLock::Acquire(id));
    ticket = tail_.load();
    wchar_t name[64];
    EventName(id, ticket, name);
    event = CreateEventW(nullptr, /*bManualReset=*/TRUE, FALSE, name);
    if (event == nullptr) return LastOsError("CreateEventW(mp-wait)");
    tail_.store(ticket + 1);
    waiters_.fetch_add(1);
  }
  // Announced, so a change from now on comes with a wake-up for this ticket
  // (or a later one, handed on).
  absl::Status result = absl::OkStatus();
  bool woken = false;
  if (value_.load() == expected) {
    DWORD rc = WaitForSingleObject(event, deadline.RemainingMillis(INFINITE));
    if (rc == WAIT_OBJECT_0) {
      woken = true;
    } else if (rc == WAIT_TIMEOUT) {
      // RemainingMillis rounds up, but only the deadline decides.
      if (deadline.Expired()) result = TimeoutError();
    } else {
      result = LastOsError("WaitForSingleObject(mp-wait)");
    }
  }
  if (woken) {
    CloseHandle(event);
  } else {
    absl::StatusOr<ScopedKernelLock> lock = ScopedKernelLock::Acquire(id);
    // Closed, the event is gone (this process held its only handle besides
    // a waker's, which lives only under the lock), so no waker picks the
    // ticket from now on.
    CloseHandle(event);
    if (!lock.ok()) {
      if (result.ok()) result = lock.status();
    } else if (ticket < head_.load()) {
      // A waker picked this ticket: hand its wake-up on.
      absl::Status s = WakeLocked(id, 1);
      if (result.ok()) result = s;
    }
  }
  waiters_.fetch_sub(1);
  return result;
}

absl::Status WaitWord::WakeLocked(uint64_t id, uint32_t count) {
  uint64_t head = head_.load();
  const uint64_t tail = tail_.load();
  absl::Status result = absl::OkStatus();
  for (uint32_t woken = 0; woken < count && head < tail; ++head) {
    wchar_t name[64];
    EventName(id, head, name);
    HANDLE event = OpenEventW(EVENT_MODIFY_STATE, FALSE, name);
    if (event == nullptr) {
      DWORD err = GetLastError();
      // Its sleeper left without a wake-up (or died): skip it.
      if (err == ERROR_FILE_NOT_FOUND) continue;
      if (result.ok()) result = Win32Error(err, "OpenEventW(mp-wait)");
      continue;
    }
    if (SetEvent(event)) {
      ++woken;
    } else if (result.ok()) {
      result = LastOsError("SetEvent(mp-wait)");
    }
    CloseHandle(event);
  }
  head_.store(head);
  return result;
}

absl::Status WaitWord::Wake(uint32_t count) {
  if (count == 0 || waiters_.load() == 0) return absl::OkStatus();
  // A sleeper stores the id before announcing itself.
  const uint64_t id = id_.load();
  if (id == 0) return absl::OkStatus();
  MP_ASSIGN_OR_RETURN(ScopedKernelLock lock, ScopedKernelLock::Acquire(id));
  return WakeLocked(id, count);
}

absl::Status WaitWord::WakeAll() { return Wake(UINT32_MAX); }

void WaitWord::ForgetInThisProcess() {
  uint64_t id = id_.load();
  if (id != 0) Cache().Forget(id);
}

}  // namespace mp
