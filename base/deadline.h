// Timeouts and deadlines for every blocking call in mp.
//
// Python's `block=True, timeout=None` becomes an absl::Duration in mp's public
// APIs: absl::InfiniteDuration() blocks forever (Python's None),
// absl::ZeroDuration() does not block (Python's block=False, or timeout=0),
// and anything else waits at most that long (a negative one counts as zero).
// Internally a call turns its timeout into a Deadline once, on the monotonic
// clock, so retries after EINTR or a spurious wakeup never stretch the total
// wait and a wall-clock change never shortens or lengthens it.
//
// Example:
//
//   absl::Status Widget::Wait(absl::Duration timeout) {
//     mp::Deadline deadline = mp::Deadline::After(timeout);
//     while (!ready()) {
//       if (deadline.Expired()) return mp::TimeoutError();
//       ... block for at most deadline.Remaining() ...
//     }
//     return absl::OkStatus();
//   }

#ifndef MP_BASE_DEADLINE_H_
#define MP_BASE_DEADLINE_H_

#include <cstdint>
#include <limits>

#include "absl/time/time.h"

namespace mp {

// A point on the monotonic clock (CLOCK_MONOTONIC on POSIX, the
// QueryPerformanceCounter clock on Windows), or "never".
class Deadline {
 public:
  // A deadline that never passes: block forever.
  static Deadline Never() { return Deadline(kNever); }
  // A deadline that has already passed: don't block.
  static Deadline Now() { return Deadline(NowNanos()); }
  // `timeout` from now. Infinite gives Never(); zero or negative gives Now().
  static Deadline After(absl::Duration timeout);

  bool IsNever() const { return nanos_ == kNever; }
  bool Expired() const { return !IsNever() && NowNanos() >= nanos_; }
  // Time left: InfiniteDuration for Never(), never negative.
  absl::Duration Remaining() const;
  // Time left in whole milliseconds rounded up (so a wait never ends early),
  // clamped to what a 32-bit millisecond API takes; `forever` for Never().
  uint32_t RemainingMillis(uint32_t forever) const;
  // Nanoseconds on the monotonic clock; for APIs that take an absolute
  // CLOCK_MONOTONIC time (futex, pthread with clock attributes).
  int64_t MonotonicNanos() const { return nanos_; }

  friend bool operator==(Deadline a, Deadline b) {
    return a.nanos_ == b.nanos_;
  }
  friend bool operator!=(Deadline a, Deadline b) {
    return a.nanos_ != b.nanos_;
  }
  friend bool operator<(Deadline a, Deadline b) { return a.nanos_ < b.nanos_; }
  friend Deadline Earlier(Deadline a, Deadline b) { return a < b ? a : b; }

  // The monotonic clock in nanoseconds.
  static int64_t NowNanos();

 private:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  explicit Deadline(int64_t nanos) : nanos_(nanos) {}
  int64_t nanos_;
};

}  // namespace mp

#endif  // MP_BASE_DEADLINE_H_
