// Lock and RLock: Python's multiprocessing.Lock and multiprocessing.RLock,
// mutual exclusion across processes and across the threads inside them.
//
// A Lock is held by one thread at a time; any thread of any process may
// release it (as in Python). An RLock may be taken again by the thread that
// holds it, and only that thread may release it, as many times as it took
// it. Unlike Python's, both survive their holder's death: the next
// Acquire() gets the lock with mp::OwnerDiedError() (see Lock::Acquire()).
//
// Lock and RLock objects are handles: copies refer to the same lock. Pass
// them to child processes as Process arguments (fork copies them; spawn
// sends them through the codec and the child maps the same memory).
//
// Example (processes appending to one file, one at a time):
//
//   absl::StatusOr<mp::Lock> lock = mp::Lock::Create();
//   ...
//   // in each process:
//   {
//     mp::LockGuard guard(*lock);
//     if (mp::IsOwnerDied(guard.status())) { ... repair the file ... }
//     ... append to the file ...
//   }  // released here
//
//   // or by hand, with a timeout:
//   absl::Status s = lock->Acquire(absl::Milliseconds(100));
//   if (mp::Acquired(s)) { ...; lock->Release().IgnoreError(); }
//   else if (mp::IsTimeout(s)) { ... not within 100 ms ... }

#ifndef MP_LOCK_LOCK_H_
#define MP_LOCK_LOCK_H_

#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "base/deadline.h"
#include "base/status.h"
#include "lock/internal/lock_handle.h"  // what the handles hold

namespace mp {

// Whether a status from Acquire() means the lock is now held: OK, or
// OwnerDied (held, and what it guards may need repair).
inline bool Acquired(const absl::Status& status) {
  return status.ok() || IsOwnerDied(status);
}

class Lock {
 public:
  // No lock; every call fails with kFailedPrecondition. What Decode fills.
  Lock() = default;

  // A new, unlocked lock: a small segment of shared memory of its own (one
  // page, one file descriptor or handle in each process using it). Value and
  // Array keep theirs inside their own segment.
  static absl::StatusOr<Lock> Create();

  // Takes the lock, waiting up to `timeout` (InfiniteDuration: forever,
  // ZeroDuration: not at all). OK or mp::OwnerDiedError() when taken (see
  // Acquired()), mp::TimeoutError() when not. A thread that already holds
  // the lock waits for another thread to release it, as in Python.
  //
  // Owner death: when a process dies holding the lock (SIGKILL, a crash) or
  // a thread ends holding it, the next Acquire() takes it and returns
  // mp::OwnerDiedError(), so that the caller can repair what the lock
  // protects; the lock works normally from then on. One exception, shared
  // with Python, which has no such detection at all: after a Lock was
  // released by a thread other than the one that took it, the death of
  // later holders goes unnoticed until that first thread takes the lock
  // again or ends (see lock/internal/robust_mutex.h).
  ABSL_ATTRIBUTE_ALWAYS_INLINE absl::Status Acquire(
      absl::Duration timeout = absl::InfiniteDuration()) {
    lock_internal::LockState* s = handle_.state();
    if (ABSL_PREDICT_FALSE(s == nullptr)) {
      return EmptyObjectError("Lock.Acquire");
    }
    return s->mutex.Lock(timeout == absl::InfiniteDuration()
                             ? Deadline::Never()
                             : Deadline::After(timeout));
  }

  // Releases the lock, whichever thread or process holds it.
  // kFailedPrecondition ("semaphore or lock released too many times") if it
  // is not locked.
  ABSL_ATTRIBUTE_ALWAYS_INLINE absl::Status Release() {
    lock_internal::LockState* s = handle_.state();
    if (ABSL_PREDICT_FALSE(s == nullptr)) {
      return EmptyObjectError("Lock.Release");
    }
    return s->mutex.Release();
  }

  // Whether some thread holds the lock; whether the calling thread does;
  // whether this refers to a lock at all. All false when empty.
  bool locked() const { return handle_.locked(); }
  bool held_by_me() const { return handle_.held_by_me(); }
  bool valid() const { return handle_.valid(); }

  friend void MpEncode(Encoder& e, const Lock& lock);
  friend absl::Status MpDecode(Decoder& d, Lock& lock);

 private:
  friend class AnyLock;
  explicit Lock(lock_internal::LockHandle handle)
      : handle_(std::move(handle)) {}
  lock_internal::LockHandle handle_;
};

class RLock {
 public:
  // No lock; every call fails with kFailedPrecondition. What Decode fills.
  RLock() = default;

  // A new, unlocked recursive lock, in a segment of its own as Lock's.
  static absl::StatusOr<RLock> Create();

  // Takes the lock, or one more level of it if the calling thread already
  // holds it (at once). Results and owner death as Lock::Acquire().
  absl::Status Acquire(absl::Duration timeout = absl::InfiniteDuration()) {
    return handle_.Acquire(timeout, "RLock.Acquire");
  }

  // Gives up one level; the lock is free once every level is given back.
  // kFailedPrecondition if the calling thread does not hold it (released
  // by another thread, or too often).
  absl::Status Release() { return handle_.Release("RLock.Release"); }

  // As Lock's: false when empty.
  bool locked() const { return handle_.locked(); }
  bool held_by_me() const { return handle_.held_by_me(); }
  bool valid() const { return handle_.valid(); }

  friend void MpEncode(Encoder& e, const RLock& lock);
  friend absl::Status MpDecode(Decoder& d, RLock& lock);

 private:
  friend class AnyLock;
  explicit RLock(lock_internal::LockHandle handle)
      : handle_(std::move(handle)) {}
  lock_internal::LockHandle handle_;
};

// A Lock or an RLock, for what accepts either (Condition, Value, Array): a
// handle to the same lock, behaving as that kind of lock.
class AnyLock {
 public:
  AnyLock() = default;
  AnyLock(const Lock& lock) : handle_(lock.handle_) {}   // NOLINT
  AnyLock(const RLock& lock) : handle_(lock.handle_) {}  // NOLINT

  absl::Status Acquire(absl::Duration timeout = absl::InfiniteDuration()) {
    return handle_.Acquire(timeout, "AnyLock.Acquire");
  }
  absl::Status Release() { return handle_.Release("AnyLock.Release"); }
  bool locked() const { return handle_.locked(); }
  bool held_by_me() const { return handle_.held_by_me(); }
  bool valid() const { return handle_.valid(); }
  bool recursive() const { return handle_.recursive(); }

  friend void MpEncode(Encoder& e, const AnyLock& lock);
  friend absl::Status MpDecode(Decoder& d, AnyLock& lock);

  // For mp's own packages: the lock behind a handle (Value and Array keep
  // theirs in their own segment), and the handle.
  static AnyLock FromHandle(lock_internal::LockHandle handle) {
    AnyLock lock;
    lock.handle_ = std::move(handle);
    return lock;
  }
  const lock_internal::LockHandle& handle() const { return handle_; }

 private:
  lock_internal::LockHandle handle_;
};

// Holds a lock for a scope, like absl::MutexLock: acquires in the
// constructor (waiting up to `timeout`) and, if that succeeded, releases in
// the destructor.
template <typename L>
class LockGuard {
 public:
  explicit LockGuard(L& lock, absl::Duration timeout = absl::InfiniteDuration())
      : lock_(&lock), status_(lock.Acquire(timeout)) {}
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;
  ~LockGuard() {
    if (Acquired(status_)) lock_->Release().IgnoreError();
  }

  // What Acquire() returned: OK, OwnerDied (held; repair what it guards),
  // Timeout or an error (not held).
  const absl::Status& status() const { return status_; }
  bool held() const { return Acquired(status_); }

 private:
  L* lock_;
  absl::Status status_;
};

template <typename L>
LockGuard(L&) -> LockGuard<L>;
template <typename L>
LockGuard(L&, absl::Duration) -> LockGuard<L>;

}  // namespace mp

#endif  // MP_LOCK_LOCK_H_
