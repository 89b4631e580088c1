// Semaphore and BoundedSemaphore: Python's multiprocessing.Semaphore and
// multiprocessing.BoundedSemaphore, counting semaphores shared by processes
// and by the threads inside them.
//
// Acquire() takes one unit, waiting (up to a timeout) while there is none;
// Release() gives one back, from any thread of any process. A
// BoundedSemaphore refuses a Release() that would take it past its initial
// value.
//
// Copies are handles to the same semaphore; pass them to child processes as
// Process arguments (fork copies them, spawn sends them through the codec).
//
// Example (at most three workers in a section at a time):
//
//   absl::StatusOr<mp::Semaphore> slots = mp::Semaphore::Create(3);
//   ...
//   // in each worker:
//   if (slots->Acquire().ok()) {
//     ... at most three of these at once ...
//     slots->Release().IgnoreError();
//   }

#ifndef MP_LOCK_SEMAPHORE_H_
#define MP_LOCK_SEMAPHORE_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "lock/internal/semaphore_handle.h"  // what the semaphores hold

namespace mp {

class Semaphore {
 public:
  // The largest count (SEM_VALUE_MAX on Linux).
  static constexpr int kMaxValue = 0x7fffffff;

  // No semaphore; every call fails with kFailedPrecondition.
  Semaphore() = default;

  // A semaphore holding `value` units (0 <= value <= kMaxValue).
  static absl::StatusOr<Semaphore> Create(int value = 1);

  // Takes a unit, waiting up to `timeout` (InfiniteDuration: forever,
  // ZeroDuration: not at all). OK, or mp::TimeoutError() if none came.
  //
  // A semaphore has no owner, so mp cannot tell that a process died between
  // Acquire() and Release(): the unit it held is simply gone, as with
  // Python's (POSIX or Windows) semaphores. Use a Lock or an RLock where a
  // holder's death must be noticed.
  absl::Status Acquire(absl::Duration timeout = absl::InfiniteDuration()) {
    return handle_.Acquire(timeout, "Semaphore.Acquire");
  }
  // Gives a unit back (any thread, any process) and wakes one waiter.
  // kFailedPrecondition past kMaxValue.
  absl::Status Release() { return handle_.Release("Semaphore.Release"); }
  // The units available now (0 also for an empty object): Python's
  // get_value(), here on every platform (Python's raises on macOS).
  int value() const { return handle_.value(); }
  bool valid() const { return handle_.valid(); }

  friend void MpEncode(Encoder& e, const Semaphore& s);
  friend absl::Status MpDecode(Decoder& d, Semaphore& s);

 private:
  explicit Semaphore(lock_internal::SemaphoreHandle h)
      : handle_(std::move(h)) {}
  lock_internal::SemaphoreHandle handle_;
};

class BoundedSemaphore {
 public:
  BoundedSemaphore() = default;

  // A semaphore holding `value` units, never more.
  static absl::StatusOr<BoundedSemaphore> Create(int value = 1);

  absl::Status Acquire(absl::Duration timeout = absl::InfiniteDuration()) {
    return handle_.Acquire(timeout, "BoundedSemaphore.Acquire");
  }
  // kFailedPrecondition ("semaphore or lock released too many times") if
  // the count would exceed the initial value.
  absl::Status Release() { return handle_.Release("BoundedSemaphore.Release"); }
  int value() const { return handle_.value(); }
  bool valid() const { return handle_.valid(); }

  friend void MpEncode(Encoder& e, const BoundedSemaphore& s);
  friend absl::Status MpDecode(Decoder& d, BoundedSemaphore& s);

 private:
  explicit BoundedSemaphore(lock_internal::SemaphoreHandle h)
      : handle_(std::move(h)) {}
  lock_internal::SemaphoreHandle handle_;
};

}  // namespace mp

#endif  // MP_LOCK_SEMAPHORE_H_
