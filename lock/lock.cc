#include "lock/lock.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/deadline.h"

namespace mp {
namespace lock_internal {

absl::Status LockHandle::Reenter(LockState* s) {
  if (s->count == UINT32_MAX) {
    return absl::OutOfRangeError("RLock: recursion too deep");
  }
  ++s->count;
  return absl::OkStatus();
}

absl::Status LockHandle::NotOwned() {
  return absl::FailedPreconditionError(
      "attempt to release recursive lock not owned by thread");
}

bool LockHandle::held_by_me() const {
  return state() != nullptr && state()->mutex.HeldByMe();
}

bool LockHandle::locked() const {
  return state() != nullptr && state()->mutex.IsLocked();
}

absl::StatusOr<uint32_t> LockHandle::ReleaseAll() const {
  LockState* s = state();
  if (s == nullptr) return EmptyObjectError("lock.ReleaseAll");
  if (!s->mutex.HeldByMe()) {
    return absl::FailedPreconditionError("lock is not owned");
  }
  uint32_t levels = s->recursive() ? s->count : 1;
  if (s->recursive()) s->count = 0;
  absl::Status st = s->mutex.Unlock();
  if (!st.ok()) return st;
  return levels;
}

absl::Status LockHandle::ReleaseKeepingOwnerDied() const {
  LockState* s = state();
  if (s == nullptr) return EmptyObjectError("lock.ReleaseKeepingOwnerDied");
  if (s->recursive()) {
    if (!s->mutex.HeldByMe()) return NotOwned();
    if (--s->count > 0) return absl::OkStatus();
  }
  return s->mutex.Unlock(/*owner_died=*/true);
}

absl::Status LockHandle::Restore(uint32_t levels) const {
  LockState* s = state();
  if (s == nullptr) return EmptyObjectError("lock.Restore");
  absl::Status st = s->mutex.Lock(Deadline::Never());
  if (Acquired(st) && s->recursive()) s->count = levels;
  return st;
}

}  // namespace lock_internal

using lock_internal::LockHandle;
using lock_internal::LockState;
using lock_internal::SharedState;

absl::StatusOr<Lock> Lock::Create() {
  absl::StatusOr<SharedState<LockState>> s =
      SharedState<LockState>::Create(LockState::kLockMagic);
  if (!s.ok()) return s.status();
  return Lock(LockHandle(*std::move(s)));
}

absl::StatusOr<RLock> RLock::Create() {
  absl::StatusOr<SharedState<LockState>> s =
      SharedState<LockState>::Create(LockState::kRLockMagic);
  if (!s.ok()) return s.status();
  return RLock(LockHandle(*std::move(s)));
}

void MpEncode(Encoder& e, const Lock& lock) {
  lock.handle_.shared().Encode(e, "Lock");
}

absl::Status MpDecode(Decoder& d, Lock& lock) {
  SharedState<LockState> s;
  absl::Status st =
      SharedState<LockState>::Decode(d, "Lock", {LockState::kLockMagic}, &s);
  if (st.ok()) lock = Lock(LockHandle(std::move(s)));
  return st;
}

void MpEncode(Encoder& e, const RLock& lock) {
  lock.handle_.shared().Encode(e, "RLock");
}

absl::Status MpDecode(Decoder& d, RLock& lock) {
  SharedState<LockState> s;
  absl::Status st =
      SharedState<LockState>::Decode(d, "RLock", {LockState::kRLockMagic}, &s);
  if (st.ok()) lock = RLock(LockHandle(std::move(s)));
  return st;
}

void MpEncode(Encoder& e, const AnyLock& lock) {
  lock.handle_.shared().Encode(e, "lock");
}

absl::Status MpDecode(Decoder& d, AnyLock& lock) {
  SharedState<LockState> s;
  absl::Status st = SharedState<LockState>::Decode(
      d, "lock", {LockState::kLockMagic, LockState::kRLockMagic}, &s);
  if (st.ok()) lock.handle_ = LockHandle(std::move(s));
  return st;
}

}  // namespace mp
