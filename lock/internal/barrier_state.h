// The shared state of a Barrier (lock/barrier.h).
#ifndef MP_LOCK_INTERNAL_BARRIER_STATE_H_
#define MP_LOCK_INTERNAL_BARRIER_STATE_H_

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "base/wait_word.h"
#include "lock/internal/robust_mutex.h"

namespace mp {
namespace lock_internal {

struct BarrierState {
  static constexpr uint32_t kMagic = 0x52524142;  // "BARR"
  // threading.Barrier's _state.
  static constexpr int32_t kFilling = 0;
  static constexpr int32_t kDraining = 1;
  static constexpr int32_t kResetting = -1;
  static constexpr int32_t kBroken = -2;

  uint32_t magic = 0;
  uint32_t parties = 0;
  int64_t default_timeout_ns = -1;  // -1: none
  // Written under `mutex`; read without it by the accessors.
  std::atomic<int32_t> state{kFilling};
  std::atomic<uint32_t> count{0};
  // Bumped (under `mutex`) on every change the waiters look at.
  WaitWord changed;
  RobustMutex mutex;

  absl::Status AttachInThisProcess() { return mutex.AttachInThisProcess(); }
  bool PinnedInThisProcess() const { return mutex.PinnedInThisProcess(); }
  void ForgetInThisProcess() {
    changed.ForgetInThisProcess();
    mutex.ForgetInThisProcess();
  }
};

}  // namespace lock_internal
}  // namespace mp

#endif  // MP_LOCK_INTERNAL_BARRIER_STATE_H_
