// The shared state of a Condition (lock/condition.h).
//
// How a Condition works: each waiter takes a ticket (under the lock);
// Notify(n) moves a "signalled" bound past the next n live tickets and
// wakes the sleepers on that bound (a WaitWord), each of which checks its
// own ticket. A waiter that times out records its ticket as cancelled in a
// window of kWindow tickets so that Notify() skips it; should more than
// kWindow waiters be ahead of it, the next Notify() wakes one waiter more
// than asked instead (a waiter returning early is always allowed, and
// WaitFor() loops).
#ifndef MP_LOCK_INTERNAL_CONDITION_STATE_H_
#define MP_LOCK_INTERNAL_CONDITION_STATE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "base/wait_word.h"

namespace mp {
namespace lock_internal {

struct ConditionState {
  static constexpr uint32_t kMagic = 0x444e4f43;  // "COND"
  static constexpr uint32_t kWindow = 256;

  uint32_t magic = 0;
  // Under the lock: the next ticket to hand out, and cancelled tickets
  // (bit i: ticket `signalled + i`) plus those that did not fit.
  uint32_t next_ticket = 0;
  uint32_t overflow = 0;
  uint64_t cancelled[kWindow / 64] = {};
  // Tickets before this one (mod 2^32) are notified. Written under the lock.
  WaitWord signalled;

  absl::Status AttachInThisProcess() { return absl::OkStatus(); }
  bool PinnedInThisProcess() const { return false; }
  void ForgetInThisProcess() { signalled.ForgetInThisProcess(); }
};

}  // namespace lock_internal
}  // namespace mp

#endif  // MP_LOCK_INTERNAL_CONDITION_STATE_H_
