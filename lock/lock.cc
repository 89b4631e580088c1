#include "lock/lock.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/codec.h"
#include "lock/internal/lock_handle.h"
#include "lock/internal/shared_state.h"

namespace mp {

using lock_internal::LockHandle;
using lock_internal::LockState;
using lock_internal::SharedState;

absl::StatusOr<Lock> Lock::Create() {
  MP_ASSIGN_OR_RETURN(SharedState<LockState> s,
                      SharedState<LockState>::Create(LockState::kLockMagic));
  return Lock(LockHandle(std::move(s)));
}

absl::StatusOr<RLock> RLock::Create() {
  MP_ASSIGN_OR_RETURN(SharedState<LockState> s,
                      SharedState<LockState>::Create(LockState::kRLockMagic));
  return RLock(LockHandle(std::move(s)));
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
