// The shared state of an Event (lock/event.h).
#ifndef MP_LOCK_INTERNAL_EVENT_STATE_H_
#define MP_LOCK_INTERNAL_EVENT_STATE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "base/wait_word.h"

namespace mp {
namespace lock_internal {

struct EventState {
  static constexpr uint32_t kMagic = 0x544e5645;  // "EVNT"

  uint32_t magic = 0;
  WaitWord flag;  // 0 or 1

  absl::Status AttachInThisProcess() { return absl::OkStatus(); }
  bool PinnedInThisProcess() const { return false; }
  void ForgetInThisProcess() { flag.ForgetInThisProcess(); }
};

}  // namespace lock_internal
}  // namespace mp

#endif  // MP_LOCK_INTERNAL_EVENT_STATE_H_
