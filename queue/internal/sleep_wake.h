// SleepWake: how each side of a queue waits for the other (spinning,
// yielding, then sleeping on a wait word) and how it wakes the other's
// sleepers (the protocol is in core.h, "Waiting happens outside the
// locks").
#ifndef MP_QUEUE_INTERNAL_SLEEP_WAKE_H_
#define MP_QUEUE_INTERNAL_SLEEP_WAKE_H_

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/deadline.h"
#include "base/wait_word.h"
#include "queue/internal/layout.h"
#include "queue/internal/spin.h"

namespace mp {
namespace queue_internal {

struct QueueTestPeer;

class SleepWake {
 public:
  explicit SleepWake(Header* header) : h_(header) {}

  // Waits until `ready` (spinning, yielding, then sleeping on put_word with
  // put_sleepers set, for a consumer; on get_word with get_sleepers set, for
  // a producer), or the deadline: OK or TimeoutError.
  enum class Side { kConsumer, kProducer };
  absl::Status WaitUntil(Side side, Deadline deadline,
                         absl::FunctionRef<bool()> ready) const;
  // `deadline`, or recheck_ from now if that is earlier.
  Deadline Slice(Deadline deadline) const;

  // After changing `word`: wakes its sleepers if any announced themselves.
  static void WakeSleepers(WaitWord& word, std::atomic<uint32_t>& sleepers) {
    if (sleepers.load() != 0 && sleepers.exchange(0) != 0) {
      // A failed wake only delays sleepers until their next re-check.
      word.WakeAll().IgnoreError();
    }
  }
  // Every kHandOffItems puts: yields if a consumer waits by yielding on this
  // CPU, so that it takes the items while they are in this CPU's caches.
  void HandOffIfSharingCpu() const {
    const uint32_t cpu =
        h_->yielding_consumer_cpu.load(std::memory_order_relaxed);
    if (cpu != 0 && static_cast<int>(cpu - 1) == CurrentCpu()) {
      std::this_thread::yield();
    }
  }

 private:
  friend struct QueueTestPeer;

  // WaitUntil's yielding phase: whether `ready` came true. Shows the
  // caller's CPU in *yielding_cpu meanwhile, if not nullptr.
  static bool YieldUntil(std::atomic<uint32_t>* yielding_cpu,
                         absl::FunctionRef<bool()> ready);

  Header* const h_;
  // A sleeper re-checks its condition at least this often: a process killed
  // between changing the queue and waking the sleepers takes their wake-up
  // with it, and this bounds how long that delays them. (Tests turn it off
  // to see that wake-ups arrive without it.)
  absl::Duration recheck_ = absl::Milliseconds(100);
};

}  // namespace queue_internal
}  // namespace mp

#endif  // MP_QUEUE_INTERNAL_SLEEP_WAKE_H_
