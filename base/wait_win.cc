// WaitWord on Windows: a named kernel semaphore per word, since WaitOnAddress
// cannot wake a thread of another process. The name comes from a random id
// stored in the word, so every process mapping the word finds the same
// semaphore without any handle being passed around.
#include <windows.h>
// windows.h first: bcrypt.h needs its types.
#include <bcrypt.h>

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

namespace mp {
namespace {

// This process's open semaphores, by word id. Handles stay open until
// ForgetInThisProcess(): the kernel object lives as long as some process
// holds it, and a sleeper always holds it (it opened it before announcing
// itself), so a waker that opens it by name reaches the sleeper's object.
class SemaphoreCache {
 public:
  absl::StatusOr<HANDLE> Get(uint64_t id) {
    absl::MutexLock lock(&mu_);
    auto it = handles_.find(id);
    if (it != handles_.end()) return it->second;
    wchar_t name[40];
    std::swprintf(name, sizeof name / sizeof name[0], L"Local\\mp-wait-%016llx",
                  static_cast<unsigned long long>(id));
    HANDLE h = CreateSemaphoreW(nullptr, 0, LONG_MAX, name);
    if (h == nullptr) return LastOsError("CreateSemaphoreW(mp-wait)");
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

SemaphoreCache& Cache() {
  static SemaphoreCache* cache = new SemaphoreCache;
  return *cache;
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

namespace wait_internal {

uint64_t SharedObjectId(std::atomic<uint64_t>& id) {
  uint64_t current = id.load();
  if (current != 0) return current;
  uint64_t fresh = NewId();
  // Whoever wins names the word for every process; a loser gets the
  // winner's id in `current`.
  return id.compare_exchange_strong(current, fresh) ? fresh : current;
}

}  // namespace wait_internal

absl::Status WaitWord::Wait(uint32_t expected, Deadline deadline) {
  if (value_.load() != expected) return absl::OkStatus();
  if (deadline.Expired()) return TimeoutError();
  absl::StatusOr<HANDLE> semaphore =
      Cache().Get(wait_internal::SharedObjectId(id_));
  if (!semaphore.ok()) return semaphore.status();
  waiters_.fetch_add(1);
  if (value_.load() != expected) {
    waiters_.fetch_sub(1);
    return absl::OkStatus();
  }
  DWORD rc =
      WaitForSingleObject(*semaphore, deadline.RemainingMillis(INFINITE));
  DWORD err = GetLastError();
  waiters_.fetch_sub(1);
  switch (rc) {
    case WAIT_OBJECT_0:
      return absl::OkStatus();
    case WAIT_TIMEOUT:
      // RemainingMillis rounds up, but only the deadline decides.
      return deadline.Expired() ? TimeoutError() : absl::OkStatus();
    default:
      return Win32Error(err, "WaitForSingleObject(mp-wait)");
  }
}

absl::Status WaitWord::Wake(uint32_t count) {
  uint32_t sleepers = waiters_.load();
  if (count == 0 || sleepers == 0) return absl::OkStatus();
  // A sleeper stores the id before announcing itself.
  uint64_t id = id_.load();
  if (id == 0) return absl::OkStatus();
  absl::StatusOr<HANDLE> semaphore = Cache().Get(id);
  if (!semaphore.ok()) return semaphore.status();
  uint32_t n = count < sleepers ? count : sleepers;
  if (n > LONG_MAX) n = LONG_MAX;
  if (!ReleaseSemaphore(*semaphore, static_cast<LONG>(n), nullptr)) {
    DWORD err = GetLastError();
    // Saturated with stale posts: every sleeper will wake anyway.
    if (err == ERROR_TOO_MANY_POSTS) return absl::OkStatus();
    return Win32Error(err, "ReleaseSemaphore(mp-wait)");
  }
  return absl::OkStatus();
}

absl::Status WaitWord::WakeAll() { return Wake(UINT32_MAX); }

void WaitWord::ForgetInThisProcess() {
  uint64_t id = id_.load();
  if (id != 0) Cache().Forget(id);
}

}  // namespace mp
