// The shared state of a Semaphore or BoundedSemaphore (the magic tells
// which), and SemaphoreHandle, what both hold (lock/semaphore.h).
#ifndef MP_LOCK_INTERNAL_SEMAPHORE_HANDLE_H_
#define MP_LOCK_INTERNAL_SEMAPHORE_HANDLE_H_

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/wait_word.h"
#include "lock/internal/shared_state.h"

namespace mp {
namespace lock_internal {

struct SemaphoreState {
  static constexpr uint32_t kMagic = 0x414d4553;         // "SEMA"
  static constexpr uint32_t kBoundedMagic = 0x4d455342;  // "BSEM"

  uint32_t magic = 0;
  uint32_t max_value = 0;
  WaitWord count;

  absl::Status AttachInThisProcess() { return absl::OkStatus(); }
  bool PinnedInThisProcess() const { return false; }
  void ForgetInThisProcess() { count.ForgetInThisProcess(); }
};

class SemaphoreHandle {
 public:
  SemaphoreHandle() = default;
  explicit SemaphoreHandle(SharedState<SemaphoreState> state)
      : state_(std::move(state)) {}

  // `what` names the caller's call in the error of an empty handle
  // ("BoundedSemaphore.Release").
  absl::Status Acquire(absl::Duration timeout, absl::string_view what) const;
  absl::Status Release(absl::string_view what) const;
  int value() const;
  bool valid() const { return state_.valid(); }
  const SharedState<SemaphoreState>& shared() const { return state_; }

 private:
  SharedState<SemaphoreState> state_;
};

}  // namespace lock_internal
}  // namespace mp

#endif  // MP_LOCK_INTERNAL_SEMAPHORE_HANDLE_H_
