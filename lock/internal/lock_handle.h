// The shared state of a Lock or RLock, and LockHandle, what Lock, RLock and
// AnyLock (lock/lock.h) hold. Value and Array keep a LockState in their own
// segment and reach it through a LockHandle too (shm_value/internal/block.h).
#ifndef MP_LOCK_INTERNAL_LOCK_HANDLE_H_
#define MP_LOCK_INTERNAL_LOCK_HANDLE_H_

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/status.h"
#include "lock/internal/robust_mutex.h"
#include "lock/internal/shared_state.h"

namespace mp {
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
// `what` names the caller's call in the error of an empty handle
// ("RLock.Acquire").
class LockHandle {
 public:
  LockHandle() = default;
  explicit LockHandle(SharedState<LockState> state)
      : state_(std::move(state)) {}

  // Inline: the uncontended path is a call to RobustMutex and no more.
  absl::Status Acquire(absl::Duration timeout, absl::string_view what) const {
    LockState* s = state();
    if (s == nullptr) return EmptyObjectError(what);
    Deadline deadline = timeout == absl::InfiniteDuration()
                            ? Deadline::Never()
                            : Deadline::After(timeout);
    if (!s->recursive()) return s->mutex.Lock(deadline);
    if (s->mutex.HeldByMe()) return Reenter(s);
    absl::Status st = s->mutex.Lock(deadline);
    if (st.ok() || IsOwnerDied(st)) s->count = 1;  // held
    return st;
  }
  absl::Status Release(absl::string_view what) const {
    LockState* s = state();
    if (s == nullptr) return EmptyObjectError(what);
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
}  // namespace mp

#endif  // MP_LOCK_INTERNAL_LOCK_HANDLE_H_
