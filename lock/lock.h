// Lock and RLock: Python's multiprocessing.Lock and multiprocessing.RLock,
// mutual exclusion across processes and across the threads inside them.
//
// A Lock is held by one thread at a time; any thread of any process may
// release it (as in Python). An RLock may be taken again by the thread that
// holds it, and only that thread may release it, as many times as it took
// it.
//
// Both survive their holder's death: when a process dies holding one
// (SIGKILL, a crash) or a thread ends holding one, the next Acquire() gets
// the lock together with mp::OwnerDiedError(), so that it can repair what
// the lock protects; the lock works normally from then on. (One exception,
// shared with Python, which has no such detection at all: after a Lock was
// released by a thread other than the one that took it, the death of later
// holders goes unnoticed until that first thread takes the lock again or
// ends; see lock/internal/robust_mutex.h.)
//
// Lock and RLock objects are handles: copies refer to the same lock. Pass
// them to child processes as Process arguments (fork copies them; spawn
// sends them through the codec and the child maps the same memory). Each
// lock is a small piece of shared memory (one page, one file descriptor or
// handle per process using it); Value and Array keep theirs inside their own
// segment.
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

#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/codec.h"
#include "base/deadline.h"
#include "base/status.h"
#include "lock/internal/robust_mutex.h"
#include "lock/internal/shared_state.h"

namespace mp {

// Whether a status from Acquire() means the lock is now held: OK, or
// OwnerDied (held, and what it guards may need repair).
inline bool Acquired(const absl::Status& status) {
  return status.ok() || IsOwnerDied(status);
}

namespace lock_internal {

// The shared state of a Lock or RLock (the magic tells which).
struct LockState {
  static constexpr uint32_t kLockMagic = 0x4b434f4c;   // "LOCK"
  static constexpr uint32_t kRLockMagic = 0x4b434c52;  // "RLCK"

  uint32_t magic = 0;
  // An RLock's recursion depth; only its holder reads or writes it.
  uint32_t count = 0;
  RobustMutex mutex;

  bool recursive() const { return magic == kRLockMagic; }
  absl::Status AttachInThisProcess() { return mutex.AttachInThisProcess(); }
  bool PinnedInThisProcess() const { return mutex.PinnedInThisProcess(); }
  void ForgetInThisProcess() { mutex.ForgetInThisProcess(); }
};

// What Lock, RLock and AnyLock share: the handle and the two behaviours.
class LockHandle {
 public:
  LockHandle() = default;
  explicit LockHandle(SharedState<LockState> state)
      : state_(std::move(state)) {}

  // Inline: the uncontended path is a call to RobustMutex and no more.
  absl::Status Acquire(absl::Duration timeout) const {
    LockState* s = state();
    if (s == nullptr) return EmptyObjectError("lock.Acquire");
    Deadline deadline = timeout == absl::InfiniteDuration()
                            ? Deadline::Never()
                            : Deadline::After(timeout);
    if (!s->recursive()) return s->mutex.Lock(deadline);
    if (s->mutex.HeldByMe()) return Reenter(s);
    absl::Status st = s->mutex.Lock(deadline);
    if (Acquired(st)) s->count = 1;
    return st;
  }
  absl::Status Release() const {
    LockState* s = state();
    if (s == nullptr) return EmptyObjectError("lock.Release");
    if (!s->recursive()) return s->mutex.Release();
    if (!s->mutex.HeldByMe()) return NotOwned();
    if (--s->count > 0) return absl::OkStatus();
    return s->mutex.Unlock();
  }
  bool held_by_me() const;
  bool locked() const;
  bool valid() const { return state_.valid(); }
  bool recursive() const { return valid() && state_->recursive(); }
  LockState* state() const { return state_.get(); }
  const SharedState<LockState>& shared() const { return state_; }

  // Condition's wait: releases every level this thread holds (1 for a
  // Lock) and takes them all back.
  absl::StatusOr<uint32_t> ReleaseAll() const;
  absl::Status Restore(uint32_t levels) const;

  // Releases a lock the calling thread took with OwnerDiedError, leaving
  // that news for the next acquirer (for a caller that did not repair what
  // the lock guards).
  absl::Status ReleaseKeepingOwnerDied() const;

 private:
  static absl::Status Reenter(LockState* s);
  static absl::Status NotOwned();

  SharedState<LockState> state_;
};

}  // namespace lock_internal

class Lock {
 public:
  // No lock; every call fails with kFailedPrecondition. What Decode fills.
  Lock() = default;

  // A new, unlocked lock.
  static absl::StatusOr<Lock> Create();

  // Takes the lock, waiting up to `timeout` (InfiniteDuration: forever,
  // ZeroDuration: not at all). OK or mp::OwnerDiedError() when taken (see
  // Acquired()), mp::TimeoutError() when not. A thread that already holds
  // the lock waits for another thread to release it, as in Python.
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

  // Whether some thread holds the lock; whether the calling thread does.
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

  // A new, unlocked recursive lock.
  static absl::StatusOr<RLock> Create();

  // Takes the lock, or one more level of it if the calling thread already
  // holds it (at once). Results as Lock::Acquire().
  absl::Status Acquire(absl::Duration timeout = absl::InfiniteDuration()) {
    return handle_.Acquire(timeout);
  }

  // Gives up one level; the lock is free once every level is given back.
  // kFailedPrecondition if the calling thread does not hold it (released
  // by another thread, or too often).
  absl::Status Release() { return handle_.Release(); }

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
    return handle_.Acquire(timeout);
  }
  absl::Status Release() { return handle_.Release(); }
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
