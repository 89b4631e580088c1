#include "lock/barrier.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/deadline.h"
#include "base/status.h"
#include "lock/lock.h"

namespace mp {
namespace {

using lock_internal::BarrierState;
using lock_internal::SharedState;

void Bump(BarrierState* s) {
  s->changed.value().fetch_add(1);
  // Cannot fail on Linux; on Windows only without handles, and then the
  // sleepers still see the change at their deadline.
  s->changed.WakeAll().IgnoreError();
}

void Break(BarrierState* s) {
  s->state.store(BarrierState::kBroken);
  Bump(s);
}

// Takes the internal lock; a dead previous holder breaks the barrier (its
// state may be half-updated), and the caller goes on holding the lock.
absl::Status TakeLock(BarrierState* s) {
  absl::Status st = s->mutex.Lock(Deadline::Never());
  if (IsOwnerDied(st)) {
    Break(s);
    return absl::OkStatus();
  }
  return st;
}

// With the lock held: lets it go until the state changes (or `deadline`),
// then takes it back. OK, mp::TimeoutError(), or an OS error (lock not
// held).
absl::Status AwaitChange(BarrierState* s, Deadline deadline) {
  uint32_t seen = s->changed.value().load();
  MP_RETURN_IF_ERROR(s->mutex.Unlock());
  absl::Status w = s->changed.Wait(seen, deadline);
  MP_RETURN_IF_ERROR(TakeLock(s));
  return w;
}

// Runs `f` holding the lock: taken here, unless the calling thread holds it
// already (the action runs under it, and may reset or abort its barrier).
template <typename F>
absl::Status WithLock(BarrierState* s, F f) {
  const bool held = s->mutex.HeldByMe();
  if (!held) MP_RETURN_IF_ERROR(TakeLock(s));
  f();
  if (!held) s->mutex.Unlock().IgnoreError();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Barrier> Barrier::Create(int parties,
                                        std::function<void()> action,
                                        absl::Duration timeout) {
  if (parties < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("Barrier: parties must be >= 1, not ", parties));
  }
  MP_ASSIGN_OR_RETURN(SharedState<BarrierState> s,
                      SharedState<BarrierState>::Create(BarrierState::kMagic));
  s->parties = static_cast<uint32_t>(parties);
  s->default_timeout_ns =
      timeout == absl::InfiniteDuration()
          ? -1
          : absl::ToInt64Nanoseconds(std::max(timeout, absl::ZeroDuration()));
  return Barrier(std::move(s), std::move(action));
}

absl::StatusOr<int> Barrier::Wait() {
  State* s = state_.get();
  if (s == nullptr) return EmptyObjectError("Barrier.Wait");
  return WaitUntil(
      s->default_timeout_ns < 0
          ? Deadline::Never()
          : Deadline::After(absl::Nanoseconds(s->default_timeout_ns)));
}

absl::StatusOr<int> Barrier::Wait(absl::Duration timeout) {
  if (state_.get() == nullptr) return EmptyObjectError("Barrier.Wait");
  return WaitUntil(Deadline::After(timeout));
}

absl::StatusOr<int> Barrier::WaitUntil(Deadline deadline) {
  State* s = state_.get();
  if (s->mutex.HeldByMe()) {
    return absl::FailedPreconditionError(
        "Barrier.Wait: called from the barrier's own action");
  }
  MP_RETURN_IF_ERROR(TakeLock(s));
  // Wait while the barrier drains or resets (threading.Barrier._enter).
  while (s->state.load() == BarrierState::kDraining ||
         s->state.load() == BarrierState::kResetting) {
    MP_RETURN_IF_ERROR(AwaitChange(s, Deadline::Never()));
  }
  if (s->state.load() < 0) {
    s->mutex.Unlock().IgnoreError();
    return BrokenBarrierError();
  }
  const uint32_t index = s->count.load();
  s->count.store(index + 1);
  absl::Status result;
  if (index + 1 == s->parties) {
    // The last party: run the action, then release everyone.
    if (action_) action_();
    if (s->state.load() == BarrierState::kFilling) {
      s->state.store(BarrierState::kDraining);
      Bump(s);
    }
  } else {
    while (s->state.load() == BarrierState::kFilling) {
      absl::Status st = AwaitChange(s, deadline);
      if (IsTimeout(st) && s->state.load() == BarrierState::kFilling) {
        Break(s);  // a timeout breaks the barrier for everyone
      } else if (!st.ok() && !IsTimeout(st)) {
        result = st;
        break;
      }
    }
  }
  if (result.ok() && s->state.load() < 0) result = BrokenBarrierError();
  // threading.Barrier._exit: the last one out ends draining or resetting.
  s->count.store(s->count.load() - 1);
  if (s->count.load() == 0 && (s->state.load() == BarrierState::kDraining ||
                               s->state.load() == BarrierState::kResetting)) {
    s->state.store(BarrierState::kFilling);
    Bump(s);
  }
  s->mutex.Unlock().IgnoreError();
  MP_RETURN_IF_ERROR(result);
  return static_cast<int>(index);
}

absl::Status Barrier::Reset() {
  State* s = state_.get();
  if (s == nullptr) return EmptyObjectError("Barrier.Reset");
  return WithLock(s, [s] {
    if (s->count.load() > 0) {
      int32_t state = s->state.load();
      if (state == BarrierState::kFilling || state == BarrierState::kBroken) {
        s->state.store(BarrierState::kResetting);
      }
    } else {
      s->state.store(BarrierState::kFilling);
    }
    Bump(s);
  });
}

absl::Status Barrier::Abort() {
  State* s = state_.get();
  if (s == nullptr) return EmptyObjectError("Barrier.Abort");
  return WithLock(s, [s] { Break(s); });
}

int Barrier::parties() const {
  State* s = state_.get();
  return s == nullptr ? 0 : static_cast<int>(s->parties);
}

int Barrier::n_waiting() const {
  State* s = state_.get();
  if (s == nullptr || s->state.load() != BarrierState::kFilling) return 0;
  return static_cast<int>(s->count.load());
}

bool Barrier::broken() const {
  State* s = state_.get();
  return s != nullptr && s->state.load() == BarrierState::kBroken;
}

void MpEncode(Encoder& e, const Barrier& b) {
  if (b.action_) {
    return e.Fail(absl::FailedPreconditionError(
        "Barrier: its action is code of this process and cannot be sent to "
        "a spawned process; give that process a Barrier without an action"));
  }
  b.state_.Encode(e, "Barrier");
}

absl::Status MpDecode(Decoder& d, Barrier& b) {
  SharedState<BarrierState> s;
  MP_RETURN_IF_ERROR(SharedState<BarrierState>::Decode(
      d, "Barrier", {BarrierState::kMagic}, &s));
  if (s->parties == 0) return DecodeError("Barrier: no parties");
  b = Barrier(std::move(s), nullptr);
  return absl::OkStatus();
}

}  // namespace mp
