#include "base/deadline.h"

#include <chrono>

namespace mp {

int64_t Deadline::NowNanos() {
  // steady_clock is CLOCK_MONOTONIC in libstdc++ on Linux and the
  // performance counter on Windows.
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Deadline Deadline::After(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return Never();
  int64_t now = NowNanos();
  if (timeout <= absl::ZeroDuration()) return Deadline(now);
  int64_t d = absl::ToInt64Nanoseconds(timeout);  // saturates
  if (d >= kNever - now) return Never();
  return Deadline(now + d);
}

absl::Duration Deadline::Remaining() const {
  if (IsNever()) return absl::InfiniteDuration();
  int64_t left = nanos_ - NowNanos();
  return left <= 0 ? absl::ZeroDuration() : absl::Nanoseconds(left);
}

uint32_t Deadline::RemainingMillis(uint32_t forever) const {
  if (IsNever()) return forever;
  int64_t left = nanos_ - NowNanos();
  if (left <= 0) return 0;
  int64_t ms = (left + 999999) / 1000000;
  // Stay below `forever` (INFINITE on Windows) so a long finite wait is
  // never taken for an infinite one; callers loop until the deadline.
  int64_t cap = static_cast<int64_t>(forever) - 1;
  return static_cast<uint32_t>(ms < cap ? ms : cap);
}

}  // namespace mp
