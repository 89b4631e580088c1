#include "lock/internal/lock_handle.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/deadline.h"
#include "base/status.h"

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
  MP_RETURN_IF_ERROR(s->mutex.Unlock());
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
  if ((st.ok() || IsOwnerDied(st)) && s->recursive()) s->count = levels;
  return st;
}

}  // namespace lock_internal
}  // namespace mp
