// Condition: Python's multiprocessing.Condition, a condition variable over a
// Lock or RLock shared by processes and threads.
//
// Wait() releases the lock, sleeps until a Notify() picks it or the timeout
// passes, and takes the lock back; Notify(n) and NotifyAll() wake waiters
// in the order they started waiting.
//
// Copies are handles to the same condition; pass them to child processes as
// Process arguments (fork copies them, spawn sends them through the codec).
//
// Example:
//
//   absl::StatusOr<mp::Condition> cond = mp::Condition::Create();
//   // consumer:
//   mp::LockGuard guard(*cond);
//   absl::Status s = cond->WaitFor([&] { return queue_has_items(); },
//                                  absl::Seconds(5));
//   // producer:
//   mp::LockGuard guard(*cond);
//   ... add an item ...
//   cond->Notify().IgnoreError();

#ifndef MP_LOCK_CONDITION_H_
#define MP_LOCK_CONDITION_H_

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "base/deadline.h"
#include "base/status.h"
#include "lock/internal/condition_state.h"  // what a Condition holds
#include "lock/internal/shared_state.h"
#include "lock/lock.h"

namespace mp {

class Condition {
 public:
  // No condition; every call fails with kFailedPrecondition.
  Condition() = default;

  // A condition with its own RLock (Python's default).
  static absl::StatusOr<Condition> Create();
  // A condition over `lock` (a Lock or an RLock).
  static absl::StatusOr<Condition> Create(AnyLock lock);

  // The lock's Acquire() and Release().
  absl::Status Acquire(absl::Duration timeout = absl::InfiniteDuration()) {
    return lock_.handle().Acquire(timeout, "Condition.Acquire");
  }
  absl::Status Release() { return lock_.handle().Release("Condition.Release"); }
  const AnyLock& lock() const { return lock_; }

  // Releases the lock (every level of an RLock), waits for a Notify() or
  // `timeout`, takes the lock back (every level) before returning. OK when
  // notified, mp::TimeoutError() when not, kFailedPrecondition if the
  // calling thread does not hold the lock, mp::OwnerDiedError() if the lock
  // came back from a dead owner (held; the wait may have been cut short).
  absl::Status Wait(absl::Duration timeout = absl::InfiniteDuration());

  // Waits until `predicate()` (called with the lock held) is true, for at
  // most `timeout` in all. OK if it became true, mp::TimeoutError() if not;
  // other errors as Wait().
  template <typename Predicate>
  absl::Status WaitFor(Predicate predicate,
                       absl::Duration timeout = absl::InfiniteDuration());

  // Wakes the `n` longest waiting of the threads waiting at that moment
  // (exactly n, or all of them if fewer wait); NotifyAll() wakes all of
  // them. Waiters that timed out are skipped, and a thread that starts
  // waiting later is never woken by this call. A process that dies while
  // waiting keeps its place: one later notification is spent on it (Python's
  // Condition would hang its next notify instead). The calling thread must
  // hold the lock (kFailedPrecondition otherwise).
  absl::Status Notify(int n = 1);
  absl::Status NotifyAll();

  bool valid() const { return state_.valid() && lock_.valid(); }

  friend void MpEncode(Encoder& e, const Condition& c);
  friend absl::Status MpDecode(Decoder& d, Condition& c);

 private:
  Condition(lock_internal::SharedState<lock_internal::ConditionState> state,
            AnyLock lock)
      : state_(std::move(state)), lock_(std::move(lock)) {}
  absl::Status WaitUntil(Deadline deadline);
  // Notify() and NotifyAll() of a valid condition.
  absl::Status NotifyUpTo(uint32_t n);

  lock_internal::SharedState<lock_internal::ConditionState> state_;
  AnyLock lock_;
};

template <typename Predicate>
absl::Status Condition::WaitFor(Predicate predicate, absl::Duration timeout) {
  if (!valid()) return EmptyObjectError("Condition.WaitFor");
  Deadline deadline = Deadline::After(timeout);
  while (!predicate()) {
    if (deadline.Expired()) return TimeoutError();
    absl::Status s = WaitUntil(deadline);
    if (!s.ok() && !IsTimeout(s)) return s;
  }
  return absl::OkStatus();
}

}  // namespace mp

#endif  // MP_LOCK_CONDITION_H_
