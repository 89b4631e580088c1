#include "lock/internal/semaphore_handle.h"

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/status.h"

namespace mp {
namespace lock_internal {

absl::Status SemaphoreHandle::Acquire(absl::Duration timeout,
                                      absl::string_view what) const {
  SemaphoreState* s = state_.get();
  if (s == nullptr) return EmptyObjectError(what);
  Deadline deadline = Deadline::After(timeout);
  std::atomic<uint32_t>& count = s->count.value();
  for (;;) {
    uint32_t c = count.load();
    while (c > 0) {
      if (count.compare_exchange_weak(c, c - 1, std::memory_order_acquire)) {
        return absl::OkStatus();
      }
    }
    MP_RETURN_IF_ERROR(s->count.Wait(0, deadline));
  }
}

absl::Status SemaphoreHandle::Release(absl::string_view what) const {
  SemaphoreState* s = state_.get();
  if (s == nullptr) return EmptyObjectError(what);
  std::atomic<uint32_t>& count = s->count.value();
  uint32_t c = count.load();
  do {
    if (c >= s->max_value) {
      return absl::FailedPreconditionError(
          "semaphore or lock released too many times");
    }
  } while (!count.compare_exchange_weak(c, c + 1, std::memory_order_release));
  return s->count.Wake(1);
}

int SemaphoreHandle::value() const {
  SemaphoreState* s = state_.get();
  return s == nullptr ? 0 : static_cast<int>(s->count.value().load());
}

}  // namespace lock_internal
}  // namespace mp
