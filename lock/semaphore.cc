#include "lock/semaphore.h"

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/codec.h"
#include "lock/internal/semaphore_handle.h"
#include "lock/internal/shared_state.h"

namespace mp {
namespace lock_internal {
namespace {

absl::StatusOr<SharedState<SemaphoreState>> NewSemaphore(uint32_t magic,
                                                         int value,
                                                         uint32_t max) {
  if (value < 0) {
    return absl::InvalidArgumentError("semaphore initial value must be >= 0");
  }
  MP_ASSIGN_OR_RETURN(SharedState<SemaphoreState> s,
                      SharedState<SemaphoreState>::Create(magic));
  s->max_value = max;
  s->count.value().store(static_cast<uint32_t>(value));
  return s;
}

}  // namespace
}  // namespace lock_internal

using lock_internal::SemaphoreHandle;
using lock_internal::SemaphoreState;
using lock_internal::SharedState;

absl::StatusOr<Semaphore> Semaphore::Create(int value) {
  MP_ASSIGN_OR_RETURN(
      SharedState<SemaphoreState> s,
      lock_internal::NewSemaphore(SemaphoreState::kMagic, value,
                                  static_cast<uint32_t>(kMaxValue)));
  return Semaphore(SemaphoreHandle(std::move(s)));
}

absl::StatusOr<BoundedSemaphore> BoundedSemaphore::Create(int value) {
  MP_ASSIGN_OR_RETURN(
      SharedState<SemaphoreState> s,
      lock_internal::NewSemaphore(SemaphoreState::kBoundedMagic, value,
                                  static_cast<uint32_t>(value)));
  return BoundedSemaphore(SemaphoreHandle(std::move(s)));
}

void MpEncode(Encoder& e, const Semaphore& s) {
  s.handle_.shared().Encode(e, "Semaphore");
}

absl::Status MpDecode(Decoder& d, Semaphore& s) {
  SharedState<SemaphoreState> state;
  absl::Status st = SharedState<SemaphoreState>::Decode(
      d, "Semaphore", {SemaphoreState::kMagic}, &state);
  if (st.ok()) s = Semaphore(SemaphoreHandle(std::move(state)));
  return st;
}

void MpEncode(Encoder& e, const BoundedSemaphore& s) {
  s.handle_.shared().Encode(e, "BoundedSemaphore");
}

absl::Status MpDecode(Decoder& d, BoundedSemaphore& s) {
  SharedState<SemaphoreState> state;
  absl::Status st = SharedState<SemaphoreState>::Decode(
      d, "BoundedSemaphore", {SemaphoreState::kBoundedMagic}, &state);
  if (st.ok()) s = BoundedSemaphore(SemaphoreHandle(std::move(state)));
  return st;
}

}  // namespace mp
