// WaitWord on Linux: a shared (not FUTEX_PRIVATE_FLAG) futex on value_.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>

#include "base/internal/wait_word_os.h"
#include "base/os_error.h"
#include "base/status.h"
#include "base/wait_word.h"

namespace mp {
namespace base_internal {

long FutexWait(std::atomic<uint32_t>* word, uint32_t expected,
               Deadline deadline) {
  struct timespec abs_time;
  const struct timespec* timeout = nullptr;
  if (!deadline.IsNever()) {
    int64_t ns = deadline.MonotonicNanos();
    abs_time.tv_sec = static_cast<time_t>(ns / 1000000000);
    abs_time.tv_nsec = static_cast<long>(ns % 1000000000);
    timeout = &abs_time;
  }
  // FUTEX_WAIT_BITSET takes an absolute time on CLOCK_MONOTONIC (unless
  // FUTEX_CLOCK_REALTIME is given).
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word),
                 FUTEX_WAIT_BITSET, expected, timeout, nullptr,
                 FUTEX_BITSET_MATCH_ANY);
}

long FutexWake(std::atomic<uint32_t>* word, int count) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE,
                 count, nullptr, nullptr, 0);
}

}  // namespace base_internal

namespace {

absl::Status WakeUpTo(std::atomic<uint32_t>* word, int count) {
  if (base_internal::FutexWake(word, count) < 0) {
    return LastOsError("futex(FUTEX_WAKE)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WaitWord::Wait(uint32_t expected, Deadline deadline) {
  if (value_.load() != expected) return absl::OkStatus();
  if (deadline.Expired()) return TimeoutError();
  // Announce the sleeper before the kernel compares the word: a waker that
  // changes the word and then sees no waiter cannot have been missed, since
  // both sides use sequentially consistent operations.
  waiters_.fetch_add(1);
  long rc = base_internal::FutexWait(&value_, expected, deadline);
  int err = errno;
  waiters_.fetch_sub(1);
  if (rc == 0) return absl::OkStatus();
  switch (err) {
    case EAGAIN:  // the word was no longer `expected`
    case EINTR:   // a signal: a spurious return, the caller loops
      return absl::OkStatus();
    case ETIMEDOUT:
      // The kernel and Deadline read the same clock, but only the deadline
      // decides: never report a timeout early.
      return deadline.Expired() ? TimeoutError() : absl::OkStatus();
    default:
      return ErrnoError(err, "futex(FUTEX_WAIT_BITSET)");
  }
}

absl::Status WaitWord::Wake(uint32_t count) {
  if (count == 0 || waiters_.load() == 0) return absl::OkStatus();
  return WakeUpTo(&value_, count > INT_MAX ? INT_MAX : static_cast<int>(count));
}

absl::Status WaitWord::WakeAll() {
  if (waiters_.load() == 0) return absl::OkStatus();
  return WakeUpTo(&value_, INT_MAX);
}

void WaitWord::ForgetInThisProcess() {}

}  // namespace mp
